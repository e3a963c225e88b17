"""argparse types of the CLI's options: each parses one option's text, or raises
``argparse.ArgumentTypeError`` with what was expected (argparse prints it as a usage error,
exit 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from ..config import parse_corruption

__all__ = ["number", "positive_int", "at_least_two", "positive_float", "positive_finite",
           "seed", "non_negative_float", "fraction", "corruption", "array_out", "int_list",
           "log_spec", "image_size"]


def number(cast: Callable[[str], float], low: float, high: float | None = None, *,
            above: bool = False, finite: bool = True, what: str) -> Callable[[str], float]:
    """An argparse type: ``cast(text)``, not NaN, finite unless ``finite`` is False, ≥ ``low``
    (> with ``above``) and ≤ ``high``."""
    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            value = None
        if (value is None or math.isnan(value) or (finite and math.isinf(value)) or value < low
                or (above and value == low) or (high is not None and value > high)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


positive_int = number(int, 1, what="a positive integer")
at_least_two = number(int, 2, what="an integer of at least 2")
positive_float = number(float, 0, above=True, finite=False, what="a positive number")
positive_finite = number(float, 0, above=True, what="a positive finite number")
# numpy's RandomState takes seeds in [0, 2**32).
seed = number(int, 0, 2**32 - 1, what="a seed, an integer from 0 to 4294967295")
non_negative_float = number(float, 0, what="a number ≥ 0")
fraction = number(float, 0, 1, what="a fraction in [0, 1]")


def corruption(text: str) -> str:
    """A corruption spec, ``KIND:LEVEL`` (``config.parse_corruption``), returned as given."""
    try:
        parse_corruption(text)  # TrainingConfig keeps the normalised spelling
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def array_out(text: str) -> str:
    """An array output path (.npy, .csv, .parquet or -), refused at parse time."""
    from ..datasets.writers import check_array_path

    try:
        check_array_path(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated positive integers (``400,200``), or "none" for ()."""
    if text.strip().lower() == "none":
        return ()
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like "
                                         f"400,200,100,50, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def log_spec(text: str) -> list[str]:
    """``tensorboard[:DIR]`` and/or ``mlflow[:URI]``, comma-separated: the list of them."""
    specs = [s for s in text.split(",") if s]
    if not specs or any(s.partition(":")[0] not in ("tensorboard", "mlflow") for s in specs):
        raise argparse.ArgumentTypeError(f"expected tensorboard[:DIR],mlflow[:URI], got {text!r}")
    return specs


def image_size(text: str) -> tuple[int, int]:
    """``HxW`` (or ``H×W``, or one size for both) in pixels: ``(height, width)``."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        h, w = (int(p) for p in parts) if len(parts) == 2 else (int(parts[0]),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW like 28x28, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return h, w
