"""Measuring a run: the comparison with the baselines (``evaluate``) and the clustering of
its codes (``cluster``), written into the run folder."""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._io import atomic_write
from ..datasets import write_array
from ..evaluation.clustering import can_self_label, cluster_codes, resolve_cluster_method
from ..evaluation.compare import (
    METHOD_LABELS,
    Comparison,
    compare_representations,
    comparison_rows,
)
from ..evaluation.metrics import clustering_scores
from ..inputs import check_labels
from ..plotting import plot_maps
from .data import RunData, own_rows
from .folder import CLUSTER_FILE
from .lock import run_lock

if TYPE_CHECKING:
    from ..estimator import AutoEncoder

__all__ = ["evaluation_table", "evaluate_run", "cluster_run"]


def evaluation_table(comparison: Comparison) -> str:
    """The comparison as a Markdown table, one row per method ("—" where n/a)."""
    columns, rows = comparison_rows(comparison.methods,
                                    comparison.settings.get("images", True))
    lines = ["| method | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    lines += [f"| {name}: {METHOD_LABELS[name]} | " + " | ".join(cells) + " |"
              for name, cells in rows]
    return "\n".join(lines)


def chance_note(n_test: int) -> str | None:
    """What chance does to the scores of ``n_test`` test points, when they are few (under
    1,000): an accuracy moves in steps of 1 / n_test, and its standard error at 0.9 is
    √(0.9 · 0.1 / n_test), the binomial one (57 test points of a 569-row table: steps of
    0.018, differences of 0.08 within two standard errors; a new user read them as
    meaningful).

    Parameters
    ----------
    n_test : int
        The number of test points scored.

    Returns
    -------
    str or None
        One sentence for the log and evaluation.md; None for 1,000 points or more.
    """
    if n_test >= 1000:
        return None
    spread = 2 * math.sqrt(0.09 / max(n_test, 1))
    return (f"scored on {n_test} test points: an accuracy moves in steps of {1 / n_test:.3f}, "
            f"and differences below ±{spread:.3f} (two standard errors at 0.9) are within "
            "chance; a run with more test rows narrows them")


def evaluate_run(estimator: AutoEncoder, data: RunData, out_dir: str | os.PathLike[str], *,
                 baselines: Sequence[str] | None = None, subsample: int | None = 5000,
                 k: int = 10, code_maps: bool | None = None, random_state: int = 0,
                 log: Callable[[str], object] | None = print) -> Comparison:
    """Compare the run's code with the baselines and write the results into ``out_dir``.

    Writes ``evaluation.json`` (``{"methods": {NAME: {METRIC: value}}, "settings": ...}``),
    ``evaluation.md`` (the table) and ``figures/evaluation_maps.png`` (every 2-D map of the
    test points, coloured by label, with its trustworthiness and k-NN accuracy in the title).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted (loaded from the run).
    data : RunData
        Training and test splits; labels enable the accuracies.
    out_dir : str or Path
        The run folder.
    baselines, subsample, k, code_maps, random_state, log
        See :func:`autoencoders.evaluation.compare.compare_representations`.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError, ImportError, OSError
        From the comparison or from writing the files; ``RunFolderConflict`` (a
        ValueError) while another process writes ``out_dir``.
    """
    with run_lock(out_dir, "run this again then"):  # and a fit into it meanwhile is refused
        out = Path(out_dir)
        with own_rows(estimator, data.feature_names, data.name):
            comparison = compare_representations(
                estimator, data.X_train, data.X_test, data.y_train, data.y_test,
                baselines=baselines, subsample=subsample, k=k, code_maps=code_maps,
                random_state=random_state, log=log)
        settings = {**comparison.settings, "data": data.description}
        atomic_write(out / "evaluation.json", json.dumps(
            {"methods": comparison.methods, "settings": settings}, indent=2) + "\n")
        s = comparison.settings
        atomic_write(out / "evaluation.md", (
            f"# Evaluation of {out.name}\n\nFitted on {s['n_train']} training points, scored on "
            f"{s['n_test']} test points ({json.dumps(data.description)}). Trustworthiness and "
            f"continuity (k = {s['k']}) on {s['neighbourhood_points']} of them; k-NN recall with "
            f"k = {s['k']}; k-NN accuracy with k = 5; the linear probe is logistic regression on "
            "standardised features. The autoencoder's fit time is its training time.\n\n"
            + evaluation_table(comparison) + "\n"
            + ("" if (note := chance_note(s["n_test"])) is None else f"\n{note}\n")))
        if note is not None and log is not None:
            log(f"note: {note}")
        panels: dict[str, np.ndarray] = {}
        for name, xy in comparison.maps.items():
            row = comparison.methods[name]
            extra = f"\ntrust. {row['trustworthiness']:.3f}" + (
                f", kNN acc. {row['knn_accuracy']:.3f}" if "knn_accuracy" in row else "")
            panels[METHOD_LABELS[name].split(" (")[0] + extra] = xy
        if panels:
            plot_maps(panels, comparison.y_test, out / "figures" / "evaluation_maps.png",
                      title="2-D maps of the test points", names=data.class_names)
        return comparison


