"""A finished run folder as an object: its metrics and scores, its model on demand, its
report, and a compact summary in Jupyter."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display import html_summary
from ..persistence import CONFIG_FILE, MODEL_FILE
from .folder import CLUSTER_FILE, METRICS_FILE
from .lock import refuse_unfinished

if TYPE_CHECKING:
    from ..estimator import AutoEncoder
    from ..report import Report

__all__ = ["Run"]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read ({exc}); the run folder is damaged") from None
    return value if isinstance(value, dict) else None


class Run:
    """The run folder that ``autoencoders fit`` (or :func:`train_run`) wrote.

    Reading it changes nothing in the folder.

    Parameters
    ----------
    path : str or Path
        The run folder.

    Attributes
    ----------
    path : Path
    metrics : dict
        ``metrics.json``: held-out reconstruction metrics (``test_bce``, ``test_mse`` per
        feature, ``test_sse_per_image``, ``test_psnr`` in dB), ``train_seconds``, ``epochs``,
        ``dead_code_units`` ...
    config : dict
        ``config.json``: architecture, recipe, scaling, data set, seed, versions.
    evaluation : dict or None
        ``evaluation.json`` when ``autoencoders evaluate`` has run.
    clustering : dict or None
        ``cluster.json`` when ``autoencoders cluster`` has run.

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no finished run (no ``model.safetensors`` or ``metrics.json``).
    ValueError
        When one of its JSON files cannot be read.

    Examples
    --------
    >>> from autoencoders import Run
    >>> run = Run("runs/mnist")          # doctest: +SKIP
    >>> run                              # doctest: +SKIP  (a table in Jupyter)
    >>> run.report()                     # doctest: +SKIP  (the report inline)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        refuse_unfinished(self.path)
        missing = [f for f in (MODEL_FILE, CONFIG_FILE, METRICS_FILE)
                   if not (self.path / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{self.path} is not a finished run folder: it has no "
                                    f"{', '.join(missing)} (autoencoders fit --out "
                                    f"{self.path} writes one)")
        self.metrics = _read_json(self.path / METRICS_FILE) or {}
        self.config = _read_json(self.path / CONFIG_FILE) or {}
        self.evaluation = _read_json(self.path / "evaluation.json")
        self.clustering = _read_json(self.path / CLUSTER_FILE)

    @cached_property
    def model(self) -> AutoEncoder:
        """The fitted :class:`~autoencoders.AutoEncoder`, loaded on first use (on the
        device it was trained on, or the CPU when that one is missing here)."""
        from ..estimator import AutoEncoder

        return AutoEncoder.load(self.path)

    def report(self, *others: Run | str | os.PathLike[str]) -> Report:
        """The HTML report of this run (beside ``others``, runs or folders): a
        :class:`~autoencoders.report.Report`, shown inline in Jupyter.

        Raises
        ------
        FileNotFoundError, ValueError
            When a run's test data cannot be read again.
        """
        from .report import run_report

        folders = [self.path, *(o.path if isinstance(o, Run) else Path(o) for o in others)]
        return run_report(folders, estimator=self.__dict__.get("model"))

    def summary_rows(self) -> list[tuple[str, object]]:
        """The run as ``(name, value)`` rows: what ``_repr_html_`` shows."""
        m, extra = self.metrics, self.config.get("extra", {})
        data = extra.get("data", {}) if isinstance(extra, dict) else {}
        arch = self.config.get("architecture", {})
        shape = " → ".join(str(d) for d in [*arch.get("hidden_dims", ()),
                                            arch.get("latent_dim", "?")])

        def number(key: str, fmt: str) -> str | None:
            return None if m.get(key) is None else format(m[key], fmt)

        rows = [
            ("data", data.get("dataset") or data.get("path")),
            ("model", f"{arch.get('kind', '?')} autoencoder, {shape}"),
            ("epochs", m.get("epochs")),
            ("training", None if m.get("train_seconds") is None
             else f"{m['train_seconds']:.1f} s on {m.get('device', '?')}"),
            ("test BCE", number("test_bce", ".4f")),
            ("test MSE", number("test_mse", ".5f")),
            ("test PSNR", None if m.get("test_psnr") is None else f"{m['test_psnr']:.2f} dB"),
            ("dead code units", m.get("dead_code_units")),
        ]
        if self.clustering and "accuracy" in self.clustering:
            c = self.clustering
            rows.append(("clustering", f"{c['method']}: accuracy {c['accuracy']:.4f}, "
                                       f"NMI {c['nmi']:.4f}"))
        if self.evaluation:
            rows.append(("evaluation", "evaluation.json (autoencoders report shows it)"))
        return rows

    def _repr_html_(self) -> str:
        note = ("under-trained: the loss was still falling" if self.metrics.get("under_trained")
                else "")
        return html_summary(f"Run {self.path}", self.summary_rows(), note)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"
