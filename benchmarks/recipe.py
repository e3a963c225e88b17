"""Which training recipe reaches the notebook's test BCE (0.0956) in the fewest epochs and seconds?

Trains the notebook's architecture (ReLU code included) on MNIST with each recipe below and
records the test BCE and the training seconds after every epoch (evaluation excluded).
Epochs to the target do not depend on the machine's load; seconds do, so run it alone.
Each row changes one thing from our default recipe (Adam 4e-3, betas (0.9, 0.99), 15 %
linear warm-up then cosine decay, output bias at the logit of the mean pixel, batch 128,
8 epochs); the ideas, with their sources:

- larger batches with the learning rate scaled by √(batch ratio) (Hoffer, Hubara & Soudry
  2017; Malladi et al. 2022 for Adam) or linearly (Goyal et al. 2017): fewer, larger GEMMs;
- a shorter or longer warm-up;
- the first encoder layer and the last decoder layer initialised from the training images'
  principal directions (a data-dependent initialisation in the spirit of Krähenbühl et al.
  2016 and of PCA-initialised autoencoders, Hinton & Salakhutdinov 2006's pre-training);
- orthogonalised updates for the hidden layers: Muon (Jordan et al. 2024; PyTorch's
  ``torch.optim.Muon`` with ``adjust_lr_fn="match_rms_adamw"``, Liu et al. 2025, so that it
  shares Adam's learning rate), Adam for the first and last layers and the biases.

Muon is the estimator's ``optimizer="muon"`` (``autoencoders.training.optim.MuonAdam``), and
since 2026-12-02 its default on 10,000 rows or more (``optimizer="auto"``, checked through
the estimator on MNIST and Fashion-MNIST by ``benchmarks/default_recipe.py``); the Adam
recipe below stays the default for smaller data. The earlier study that chose the Adam
recipe is kept at the end of the results file.

Prints a Markdown table and writes benchmarks/results/recipe.md.

``--only TEXT [TEXT ...]`` runs the recipes whose name contains one of the TEXTs, and the
default again beside them (the last column compares runs of one sitting), and keeps the
other rows of the existing results file.

Usage: python benchmarks/recipe.py [--seeds 0 1 2] [--only TEXT [TEXT ...]]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from pathlib import Path

# isort: off
import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)
import torch
# isort: on

from autoencoders.config import ArchitectureConfig, TrainingConfig
from autoencoders.datasets import load_mnist
from autoencoders.models import build_model
from autoencoders.runtime import flush_denormals
from autoencoders.training import train

TARGET = 0.0956
DEFAULT = dict(optimizer="adam", schedule="cosine", batch_size=128, learning_rate=4e-3,
               beta2=0.99, warmup=0.15, init_output_bias=True, epochs=8)
#: name → (changes to DEFAULT, first/last layer from PCA, Muon for hidden layers)
RECIPES: dict[str, tuple[dict, bool, bool]] = {
    "our default (Adam 4e-3, batch 128, 15 % warm-up, cosine, 8 epochs)": ({}, False, False),
    "warm-up 5 %": ({"warmup": 0.05}, False, False),
    "warm-up 30 %": ({"warmup": 0.3}, False, False),
    "batch 256, lr × √2 (5.7e-3)": ({"batch_size": 256, "learning_rate": 5.66e-3},
                                     False, False),
    "batch 512, lr × 2 (8e-3)": ({"batch_size": 512, "learning_rate": 8e-3}, False, False),
    "batch 512, lr × 2, 10 epochs": ({"batch_size": 512, "learning_rate": 8e-3,
                                      "epochs": 10}, False, False),
    "first/last layer from PCA": ({}, True, False),
    "first/last layer from PCA, 6 epochs": ({"epochs": 6}, True, False),
    "Muon (hidden layers) + Adam": ({}, False, True),
    "Muon (hidden layers) + Adam, 6 epochs": ({"epochs": 6}, False, True),
    "Muon (hidden layers) + Adam, batch 512, lr × 2 (8e-3)":
        ({"batch_size": 512, "learning_rate": 8e-3}, False, True),
    "Muon (hidden layers) + Adam, batch 512, lr × 2, 5 epochs":
        ({"batch_size": 512, "learning_rate": 8e-3, "epochs": 5}, False, True),
    # The estimator's default since 2026-12-02 (above) with its forward pass under bf16
    # autocast: CPUs with bfloat16 instructions (AVX512-BF16, AMX) multiply bf16 faster
    # than fp32.
    "Muon (hidden layers) + Adam, batch 512, lr × 2, bfloat16":
        ({"batch_size": 512, "learning_rate": 8e-3, "precision": "bfloat16"}, False, True),
    "Muon (hidden layers) + Adam, batch 512, lr × 2, 5 epochs, bfloat16":
        ({"batch_size": 512, "learning_rate": 8e-3, "epochs": 5, "precision": "bfloat16"},
         False, True),
    # preset("fast") since 2026-12-02 (on a CPU with bf16 instructions), and its neighbours.
    "Muon (hidden layers) + Adam, batch 512, lr × 2, 3 epochs, bfloat16 (\"fast\")":
        ({"batch_size": 512, "learning_rate": 8e-3, "epochs": 3, "precision": "bfloat16"},
         False, True),
    "Muon (hidden layers) + Adam, batch 512, lr × 2, 2 epochs, bfloat16":
        ({"batch_size": 512, "learning_rate": 8e-3, "epochs": 2, "precision": "bfloat16"},
         False, True),
    "Muon (hidden layers) + Adam, batch 1024, lr × 2√2 (1.13e-2), 3 epochs, bfloat16":
        ({"batch_size": 1024, "learning_rate": 1.13e-2, "epochs": 3,
          "precision": "bfloat16"}, False, True),
}
PREVIOUS = """\
## The earlier study (2026-11-29, seeds 0, 1, 2): how the default was chosen

