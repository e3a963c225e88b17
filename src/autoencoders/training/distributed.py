"""Data-parallel training's place in a ``torch.distributed`` process group: which rank this
process is, joining and leaving the group that ``torchrun`` describes, and the end-of-run
check that every rank holds the same weights. The training loop itself is in
``loop.py``; the batch each rank takes is in ``batching.py``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DistributedContext", "distributed_context", "join_torchrun", "leave",
           "check_same_weights"]


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a data-parallel run (``rank`` 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1


def distributed_context() -> DistributedContext:
    """The rank and world size of the initialised process group, or rank 0 of 1."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size())
    return DistributedContext()


def join_torchrun(device: str = "auto") -> DistributedContext:
    """Join the process group that torchrun's environment describes (WORLD_SIZE > 1):
    NCCL with the GPU of LOCAL_RANK when CUDA is there and ``device`` is not "cpu", gloo
    otherwise. Without torchrun: rank 0 of 1, and nothing is done.

    Raises
    ------
    RuntimeError, ValueError
        From ``torch.distributed.init_process_group`` (no rendezvous, a bad address).
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return DistributedContext()
    if not dist.is_initialized():
        gpu = torch.cuda.is_available() and device != "cpu"
        if gpu:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if gpu else "gloo")
    return distributed_context()


def leave() -> None:
    """Leave the process group, all ranks together; nothing without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        # Together: a rank that tore down its gloo connections while rank 0 still wrote
        # the run folder aborted now and then ("terminate called without an active
        # exception").
        dist.barrier()
        dist.destroy_process_group()


def check_same_weights(model: nn.Module) -> None:
    """Raise RuntimeError unless every rank of the process group holds the same weights
    (a 64-bit BLAKE2b hash of the state dict's bytes, gathered from all ranks)."""
    import torch.distributed as dist

    h = hashlib.blake2b(digest_size=8)
    for v in model.state_dict().values():
        h.update(memoryview(v.detach().cpu().contiguous().numpy()).cast("B"))
    mine = torch.tensor([int.from_bytes(h.digest(), "little", signed=True)],
                        device=next(model.parameters()).device)  # NCCL: device tensors
    everyone = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    if any(int(t) != int(mine) for t in everyone):
        raise RuntimeError("the ranks of the data-parallel run ended with different weights; "
                           "this is a bug in autoencoders or torch.distributed, please report "
                           "it with the command and versions")
