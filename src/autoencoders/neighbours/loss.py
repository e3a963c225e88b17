"""The contrastive objective of the neighbour embedding: InfoNCE with the Cauchy kernel
and in-batch negatives ("InfoNC-t-SNE", Damrich, Böhm, Hamprecht & Kobak 2023, "From t-SNE
to UMAP with contrastive learning", ICLR), with a hand-written backward pass."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["infonce_cauchy"]


class _InfoNCECauchy(torch.autograd.Function):
    """Loss of heads ``yh`` and tails ``yt`` (g, G, c): each head is contrasted with the G
    tails of its group, its own tail the positive one.

    loss = mean_a [ ρ · log(1 + d_aa) + log Σ_b 1 / (1 + d_ab) ],  d_ab = |y_a − y_b|².

    The backward pass works in place on the (g, G, G) kernel matrix of the forward pass
    instead of autograd's chain of temporaries: dL/dd_ab = −q_ab² / S_a, plus ρ · q_aa on
    the diagonal (q = 1 / (1 + d), S_a = Σ_b q_ab).
    """

    @staticmethod
    def forward(ctx: Any, yh: torch.Tensor, yt: torch.Tensor, rho: float) -> torch.Tensor:
        sh, st = yh.pow(2).sum(-1), yt.pow(2).sum(-1)
        q = torch.baddbmm(sh.unsqueeze(-1) + st.unsqueeze(-2), yh, yt.transpose(1, 2),
                          alpha=-2.0).clamp_min_(0)  # (g, G, G) squared distances
        positive = q.diagonal(dim1=1, dim2=2).clone()  # (g, G)
        q.add_(1.0).reciprocal_()  # the Cauchy kernel
        total = q.sum(-1)  # (g, G)
        n = yh.shape[0] * yh.shape[1]
        loss = (rho * torch.log1p(positive) + torch.log(total)).sum() / n
        ctx.save_for_backward(yh, yt, total, positive)
        ctx.q, ctx.rho = q, rho  # reused in place by backward (one backward per forward)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        yh, yt, total, positive = ctx.saved_tensors
        q, ctx.q = ctx.q, None
        n = yh.shape[0] * yh.shape[1]
        c = q.mul_(q).div_(total.unsqueeze(-1)).neg_()  # dL/dd_ab, (g, G, G)
        c.diagonal(dim1=1, dim2=2).add_(ctx.rho / (1.0 + positive))
        f = 2.0 * float(grad) / n
        gh = (c.sum(-1, keepdim=True) * yh - torch.bmm(c, yt)).mul_(f)
        gt = (c.sum(-2).unsqueeze(-1) * yt - torch.bmm(c.transpose(1, 2), yh)).mul_(f)
        return gh, gt, None


def infonce_cauchy(heads: torch.Tensor, tails: torch.Tensor, exaggeration: float = 1.0,
                   group: int | None = None) -> torch.Tensor:
    """The InfoNCE loss of a batch of edges embedded by the network.

    Parameters
    ----------
    heads, tails : Tensor of float32, shape (B, c)
        The embeddings of the two ends of B edges of the k-NN graph.
    exaggeration : float, default 1
        ρ, the weight of attraction (t-SNE's exaggeration): above 1 tightens clusters.
    group : int, optional
        Contrast each head with the tails of its group of ``group`` edges (the negatives);
        the whole batch by default. Rows beyond a whole number of groups are dropped.

    Returns
    -------
    Tensor, a scalar (nats per edge)
    """
    size = min(group or len(heads), len(heads))
    g = len(heads) // size
    loss: torch.Tensor = _InfoNCECauchy.apply(  # type: ignore[no-untyped-call]
        heads[:g * size].reshape(g, size, -1), tails[:g * size].reshape(g, size, -1),
        float(exaggeration))
    return loss
