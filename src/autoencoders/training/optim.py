"""The optimiser and the learning-rate schedule of a training recipe."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..config import TrainingConfig

__all__ = ["make_optimizer", "lr_factor", "MuonAdam", "BatchedMuon"]


def make_optimizer(model: nn.Module, recipe: TrainingConfig) -> torch.optim.Optimizer:
    """Plain SGD (the notebook's Keras ``SGD``, no momentum), Adam with betas
    (0.9, ``recipe.beta2``), or :class:`MuonAdam`, at the recipe's peak learning rate,
    each with the recipe's decoupled ``weight_decay`` (for plain SGD, its L2 term is the
    same update)."""
    lr, decay = recipe.learning_rate, recipe.weight_decay
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=decay)
    if recipe.optimizer == "muon":
        return MuonAdam(model, lr, recipe.beta2, decay)
    return _adam(list(model.parameters()), lr, recipe.beta2, decay)


def _adam(params: list[nn.Parameter], lr: float, beta2: float,
          weight_decay: float = 0.0) -> torch.optim.Adam:
    kwargs: dict[str, Any] = {"lr": lr, "betas": (0.9, beta2)}
    if weight_decay:  # AdamW's update; without decay, Adam's state as before
        kwargs.update(weight_decay=weight_decay, decoupled_weight_decay=True)
    try:
        # One fused kernel for all parameters: measured here (2 cores, batch 128) epochs
        # took 1.85 s against 2.35 s with the default multi-tensor Adam.
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, ValueError):  # a device without a fused kernel
        return torch.optim.Adam(params, **kwargs)


class MuonAdam(torch.optim.Optimizer):
    """Muon for the weight matrices of the hidden dense layers, Adam for the rest, as one
    optimiser whose groups all take the schedule's learning rate.

    Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers in neural networks")
    replaces each hidden weight matrix's momentum update by its nearest semi-orthogonal
    matrix (Newton–Schulz iterations; PyTorch's ``torch.optim.Muon``, momentum 0.95,
    Nesterov). ``adjust_lr_fn="match_rms_adamw"`` scales its updates to
    Adam's size (Liu et al. 2025, "Muon is scalable for LLM training"), so that one
    learning rate serves both. The first and last dense layers, convolutions and all
    biases use Adam with betas (0.9, ``beta2``), as Muon's authors advise.

    Measured here (``benchmarks/results/recipe.md``, notebook architecture, seeds 0–2,
    2026-12-01): at batch 512 and learning rate 8e-3 it reached the notebook's test BCE
    0.0956 in 4 epochs on each seed (Adam at batch 128: 7, 6, 6) and ended at 0.084–0.087
    (0.093); at batch 128 its per-step Newton–Schulz work tripled the CPU epoch. It is the
    default for large dense data (``params.auto_optimizer``).

    The Muon half is :class:`BatchedMuon`, PyTorch's update with the Newton–Schulz work of
    equally shaped matrices done at once. Its ``state_dict`` has the usual layout (Adam's
    parameters first, then Muon's), so checkpoints hold it like any optimiser's.

    Parameters
    ----------
    model : nn.Module
    lr : float
        Peak learning rate of both.
    beta2 : float
        Adam's second-moment decay.
    weight_decay : float, default 0.0
        Decoupled weight decay of both halves (AdamW's, and Muon's own).
    """

    def __init__(self, model: nn.Module, lr: float, beta2: float,
                 weight_decay: float = 0.0) -> None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        hidden = {id(m.weight) for m in linears[1:-1]}
        params = list(model.parameters())
        muon = [p for p in params if id(p) in hidden]
        self.adam = _adam([p for p in params if id(p) not in hidden], lr, beta2, weight_decay)
        self.muon = BatchedMuon(muon, lr=lr, weight_decay=weight_decay) if muon else None
        super().__init__(params, {"lr": lr})
        self._share_groups()

    def _share_groups(self) -> None:
        # The schedule sets ``lr`` on these dicts: they must be the two optimisers' own,
        # also after load_state_dict, which gives each optimiser new group dicts.
        self.param_groups = self.adam.param_groups + (self.muon.param_groups
                                                      if self.muon else [])

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:  # evaluated once, for both halves
            with torch.enable_grad():
                loss = closure()
        self.adam.step()
        if self.muon is not None:
            self.muon.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        state = self.adam.state_dict()
        if self.muon is not None:
            n = sum(len(g["params"]) for g in self.adam.param_groups)
            muon = self.muon.state_dict()
            state["state"].update({i + n: v for i, v in muon["state"].items()})
            state["param_groups"] += [{**g, "params": [i + n for i in g["params"]]}
                                      for g in muon["param_groups"]]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        n_groups = len(self.adam.param_groups)
        n = sum(len(g["params"]) for g in self.adam.param_groups)
        groups, states = state_dict["param_groups"], state_dict["state"]
        self.adam.load_state_dict({"param_groups": groups[:n_groups],
                                   "state": {i: v for i, v in states.items() if int(i) < n}})
        if self.muon is not None:
            self.muon.load_state_dict({
                "param_groups": [{**g, "params": [i - n for i in g["params"]]}
                                 for g in groups[n_groups:]],
                "state": {int(i) - n: v for i, v in states.items() if int(i) >= n}})
        self._share_groups()


class BatchedMuon(torch.optim.Muon):
    """:class:`torch.optim.Muon` (momentum 0.95, Nesterov, ``adjust_lr_fn="match_rms_adamw"``)
    whose Newton–Schulz iterations run once for all the weight matrices of one shape.

    The autoencoder's hidden layers come in mirrored pairs (400 × 200 in the encoder,
    200 × 400 in the decoder, ...), equal in shape once the taller one is transposed, as the
    iteration does anyway; each pair goes through one batched matrix product. The arithmetic
    is PyTorch's: the same bfloat16 iteration, coefficients, normalisation, learning-rate
    scaling (``adjust_lr_fn`` of each group) and closure. The updates equal
    ``torch.optim.Muon``'s to the bit on the notebook's shapes and on small ones (checked
    by a test); for some tall matrices (1,500 × 500 in a user's decoder) torch multiplies a
    transposed view where we multiply a copy, and bf16 rounding then differs (1.5e-3 at
    most in the orthogonalised update, whose entries average 0.02 in size there). Measured here
    (AMD EPYC, 2 cores, the notebook's eight hidden matrices, 2026-12-02): 4.7-5.4 ms a step
    against 6.8-7.2 ms; ``Muon.step`` had been 41 % of a bf16 training step at batch 512.

    Parameters
    ----------
    params : iterable of 2-D float32 tensors
        The weight matrices, (out_features, in_features) each.
    lr : float
        Learning rate, scaled per matrix by 0.2 √max(out, in) (``"match_rms_adamw"``, the
        scaling that lets Muon share Adam's learning rate).
    weight_decay : float, default 0.0
        Decoupled weight decay.

    Raises
    ------
    ValueError
        From :class:`torch.optim.Muon`, for a parameter that is not a 2-D matrix.
    """

    def __init__(self, params: Any, lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay,
                         adjust_lr_fn="match_rms_adamw")

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            updates = []
            for p in params:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - group["momentum"])
                updates.append(p.grad.lerp(buf, group["momentum"]) if group["nesterov"]
                               else buf)
            orthogonal = _newton_schulz(updates, group["ns_coefficients"], group["ns_steps"],
                                        group["eps"])
            for p, update in zip(params, orthogonal, strict=True):
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(update, alpha=-group["lr"] * _lr_scale(group["adjust_lr_fn"], p.shape))
        return loss


def _lr_scale(adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """``torch.optim.Muon``'s learning-rate factor of an (A, B) matrix: "match_rms_adamw"
    0.2 √max(A, B), updates at the RMS of Adam's (Liu et al. 2025); "original" or None
    √max(1, A / B) (Jordan et al. 2024); anything else 1."""
    a, b = shape[:2]
    if adjust_lr_fn in (None, "original"):
        return math.sqrt(max(1.0, a / b))
    return 0.2 * math.sqrt(max(a, b)) if adjust_lr_fn == "match_rms_adamw" else 1.0


def _newton_schulz(updates: list[torch.Tensor], coefficients: tuple[float, float, float],
                   steps: int, eps: float) -> list[torch.Tensor]:
    """The quintic Newton–Schulz iteration of ``torch.optim.Muon`` (Jordan et al. 2024) in
    bfloat16, run as one batched product per shape; returns bfloat16 matrices shaped like
    ``updates``."""
    a, b, c = coefficients
    wide = [u.mT if u.size(0) > u.size(1) else u for u in updates]  # (m, n), m <= n
    shapes: dict[tuple[int, ...], list[int]] = {}
    for i, u in enumerate(wide):
        shapes.setdefault(tuple(u.shape), []).append(i)
    out: list[torch.Tensor] = [torch.empty(0)] * len(updates)
    for members in shapes.values():
        x = torch.stack([wide[i] for i in members]).bfloat16()  # (k, m, n)
        x = x / x.norm(dim=(1, 2), keepdim=True).clamp(min=eps)  # spectral norm ≤ 1
        for _ in range(steps):
            gram = x @ x.mT  # (k, m, m)
            x = torch.baddbmm(x, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
        for i, xi in zip(members, x, strict=True):
            out[i] = xi.mT if updates[i].size(0) > updates[i].size(1) else xi
    return out


def lr_factor(step: int, total_steps: int, schedule: str, warmup: float) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps``.

    Linear warm-up over the first ``round(warmup * total_steps)`` steps (Goyal et al. 2017),
    then constant or cosine decay to 0 at the last step (Loshchilov & Hutter 2017, SGDR,
    without restarts).
    """
    warm = round(warmup * total_steps)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    t = min(step - warm, total_steps - warm) / max(1, total_steps - warm)
    return 0.5 * (1.0 + math.cos(math.pi * t))
