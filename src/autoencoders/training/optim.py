"""The optimiser and the learning-rate schedule of a training recipe."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..config import TrainingConfig

__all__ = ["make_optimizer", "lr_factor", "MuonAdam"]


def make_optimizer(model: nn.Module, recipe: TrainingConfig) -> torch.optim.Optimizer:
    """Plain SGD (the notebook's Keras ``SGD``, no momentum), Adam with betas
    (0.9, ``recipe.beta2``), or :class:`MuonAdam`, at the recipe's peak learning rate."""
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.learning_rate)
    if recipe.optimizer == "muon":
        return MuonAdam(model, recipe.learning_rate, recipe.beta2)
    return _adam(list(model.parameters()), recipe.learning_rate, recipe.beta2)


def _adam(params: list[nn.Parameter], lr: float, beta2: float) -> torch.optim.Adam:
    kwargs: dict[str, Any] = {"lr": lr, "betas": (0.9, beta2)}
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
    Nesterov, no weight decay). ``adjust_lr_fn="match_rms_adamw"`` scales its updates to
    Adam's size (Liu et al. 2025, "Muon is scalable for LLM training"), so that one
    learning rate serves both. The first and last dense layers, convolutions and all
    biases use Adam with betas (0.9, ``beta2``), as Muon's authors advise.

    Measured here (``benchmarks/results/recipe.md``, notebook architecture, seeds 0–2,
    2026-12-01): at batch 512 and learning rate 8e-3 it reached the notebook's test BCE
    0.0956 in 4 epochs on each seed (Adam at batch 128: 7, 6, 6) and ended at 0.084–0.087
    (0.093); at batch 128 its per-step Newton–Schulz work tripled the CPU epoch. It is the
    default for large dense data (``params.auto_optimizer``).

    Its ``state_dict`` has the usual layout (Adam's parameters first, then Muon's), so
    checkpoints hold it like any optimiser's.

    Parameters
    ----------
    model : nn.Module
    lr : float
        Peak learning rate of both.
    beta2 : float
        Adam's second-moment decay.
    """

    def __init__(self, model: nn.Module, lr: float, beta2: float) -> None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        hidden = {id(m.weight) for m in linears[1:-1]}
        params = list(model.parameters())
        muon = [p for p in params if id(p) in hidden]
        self.adam = _adam([p for p in params if id(p) not in hidden], lr, beta2)
        self.muon = (torch.optim.Muon(muon, lr=lr, weight_decay=0.0,
                                      adjust_lr_fn="match_rms_adamw") if muon else None)
        super().__init__(params, {"lr": lr})
        self._share_groups()

    def _share_groups(self) -> None:
        # The schedule sets ``lr`` on these dicts: they must be the two optimisers' own,
        # also after load_state_dict, which gives each optimiser new group dicts.
        self.param_groups = self.adam.param_groups + (self.muon.param_groups
                                                      if self.muon else [])

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        self.adam.step()
        if self.muon is not None:
            self.muon.step()  # type: ignore[no-untyped-call]

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