#: The most memory that clustering takes for a float32 copy of the inputs (2 GiB: MNIST's
#: 70,000 images are 220 MB); larger data is clustered from its codes alone.
CLUSTER_INPUTS_BYTES = 2 << 30


def cluster_run(estimator: AutoEncoder, X: Any, y: Any, out_dir: str | os.PathLike[str], *,
                n_clusters: int, method: str = "auto", n_init: int = 10,
                self_labelling: bool = False, random_state: int = 0,
                labels_out: str | Path | None = None, description: dict[str, Any] | None = None,
                ids: NDArray[Any] | None = None, id_name: str = "id") -> dict[str, Any]:
    """Cluster the codes of ``X``; write ``cluster.json`` into ``out_dir`` (and the labels).

    "ne-gmm" (and "auto" resolved to it) sees the scaled inputs beside the codes when
    their float32 copy takes at most ``CLUSTER_INPUTS_BYTES``
    (:func:`~autoencoders.evaluation.clustering.cluster_codes`).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted.
    X : array or Source, shape (n, *feature_shape)
    y : array of shape (n,), optional
        True labels: the scores ``accuracy`` (Hungarian matching), ``nmi`` and ``ari``.
    out_dir : str or Path
        The run folder.
    n_clusters, method, n_init, self_labelling, random_state
        See :func:`autoencoders.evaluation.clustering.cluster_codes`.
    labels_out : str or Path, optional
        Where to write the cluster labels, int64 (n,): ``.npy``, ``.csv`` or ``.parquet``.
    description : dict, optional
        The data, for the record.
    ids : array of shape (n,), optional
        Row ids, written beside the labels to a ``.csv`` or ``.parquet`` ``labels_out``, in
        a column named ``id_name``.

    Returns
    -------
    dict
        What ``cluster.json`` holds: ``method`` (the one that ran: "auto" resolved),
        ``n_clusters``, ``n_init``, ``n_points``, ``inputs`` (whether the embedding saw
        the inputs beside the codes), ``self_labelling`` (whether a classifier relabelled
        the clusters),
        ``encode_seconds``, ``cluster_seconds``, ``seconds`` (both), ``random_state``,
        ``data``, and with labels the scores ``accuracy`` (Hungarian matching), ``nmi``
        and ``ari``.

    Raises
    ------
    ValueError, ImportError, OSError
        From the clustering, the labels or writing the files; ``RunFolderConflict`` (a
        ValueError) while another process writes ``out_dir``.

    Warns
    -----
    UserWarning
        When "ne-gmm" clusters the codes alone, the inputs being too big.
    """
    with run_lock(out_dir, "run this again then"):  # and a fit into it meanwhile is refused
        y = check_labels(y, len(X), "y")
        start = time.perf_counter()
        # Our embedding sees the inputs beside the codes (a cleaner graph, measured in
        # cluster_codes) when their float32 copy fits in CLUSTER_INPUTS_BYTES.
        nbytes = 4 * len(X) * int(estimator.n_features_in_)  # the scaled copy, float32
        fits = nbytes <= CLUSTER_INPUTS_BYTES
        method = resolve_cluster_method(method, with_inputs=fits)
        inputs = estimator.scale_input(X) if method == "ne-gmm" and fits else None
        if method == "ne-gmm" and not fits:
            warnings.warn(f"the inputs' float32 copy ({nbytes / 2**30:.1f} GiB) is "
                          f"over {CLUSTER_INPUTS_BYTES / 2**30:.0f} GiB: ne-gmm clusters the codes "
                          "alone", UserWarning, stacklevel=2)
        with warnings.catch_warnings():
            if inputs is not None:  # scale_input has already warned of X's column names
                warnings.filterwarnings("ignore", message=".* (does not have valid|has) "
                                        "feature names", category=UserWarning)
            codes = estimator.transform(X)
        encoded = time.perf_counter()
        labels = cluster_codes(codes, n_clusters, method, inputs=inputs, n_init=n_init,
                               self_labelling=self_labelling, random_state=random_state)
        end = time.perf_counter()
        result: dict[str, Any] = {"method": method, "n_clusters": n_clusters, "n_init": n_init,
                  "n_points": len(labels), "encode_seconds": encoded - start,
                  "cluster_seconds": end - encoded, "seconds": end - start,
                  "random_state": random_state, "data": description or {},
                  "inputs": inputs is not None,
                  "self_labelling": self_labelling and can_self_label(method, inputs)}
        if y is not None:
            result.update(clustering_scores(y, labels))
        if labels_out is not None:
            write_array(labels_out, labels, columns=["cluster"], ids=ids, id_name=id_name)
        atomic_write(Path(out_dir) / CLUSTER_FILE, json.dumps(result, indent=2) + "\n")
        return result
