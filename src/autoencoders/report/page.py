"""The report page: one self-contained HTML file (Plotly.js, styles, script, pictures and
data all inline) rendered from ``RunView``s with Jinja2, which escapes every value."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np

from ..evaluation.compare import METHOD_LABELS, comparison_rows
from ..palette import PALETTE
from .sprites import sprite_sheet
from .view import RunView

__all__ = ["render", "COMPARE_COLUMNS"]

#: The metrics of the table that puts runs side by side.
COMPARE_COLUMNS = (("test_bce", "test BCE"), ("test_mse", "test MSE"),
                   ("test_sse_per_image", "SSE/sample"), ("epochs", "epochs"),
                   ("train_seconds", "training s"), ("parameters", "parameters"),
                   ("trustworthiness", "map trust."), ("knn_accuracy", "map kNN acc."))


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no ``<``, ``>`` or ``&`` as such, so
    that no user string (a label ``</script><script>…``) can end the element."""
    return (json.dumps(value, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _finite(values: Iterable[float | None]) -> list[float | None]:
    return [None if v is None or not np.isfinite(v) else float(v) for v in values]


def _run_data(view: RunView) -> dict[str, Any]:
    """What the page's script draws for one run."""
    return {
        "name": view.name,
        "history": {k: _finite(v) for k, v in view.history.items()},
        "coords": np.round(view.coords.astype(np.float64), 3).tolist(),
        "labels": view.labels, "classes": view.classes, "class_colours": view.class_colours,
        # A pixel is an image's feature: the loss's unit named as the PNG figures name it.
        "unit": "feature" if view.images is None else "pixel",
        "clusters": [int(c) for c in view.clusters],
        "scores": [float(f"{s:.4g}") for s in view.scores], "ids": view.ids,
        "sprite": None if view.images is None else sprite_sheet(view.images),
        "recon_sprite": (None if view.reconstructions is None
                         else sprite_sheet(view.reconstructions)),
        "features": view.features,
    }


def _facts(view: RunView) -> list[tuple[str, str]]:
    f, data = view.facts, view.facts.get("data", {})
    arch, recipe = f["architecture"], f["recipe"]
    where = data.get("dataset") or data.get("input") or "—"
    env = f.get("environment") or {}
    return [
        ("data", f"{where} ({data.get('n_train', '?')} training, {data.get('n_test', '?')} "
                 "test samples)"),
        ("architecture", f"{arch['kind']}, input {tuple(arch['input_shape'])}, hidden "
                         f"{tuple(arch['hidden_dims'])}, code {arch['latent_dim']} "
                         f"({arch['code_activation']}), output {arch['output_activation']}"
                         + (", variational" if arch.get("variational") else "")),
        ("parameters", f"{f['parameters']:,}"),
        ("recipe", f"{recipe['optimizer']} lr {recipe['learning_rate']:g}, {recipe['schedule']}"
                   f", batch {recipe['batch_size']}, {recipe['epochs']} epochs, loss "
                   f"{recipe['loss']}" + (f", corruption {recipe['corruption']}"
                                          if recipe.get("corruption", "none") != "none" else "")),
        ("input", f["input"]),
        ("seed", _number(f.get("seed"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in env.items()
                               if k in ("autoencoders", "torch", "python") and v)),
    ]


def _template_run(view: RunView, index: int) -> dict[str, Any]:
    evaluation = None
    methods = view.evaluation.get("methods") if view.evaluation else None
    if methods:
        columns, rows = comparison_rows(  # the model's input: images or rows of features
            methods, len(view.facts["architecture"]["input_shape"]) >= 2)
        evaluation = {"columns": columns,
                      "rows": [(METHOD_LABELS.get(n, n), cells) for n, cells in rows]}
    settings = (view.evaluation or {}).get("settings", {})
    return {
        "name": view.name, "facts": _facts(view),
        "layers": [{"name": r["name"], "type": r["type"], "shape": str(r["output_shape"]),
                    "params": f"{r['params']:,}"} for r in view.layers],
        "coords_kind": view.coords_kind[0].upper() + view.coords_kind[1:],
        "note": view.note, "has_images": view.images is not None,
        "pictures": [(t, c, uri) for t, (c, uri) in view.pictures.items()],
        "evaluation": evaluation,
        "evaluation_note": (f"fitted on {settings.get('n_train', '?')} training points, scored "
                            f"on {settings.get('n_test', '?')} test points"),
        "cluster": [(k, _number(v)) for k, v in view.cluster.items()
                    if k in ("method", "n_clusters", "n_points", "accuracy", "nmi", "ari",
                             "seconds")] if view.cluster else None,
    }


def _compare_row(view: RunView) -> dict[str, Any]:
    metrics = {**view.metrics, "parameters": view.facts["parameters"]}
    own = (view.evaluation.get("methods", {}).get("autoencoder_map")
           or view.evaluation.get("methods", {}).get("autoencoder_2d_pca") or {})
    metrics.update({k: own[k] for k in ("trustworthiness", "knn_accuracy") if k in own})
    return {"name": view.name, "cells": [_number(metrics.get(k)) for k, _ in COMPARE_COLUMNS]}


def render(views: list[RunView], title: str | None = None) -> str:
    """The report of one run, or of several side by side, as HTML text.

    Parameters
    ----------
    views : list of RunView
    title : str, optional
        By default "Report of RUN" (or "RUN_A, RUN_B and RUN_C side by side").

    Returns
    -------
    str
        A whole HTML page with every script, style and picture inline.
    """
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    from .. import __version__

    names = [v.name for v in views]
    title = title or (f"Report of {names[0]}" if len(names) == 1 else
                      f"{', '.join(names[:-1])} and {names[-1]} side by side")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.from_string(_asset("template.html"))
    return page.render(
        title=title, version=__version__, date=datetime.date.today().isoformat(),
        css=Markup(_asset("report.css")), js=Markup(_asset("report.js")),
        plotly_js=Markup(get_plotlyjs()),
        data_json=Markup(_script_json({"runs": [_run_data(v) for v in views],
                                       "palette": list(PALETTE)})),
        runs=[_template_run(v, i) for i, v in enumerate(views)],
        compare_columns=COMPARE_COLUMNS, compare_rows=[_compare_row(v) for v in views])
