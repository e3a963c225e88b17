"""How wide should the convolutional autoencoder be? Seconds per epoch and code quality per width.

Trains the estimator's convolutional autoencoder (3×3 convolutions of stride 2, a linear code
of 25) on MNIST's 60,000 training images for each ``channels`` below, and the default dense
model beside them, each with every other parameter at the estimator's default (so the
length is the default's: 8 epochs here). Reports, side by side in one run: seconds per epoch
(median of the epochs), FLOPs per epoch (forward and backward, ``torch.utils.flop_counter``),
the time ratio to the dense epoch, and what the codes are worth on the 10,000 test images
(BCE and MSE of the reconstruction, 5-NN accuracy and linear probe fitted on 10,000 training
codes). The question (issue 18's target: a conv epoch ≤ 2× a dense one) is whether a
narrower default loses quality.

Prints a Markdown table and writes benchmarks/results/conv.md (and .json).

``--precisions float32 bfloat16`` adds each model under bf16 autocast
(``AutoEncoder(precision="bfloat16")``).

Usage: python benchmarks/conv.py [--widths 32,64 16,32 ...] [--precisions float32 ...]
       [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

# isort: off
import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)
import torch
# isort: on
from _results import machine, mnist, setup_torch, write_results  # benchmarks/_results.py
from torch.utils.flop_counter import FlopCounterMode

from autoencoders import AutoEncoder
from autoencoders.evaluation.metrics import (
    knn_accuracy,
    linear_probe_accuracy,
    reconstruction_metrics,
    subsample_indices,
)

HERE = Path(__file__).resolve().parent
WIDTHS = ("32,64", "16,32", "24,48", "16,32,64")
DENSE = "dense (the notebook's widths, linear code)"


def flops_per_epoch(model: torch.nn.Module, n: int, shape: tuple[int, ...]) -> float:
    """FLOPs of forward and backward over ``n`` images, counted on one batch of 128."""
    batch = torch.rand(128, *shape)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 128 * n


def run(name: str, params: dict, X, y, Xt, yt, seed: int) -> dict:
    print(f"{name} ...", file=sys.stderr, flush=True)
    ae = AutoEncoder(random_state=seed, verbose=0, neighbour_map=False, **params).fit(X)
    rec = reconstruction_metrics(ae.scale_input(Xt), ae.reconstruct(Xt, scaled=True))
    tr = subsample_indices(len(X), 10000, seed)
    C, Ct = ae.transform(X[tr]), ae.transform(Xt)
    row = {"params": sum(p.numel() for p in ae.model_.parameters()),
           "optimizer": ae.recipe_.optimizer, "batch_size": ae.recipe_.batch_size,
           "epochs": len(ae.history_["seconds"]),
           "seconds_per_epoch": statistics.median(ae.history_["seconds"]),
           "train_seconds": ae.train_seconds_,
           "flops_per_epoch": flops_per_epoch(ae.model_, len(X), X.shape[1:]),
           "test_bce": rec["bce"], "test_mse": rec["mse"],
           "knn_accuracy": knn_accuracy(C, y[tr], Ct, yt),
           "linear_probe_accuracy": linear_probe_accuracy(C, y[tr], Ct, yt)}
    print(f"  {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


def render(r: dict) -> str:
    m, rows = r["machine"], r["rows"]
    dense = rows[DENSE]
    lines = [
        "# Convolutional widths: seconds per epoch and code quality", "",
        f"{m['cpu']}, {m['cores']} cores, {m['date']}, torch {m['torch']}; `{m['command']}`; "
        f"seed {r['seed']}; all rows from this one run. Each model with the estimator's "
        "defaults (8 epochs on MNIST's 60,000 training images); scored on the "
        "10,000 test images; k-NN (k = 5) and linear probe fitted on 10,000 training codes.",
        "", "| model | optimizer, batch | params | s/epoch | ÷ dense | TFLOP/epoch | GFLOP/s "
        "| train s | BCE | MSE | 5-NN | probe |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, row in rows.items():
        s = row["seconds_per_epoch"]
        lines.append(
            f"| {name} | {row.get('optimizer', 'adam')}, {row.get('batch_size', 128)} | "
            f"{row['params']:,} | {s:.2f} | {s / dense['seconds_per_epoch']:.2f}× | "
            f"{row['flops_per_epoch'] / 1e12:.3f} | {row['flops_per_epoch'] / s / 1e9:.1f} | "
            f"{row['train_seconds']:.0f} | {row['test_bce']:.4f} | {row['test_mse']:.5f} | "
            f"{row['knn_accuracy']:.4f} | {row['linear_probe_accuracy']:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=list(WIDTHS),
                        help="channels per convolution, comma-separated, one model each")
    parser.add_argument("--precisions", nargs="+", default=["float32"],
                        choices=("float32", "bfloat16"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run on 3,000 images (not comparable)")
    parser.add_argument("--out", default=str(HERE / "results" / "conv.md"))
    args = parser.parse_args()
    setup_torch()
    X, y, Xt, yt = mnist(args.quick)
    rows = {}
    for precision in args.precisions:
        tag = "" if precision == "float32" else f", {precision}"
        rows[DENSE + tag] = run("dense" + tag, {"precision": precision}, X, y, Xt, yt,
                                args.seed)
        for width in args.widths:
            channels = tuple(int(c) for c in width.split(","))
            rows[f"conv, channels {width.replace(',', ', ')}{tag}"] = run(
                f"conv {channels}{tag}", {"architecture": "conv", "channels": channels,
                                          "precision": precision}, X, y, Xt, yt, args.seed)
    results = {"rows": rows, "seed": args.seed, "machine": machine()}
    text = render(results)
    print(text)
    if not args.quick:
        write_results(Path(args.out), results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