| recipe | epochs to target (per seed) | final test BCE (per seed) |
| --- | --- | --- |
| Adam 2e-3, cosine, 20 epochs (no warm-up, zero bias) | 12, 14, 13 | 0.0926, 0.0936, 0.0930 |
| Adam 3e-3, cosine, 10 epochs | —, —, — | 0.1030, 0.1015, 0.0999 |
| + output bias at the logit of the mean pixel | —, —, — | 0.0986, 0.0963, 0.1023 |
| + 10 % linear warm-up | 7, 7, 6 | 0.0924, 0.0913, 0.0895 |
| 8 epochs, 4e-3, 15 % warm-up, beta2 0.99 (our default) | 7, 6, 6 | 0.0936, 0.0935, 0.0928 |
| 6 epochs, 5e-3, 20 % warm-up, beta2 0.99 | 6, —, 6 | 0.0953, 0.0966, 0.0945 |
"""


@torch.no_grad()
def init_from_pca(model: torch.nn.Module, X: torch.Tensor) -> None:
    """First encoder layer: rows along the top principal directions of the training images,
    each scaled to the row norm of Glorot-uniform rows, and a bias that centres the data;
    the last decoder layer: the transposed directions (its bias stays the logit of the
    mean)."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    first, last = linears[0], linears[-1]
    flat = X.reshape(len(X), -1).float() / 255.0
    mean = flat.mean(0)
    _, _, V = torch.pca_lowrank(flat[:20000], q=first.out_features, center=True, niter=4)
    W = V.T  # (out, 784), orthonormal rows
    glorot_row = (2.0 / (first.in_features + first.out_features)) ** 0.5 * first.in_features ** 0.5
    first.weight.copy_(W * glorot_row)
    first.bias.copy_(-(first.weight @ mean))
    last_row = (2.0 / (last.in_features + last.out_features)) ** 0.5 * last.in_features ** 0.5
    last.weight.copy_(W.T * last_row)


def run(params: dict, pca: bool, muon: bool, seed: int, X, Xt) -> list[dict]:
    recipe = TrainingConfig(**{**DEFAULT, **params, **({"optimizer": "muon"} if muon else {})})
    with flush_denormals(torch.device("cpu")):
        torch.manual_seed(seed)
        model = build_model(ArchitectureConfig())
        if pca:
            init_from_pca(model, X)
        return train(model, X, recipe, X_val=Xt,
                     generator=torch.Generator().manual_seed(seed + 1))


def to_target(history: list[dict]) -> tuple[int | None, float | None]:
    seconds = 0.0
    for row in history:
        seconds += row["seconds"]
        if row["val_loss"] <= TARGET:
            return row["epoch"], seconds
    return None, None


def earlier_rows(path: Path) -> dict[str, str]:
    """The table rows of an earlier results file, by recipe name (the first cell)."""
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text().split("\n## ")[0].splitlines():
        name = line.split(" | ")[0].removeprefix("| ")
        if line.startswith("| ") and name in RECIPES:
            rows[name] = line
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="run the recipes whose name contains one of these (and the "
                             "default)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "recipe.md"))
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    X = torch.from_numpy(load_mnist("train", progress=False)[0])
    Xt = torch.from_numpy(load_mnist("test", progress=False)[0])

    lines = [
        "# Recipes: epochs and seconds until the notebook's architecture reaches test BCE "
        "≤ 0.0956",
        "",
        f"MNIST, 60,000 training and 10,000 test images; seeds {args.seeds}; date "
        f"{datetime.date.today()}; torch {torch.__version__}, {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores. Command: `python benchmarks/recipe.py"
        + "`" + (" (the default and the rows containing "
                 + " or ".join(f"'{t}'" for t in args.only) + " rerun that day with `--only`)"
                 if args.only else "") + ". Seconds are training seconds to the target (evaluation "
        "excluded), one run at a time.",
        "",
        "| recipe | epochs to target (per seed) | seconds to target (per seed) | "
        "s/epoch | final test BCE (per seed) | on all seeds: fewer epochs and seconds "
        "than the default? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    out = Path(args.out)
    earlier = earlier_rows(out) if args.only else {}
    default_name = next(iter(RECIPES))
    default_runs: list[tuple[int | None, float | None]] = []
    for name, (params, pca, muon) in RECIPES.items():
        if (args.only and name != default_name
                and not any(text in name for text in args.only)):
            if name in earlier:
                lines.append(earlier[name])
            continue
        hits, finals, per_epoch = [], [], []
        for seed in args.seeds:
            history = run(params, pca, muon, seed, X, Xt)
            hits.append(to_target(history))
            finals.append(history[-1]["val_loss"])
            per_epoch += [row["seconds"] for row in history]
            print(name, seed, [round(r["val_loss"], 4) for r in history],
                  f"{sum(per_epoch) / len(per_epoch):.2f} s/epoch", flush=True)
        if name == default_name:
            default_runs, verdict = hits, "—"
        else:
            wins = [e is not None and d[0] is not None and e <= d[0] and s < d[1]
                    for (e, s), d in zip(hits, default_runs, strict=True)]
            verdict = "yes" if all(wins) else f"no ({sum(wins)} of {len(wins)})"
        lines.append(
            f"| {name} | {', '.join('—' if e is None else str(e) for e, _ in hits)} | "
            f"{', '.join('—' if s is None else f'{s:.1f}' for _, s in hits)} | "
            f"{sum(per_epoch) / len(per_epoch):.2f} | "
            f"{', '.join(f'{v:.4f}' for v in finals)} | {verdict} |")
    text = "\n".join(lines) + "\n\n" + PREVIOUS
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
