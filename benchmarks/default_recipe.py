"""Adam at batch 128 or Muon at batch 512 by default? Test loss, seconds and codes per data set.

``benchmarks/recipe.py`` found, on MNIST with the notebook's ReLU code, that Muon for the
hidden layers at batch 512 and learning rate 8e-3 reaches the notebook's loss in 4 epochs
against 6–7 for our Adam default, on all three seeds. Before it becomes the default this
script asks whether that holds through the estimator (its default linear code) on other
data: Fashion-MNIST, a 5,000-image subset of MNIST, and scikit-learn's 8×8 digits (a small
table). Each row trains ``AutoEncoder`` with every other parameter at its default:

- "adam": ``optimizer="adam"``, batch 128, learning rate 4e-3, the default length;
- "muon": ``optimizer="muon"``, batch 512, learning rate 8e-3, the same number of samples
  seen (epochs = ``auto_epochs`` at batch 128, so 4× fewer steps).

Reported per seed: the test BCE after training (per pixel), the training seconds
(evaluation excluded), the epoch and seconds at which the test BCE first reached the Adam
run's final one (same seed), and the 5-NN accuracy of the test codes (classifier fitted on
up to 10,000 training codes). Run it alone: seconds depend on load, epochs do not.

Prints a Markdown table and writes benchmarks/results/default_recipe.md (and .json).

Usage: python benchmarks/default_recipe.py [--seeds 0 1 2] [--data mnist,fashion-mnist,...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

# isort: off
import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)
# isort: on
from _results import machine, setup_torch, write_results  # benchmarks/_results.py

from autoencoders import AutoEncoder
from autoencoders.datasets import load_dataset
from autoencoders.evaluation.metrics import knn_accuracy, subsample_indices
from autoencoders.params import auto_epochs

HERE = Path(__file__).resolve().parent
RECIPES = {"adam": {"optimizer": "adam", "batch_size": 128},
           "muon": {"optimizer": "muon", "batch_size": 512, "learning_rate": 8e-3}}
DATA = ("mnist", "fashion-mnist", "mnist-5000", "digits")


def load(name: str):
    """(X, y, X_test, y_test) of a data set of this study."""
    base = name.removesuffix("-5000")
    kwargs = {} if base == "digits" else {"progress": False}
    X, y = load_dataset(base, "train", **kwargs)  # digits: 1,500 rows, 297 for the test
    Xt, yt = load_dataset(base, "test", **kwargs)
    if name.endswith("-5000"):
        X, y = X[:5000], y[:5000]
    return X, y, Xt, yt


def run(params: dict, X, y, Xt, yt, seed: int, target: float | None) -> dict:
    epochs = auto_epochs(len(X), 128)
    ae = AutoEncoder(epochs=epochs, random_state=seed, verbose=0, neighbour_map=False,
                     **params).fit(X, validation_data=Xt)
    h = ae.history_
    hit = next((i for i, v in enumerate(h["val_loss"]) if target is not None and v <= target),
               None)
    tr = subsample_indices(len(X), 10000, seed)
    return {"epochs": epochs, "final_bce": h["val_loss"][-1], "train_seconds": ae.train_seconds_,
            "seconds_per_epoch": statistics.median(h["seconds"]),
            "to_target_epoch": None if hit is None else hit + 1,
            "to_target_seconds": None if hit is None else sum(h["seconds"][:hit + 1]),
            "knn_accuracy": knn_accuracy(ae.transform(X[tr]), y[tr], ae.transform(Xt), yt)}


def render(r: dict) -> str:
    m = r["machine"]
    lines = ["# The default recipe: Adam at batch 128 or Muon at batch 512", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}, torch {m['torch']}; "
             f"`{m['command']}`; all rows from this one run, one fit at a time. Test BCE per "
             "pixel; seconds of training (evaluation excluded); 'to Adam's loss': the epoch "
             "and seconds at which the test BCE first reached the Adam run's final one "
             "(same seed); 5-NN accuracy of the test codes.", "",
             "| data | recipe | epochs | s/epoch | train s | test BCE | to Adam's loss "
             "(epoch, s) | 5-NN |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for data, by_recipe in r["rows"].items():
        for name, runs in by_recipe.items():
            def cells(key, spec, runs=runs):
                return ", ".join("—" if x[key] is None else format(x[key], spec) for x in runs)
            to = ", ".join("—" if x["to_target_epoch"] is None else
                           f"{x['to_target_epoch']} ({x['to_target_seconds']:.1f})"
                           for x in runs)
            lines.append(f"| {data} | {name} | {runs[0]['epochs']} | "
                         f"{statistics.median(x['seconds_per_epoch'] for x in runs):.2f} | "
                         f"{cells('train_seconds', '.1f')} | {cells('final_bce', '.4f')} | "
                         f"{to} | {cells('knn_accuracy', '.4f')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", default=",".join(DATA))
    parser.add_argument("--out", default=str(HERE / "results" / "default_recipe.md"))
    args = parser.parse_args()
    setup_torch()
    rows: dict[str, dict[str, list]] = {}
    for data in args.data.split(","):
        X, y, Xt, yt = load(data)
        rows[data] = {name: [] for name in RECIPES}
        for seed in args.seeds:
            target = None
            for name, params in RECIPES.items():
                row = run(params, X, y, Xt, yt, seed, target)
                target = target or row["final_bce"]
                rows[data][name].append(row)
                print(data, name, seed, json.dumps(row), file=sys.stderr, flush=True)
    results = {"rows": rows, "seeds": args.seeds, "machine": machine()}
    text = render(results)
    print(text)
    write_results(Path(args.out), results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
