"""The order of an epoch's batches, for data in memory and streamed alike, and each
data-parallel rank's part of every batch.

A data set of at most ``shuffle_buffer`` rows gets one random permutation per epoch. A
larger one is cut into blocks of :data:`BLOCK_ROWS` consecutive rows; each epoch shuffles
the blocks, reads them in rounds of about ``shuffle_buffer`` rows, and shuffles the rows
within each round (the block shuffle of WebDataset and tf.data's shuffle buffer, with
blocks so that a file is read in runs of thousands of rows, not row by row). Batches run on
across rounds, so an epoch always has ``ceil(n / batch_size)`` of them. The order depends
only on ``n``, the batch size, the buffer and the generator: in-memory and streamed data
give the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

__all__ = ["BLOCK_ROWS", "epoch_rounds", "rank_part"]

#: Rows per block of the block shuffle: 4,096 rows of 784 bytes are 3.2 MB read at once.
BLOCK_ROWS = 4096


def epoch_rounds(n: int, batch_size: int, shuffle_buffer: int,
                 generator: torch.Generator) -> Iterator[list[torch.Tensor]]:
    """Yield the epoch's batches round by round.

    Parameters
    ----------
    n : int
        Rows in the data set.
    batch_size : int
        Rows per (global) batch; the last batch of the epoch may be smaller.
    shuffle_buffer : int
        Rows shuffled together; at least ``n`` gives one permutation of all rows.
    generator : torch.Generator
        Draws the permutations (on the CPU).

    Yields
    ------
    list of Tensor of int64
        The row numbers of each batch completed in this round, in training order. The rows
        of one round, sorted, are what a streamed source reads for it.
    """
    if n <= shuffle_buffer:
        perm = torch.randperm(n, generator=generator)
        yield list(perm.split(batch_size))  # type: ignore[no-untyped-call]  # torch: untyped
        return
    n_blocks = math.ceil(n / BLOCK_ROWS)
    blocks = torch.randperm(n_blocks, generator=generator)
    per_round = max(1, shuffle_buffer // BLOCK_ROWS)
    groups = torch.tensor_split(blocks, math.ceil(n_blocks / per_round))  # near-equal rounds
    carry = torch.empty(0, dtype=torch.int64)
    for k, group in enumerate(groups):
        starts = group.sort().values * BLOCK_ROWS
        rows = torch.cat([torch.arange(s, min(n, s + BLOCK_ROWS)) for s in starts.tolist()])
        rows = torch.cat([carry, rows[torch.randperm(len(rows), generator=generator)]])
        last = k == len(groups) - 1
        cut = len(rows) if last else len(rows) - len(rows) % batch_size
        carry = rows[cut:]
        yield list(rows[:cut].split(batch_size)) if cut else []  # type: ignore[no-untyped-call]


def rank_part(batch: torch.Tensor, rank: int, world: int) -> tuple[torch.Tensor, float]:
    """This rank's rows of a global batch, and the weight of its mean loss.

    The batch is cut into ``world`` near-equal consecutive parts (``torch.tensor_split``).
    DistributedDataParallel averages the ranks' gradients, so each rank's mean loss is
    weighted by ``world × its rows / batch rows``: the average is then the gradient of the
    whole batch's mean loss, as one process would compute it. A rank left without rows (a
    last batch smaller than ``world``) takes the batch's first row with weight 0, so that
    it still joins the gradient exchange.

    Returns
    -------
    rows : Tensor of int64, shape (k,)
    weight : float
    """
    if world == 1:
        return batch, 1.0
    part = torch.tensor_split(batch, world)[rank]
    if len(part) == 0:
        return batch[:1], 0.0
    return part, world * len(part) / len(batch)
