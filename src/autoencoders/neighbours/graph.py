"""The k-nearest-neighbour graph of a neighbour embedding: exact neighbours by chunked
matrix products, and the symmetrised edge list that training samples from."""

from __future__ import annotations

import torch

__all__ = ["knn_indices", "symmetric_edges"]


def knn_indices(X: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """The ``k`` nearest neighbours of every row of ``X`` among the others (squared
    Euclidean distance), exactly: chunks of ``chunk`` rows against all rows, each a matrix
    product and a top-k.

    Parameters
    ----------
    X : Tensor of float32, shape (n, d)
    k : int
        At least 1 and less than n.
    chunk : int, default 2048
        Rows per product: memory grows with ``chunk × n`` floats (2048 × 60,000 × 4 bytes
        = 492 MB for MNIST's training set).

    Returns
    -------
    Tensor of int64, shape (n, k)
        Neighbours in order of distance, the point itself excluded.

    Raises
    ------
    ValueError
        For ``k`` outside [1, n).

    Notes
    -----
    Exact search on 60,000 PCA-50 points costs a few seconds here; approximate search
    (NN-descent, as UMAP uses) pays off only for much larger or wider data.
    """
    n = X.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"n_neighbors={k} needs between 1 and n_samples − 1 = {n - 1} "
                         "neighbours; pass fewer neighbours or more samples")
    norms = (X * X).sum(1)
    Xt = X.T.contiguous()
    out = torch.empty(n, k, dtype=torch.int64)
    for start in range(0, n, chunk):
        q = X[start:start + chunk]
        # |x|² − 2 q·x: |q|² is constant along a row and does not change the order.
        d = torch.addmm(norms.unsqueeze(0), q, Xt, beta=1.0, alpha=-2.0)  # (c, n)
        rows = torch.arange(start, start + len(q))
        d[rows - start, rows] = float("inf")  # not one's own neighbour
        out[start:start + len(q)] = torch.topk(d, k, dim=1, largest=False).indices
    return out


def symmetric_edges(neighbours: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The undirected edges of a k-NN graph, each in both directions once (i→j and j→i
    when either is a neighbour of the other), sorted, so that sampling is deterministic.

    Parameters
    ----------
    neighbours : Tensor of int64, shape (n, k)

    Returns
    -------
    heads, tails : Tensor of int64, shape (m,)
    """
    n, k = neighbours.shape
    rows = torch.arange(n).repeat_interleave(k)
    cols = neighbours.reshape(-1)
    keys = torch.unique(torch.cat([rows * n + cols, cols * n + rows]))
    return keys // n, keys % n
