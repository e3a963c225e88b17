"""A layer table like Keras' ``model.summary()``: layer, output shape, parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["layer_table", "format_layer_table"]

_ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Identity)


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Run one sample through ``model`` and list its layers in call order.

    Activations are folded into the row of the layer before them (as Keras' ``Dense(...,
    activation=...)`` shows one row).

    Parameters
    ----------
    model : nn.Module
        The autoencoder; its ``forward`` takes (n, *input_shape).
    input_shape : tuple of int
        Feature shape of one sample.

    Returns
    -------
    list of dict
        ``{"name", "type", "output_shape", "params"}`` per layer; ``output_shape`` starts with
        ``None`` for the batch dimension, as Keras prints it.
    """
    rows: list[dict[str, Any]] = []

    def hook(module: nn.Module, _inputs: Any, output: torch.Tensor, name: str) -> None:
        shape = (None, *output.shape[1:])
        if isinstance(module, _ACTIVATION_TYPES) and rows:
            rows[-1]["type"] += f" + {type(module).__name__}"
            return
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append({"name": name, "type": type(module).__name__,
                     "output_shape": shape, "params": params})

    handles = [m.register_forward_hook(lambda m, i, o, n=name: hook(m, i, o, n))
               for name, m in model.named_modules() if not list(m.children())]
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
    return rows


def format_layer_table(rows: list[dict[str, Any]], title: str = "") -> str:
    """Format :func:`layer_table`'s rows as a fixed-width text table with the total."""
    header = ("Layer", "Type", "Output shape", "Param #")
    body = [(r["name"], r["type"], str(r["output_shape"]), f"{r['params']:,}") for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
    line = "-" * (sum(widths) + 6)

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i == 3 else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    total = sum(r["params"] for r in rows)
    lines = ([title] if title else []) + [line, fmt(header), line, *map(fmt, body), line,
                                          f"Total params: {total:,}", line]
    return "\n".join(lines)
