"""Which training recipe reaches the notebook's test BCE (0.0956) in the fewest epochs?

Trains the notebook's architecture (ReLU code included) on MNIST with each recipe below and
records the test BCE after every epoch. Epochs to the target do not depend on the machine's
speed or load, so recipes are compared by them; seconds follow from seconds per epoch
(benchmarks/speed.py). Each change from the previous row is one idea from the literature:
output-bias initialisation, learning-rate warm-up, a faster second-moment decay.

Prints a Markdown table and writes benchmarks/results/recipe.md.

Usage: python benchmarks/recipe.py [--seeds 0 1 2]
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
from autoencoders.training import train

TARGET = 0.0956
BASE = dict(optimizer="adam", schedule="cosine", batch_size=128)
RECIPES = {
    "Adam 2e-3, cosine, 20 epochs (no warm-up, zero output bias)":
        dict(learning_rate=2e-3, beta2=0.999, warmup=0.0, init_output_bias=False, epochs=20),
    "Adam 3e-3, cosine, 10 epochs":
        dict(learning_rate=3e-3, beta2=0.999, warmup=0.0, init_output_bias=False, epochs=10),
    "+ output bias at the logit of the mean pixel":
        dict(learning_rate=3e-3, beta2=0.999, warmup=0.0, init_output_bias=True, epochs=10),
    "+ 10 % linear warm-up":
        dict(learning_rate=3e-3, beta2=0.999, warmup=0.1, init_output_bias=True, epochs=10),
    "8 epochs, 4e-3, 15 % warm-up, beta2 0.99 (our default)":
        dict(learning_rate=4e-3, beta2=0.99, warmup=0.15, init_output_bias=True, epochs=8),
    "6 epochs, 5e-3, 20 % warm-up, beta2 0.99":
        dict(learning_rate=5e-3, beta2=0.99, warmup=0.2, init_output_bias=True, epochs=6),
}


def run(recipe: TrainingConfig, seed: int, X, Xt) -> list[float]:
    torch.manual_seed(seed)
    model = build_model(ArchitectureConfig())
    history = train(model, X, recipe, X_val=Xt,
                    generator=torch.Generator().manual_seed(seed + 1))
    return [row["val_loss"] for row in history]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "recipe.md"))
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    X = torch.from_numpy(load_mnist("train", progress=False)[0])
    Xt = torch.from_numpy(load_mnist("test", progress=False)[0])

    lines = [
        "# Recipes: epochs until the notebook's architecture reaches test BCE ≤ 0.0956",
        "",
        f"MNIST, 60,000 training and 10,000 test images; batch 128; seeds {args.seeds}; "
        f"date {datetime.date.today()}; torch {torch.__version__}, {platform.machine()}. "
        "Command: `python benchmarks/recipe.py"
        + (f" --seeds {' '.join(map(str, args.seeds))}`." if args.seeds != [0] else "`."),
        "",
        "| recipe | epochs to target (per seed) | final test BCE (per seed) |",
        "| --- | --- | --- |",
    ]
    for name, params in RECIPES.items():
        recipe = TrainingConfig(**BASE, **params)
        hits, finals = [], []
        for seed in args.seeds:
            curve = run(recipe, seed, X, Xt)
            hit = next((i + 1 for i, v in enumerate(curve) if v <= TARGET), None)
            hits.append("—" if hit is None else str(hit))
            finals.append(f"{curve[-1]:.4f}")
            print(name, seed, [round(v, 4) for v in curve], flush=True)
        lines.append(f"| {name} | {', '.join(hits)} | {', '.join(finals)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
