"""The autoencoder family on full MNIST, same code size (25), same training budget in seconds.

Each kind (dense, convolutional, denoising dense and convolutional with Gaussian noise
σ = 0.3, variational dense and convolutional, sparse) trains on the 60,000 training images
for as many epochs as fit the budget: a probe of 3 × 20 training steps measures the seconds
per epoch, then the epochs are fixed up front (the learning-rate schedule needs them). On the
10,000 test images each reports test BCE, MSE and summed squared error per image; k-NN and
linear-probe accuracy of the code (fitted on 10,000 training codes); the fraction of
near-zero code entries; the PSNR of test images with Gaussian noise σ = 0.3 before and after
the model (noise seed 0); the ELBO for the variational ones; parameters and seconds per
epoch. Writes benchmarks/results/variants.md (and .json) and the pictures
variants_samples.png (VAE samples) and variants_denoising.png.

Targets (issue 6): the convolutional model's test MSE below the dense one's with fewer
parameters; the denoising model raises the PSNR of σ = 0.3 test images by ≥ 8 dB; the VAE's
samples look like digits (see the picture).

Usage: python benchmarks/variants.py [--budget SECONDS] [--quick] [--only KIND,KIND]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

# isort: off
import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)
import torch
# isort: on
from _results import machine, mnist, setup_torch, write_results  # benchmarks/_results.py

from autoencoders import AutoEncoder
from autoencoders.evaluation.metrics import (
    knn_accuracy,
    linear_probe_accuracy,
    near_zero_fraction,
    reconstruction_metrics,
    subsample_indices,
)
from autoencoders.objective import batch_objective
from autoencoders.plotting import plot_image_grid, plot_image_rows
from autoencoders.workflow import corrupted_copy

HERE = Path(__file__).resolve().parent
NOISE = "gaussian:0.3"
KINDS = {
    "dense": {},
    "conv": {"architecture": "conv"},
    "denoising dense": {"corruption": NOISE},
    "denoising conv": {"architecture": "conv", "corruption": NOISE},
    "variational dense": {"variational": True},
    "variational conv": {"architecture": "conv", "variational": True},
    "sparse dense": {"sparsity": 0.01},
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def seconds_per_epoch(est: AutoEncoder, X: np.ndarray, steps: int = 20) -> float:
    """Seconds per epoch of ``est``'s model, objective and optimiser (its recipe for ``X``'s
    rows), from the fastest of three blocks of ``steps`` steps on one CPU batch."""
    from autoencoders.models import build_model
    from autoencoders.params import architecture_from_params, recipe_from_params
    from autoencoders.training.optim import make_optimizer

    arch = architecture_from_params(est.get_params(), X.shape[1:], in_unit=True)
    recipe = recipe_from_params(est.get_params(), len(X))
    model = build_model(arch)
    opt = make_optimizer(model, recipe)
    xb = torch.from_numpy(X[:recipe.batch_size]).float() / 255

    def step():
        loss = batch_objective(model, xb, recipe)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    blocks = []
    for _ in range(3):  # the fastest of three blocks: the machine is shared and noisy
        start = time.perf_counter()
        for _ in range(steps):
            step()
        blocks.append((time.perf_counter() - start) / steps)
    return min(blocks) * -(-len(X) // recipe.batch_size)


def run_kind(name, params, X, y, Xt, yt, budget, seed) -> tuple[dict, AutoEncoder]:
    probe = AutoEncoder(latent_dim=25, random_state=seed, verbose=0, **params)
    epoch_s = seconds_per_epoch(probe, X)
    epochs = max(1, int(budget // epoch_s))
    log(f"{name}: ~{epoch_s:.1f} s per epoch, {epochs} epochs in {budget:.0f} s ...")
    ae = AutoEncoder(latent_dim=25, epochs=epochs, random_state=seed, verbose=0,
                     **params).fit(X)
    Xs = ae.scale_input(Xt)
    rec = reconstruction_metrics(Xs, ae.reconstruct(Xt, scaled=True))
    tr = subsample_indices(len(X), 10000, seed)
    C, Ct = ae.transform(X[tr]), ae.transform(Xt)
    noisy = corrupted_copy(ae, Xt, NOISE, seed=0)
    denoised = ae.reconstruct(noisy, scaled=True)
    row = {
        "params": sum(p.numel() for p in ae.model_.parameters()),
        "epochs": epochs, "train_seconds": ae.train_seconds_,
        "seconds_per_epoch": ae.train_seconds_ / epochs,
        "test_bce": rec["bce"], "test_mse": rec["mse"], "sse_per_image": rec["sse_per_image"],
        "knn_accuracy": knn_accuracy(C, y[tr], Ct, yt),
        "linear_probe_accuracy": linear_probe_accuracy(C, y[tr], Ct, yt),
        "near_zero": near_zero_fraction(Ct),
        "psnr_noisy": reconstruction_metrics(Xs, noisy)["psnr"],
        "psnr_denoised": reconstruction_metrics(Xs, denoised)["psnr"],
    }
    if ae.architecture_.variational:
        row["elbo"] = float(np.mean(ae.elbo(Xt)))
    log(f"  {json.dumps(row)}")
    return row, ae


def render(r: dict) -> str:
    m, rows = r["machine"], r["rows"]
    lines = [
        "# The autoencoder family on MNIST: same code size, same training budget",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['platform']}; date {m['date']}; "
        f"Python {m['python']}, torch {m['torch']}. Command: `{m['command']}`. Latent code "
        f"25 (ReLU for the dense models, linear for the others: the estimator's defaults); "
        f"budget {r['budget']:.0f} s of training per model (epochs fixed beforehand from the "
        f"fastest of three 20-step probes); seed {r['seed']}; one run each. Test set: 10,000 "
        "images; k-NN (k = 5) and linear probe fitted on 10,000 training codes. PSNR: test "
        "images with Gaussian noise σ = 0.3 (clipped to [0, 1], seed 0) against the clean "
        "ones, before and after the model. Near-zero: fraction of code entries with "
        "|z| ≤ 0.01 · max |z|.",
        "",
        "| model | params | epochs | s/epoch | BCE | MSE | SSE/image | k-NN acc. | probe acc. "
        "| near-zero | PSNR noisy → out (dB) | ELBO (nats/image) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in rows.items():
        elbo = f"{row['elbo']:.1f}" if "elbo" in row else "—"
        lines.append(
            f"| {name} | {row['params']:,} | {row['epochs']} | {row['seconds_per_epoch']:.1f} | "
            f"{row['test_bce']:.4f} | {row['test_mse']:.5f} | {row['sse_per_image']:.2f} | "
            f"{row['knn_accuracy']:.4f} | {row['linear_probe_accuracy']:.4f} | "
            f"{row['near_zero']:.3f} | {row['psnr_noisy']:.2f} → {row['psnr_denoised']:.2f} "
            f"({row['psnr_denoised'] - row['psnr_noisy']:+.2f}) | {elbo} |")
    lines += ["", "Targets:"]
    if {"dense", "conv"} <= rows.keys():
        d, c = rows["dense"], rows["conv"]
        met = c["test_mse"] < d["test_mse"] and c["params"] < d["params"]
        lines.append(f"- convolutional test MSE {c['test_mse']:.5f} with {c['params']:,} "
                     f"parameters against dense {d['test_mse']:.5f} with {d['params']:,}: "
                     f"{'met' if met else 'missed'}.")
    for name in ("denoising dense", "denoising conv"):
        if name in rows:
            gain = rows[name]["psnr_denoised"] - rows[name]["psnr_noisy"]
            lines.append(f"- {name}: PSNR gain {gain:+.2f} dB (target ≥ 8 dB): "
                         f"{'met' if gain >= 8 else 'missed'}.")
    if r.get("samples_picture"):
        lines.append(f"- VAE samples: `{r['samples_picture']}` (64 draws from the prior of "
                     "each variational model, top: dense, bottom: conv) — judge by eye.")
    if r.get("denoising_picture"):
        lines.append(f"- Denoising: `{r['denoising_picture']}` (noisy, denoised by each "
                     "denoising model, clean).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0,
                        help="training seconds per model (default 90)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run on 3,000 images with a 5 s budget (not comparable)")
    parser.add_argument("--only", help="comma-separated kinds to run (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "variants.md"))
    args = parser.parse_args()
    setup_torch()
    X, y, Xt, yt = mnist(args.quick)
    if args.quick:
        args.budget = 5.0
    kinds = KINDS if not args.only else {k: KINDS[k] for k in args.only.split(",")}
    rows, models = {}, {}
    for name, params in kinds.items():
        rows[name], models[name] = run_kind(name, params, X, y, Xt, yt, args.budget, args.seed)
    out = Path(args.out)
    results = {"rows": rows, "budget": args.budget, "seed": args.seed, "machine": machine()}
    if not args.quick:
        out.parent.mkdir(parents=True, exist_ok=True)
        vae = [models[k] for k in ("variational dense", "variational conv") if k in models]
        if vae:
            path = out.with_name("variants_samples.png")
            plot_image_grid(np.concatenate([m.sample(64, random_state=0) for m in vae]), path,
                            title="Samples from the prior, decoded", columns=16)
            results["samples_picture"] = path.name
        dae = [k for k in ("denoising dense", "denoising conv") if k in models]
        if dae:
            ref = models[dae[0]]
            noisy = corrupted_copy(ref, Xt[:12], NOISE, seed=0)
            picture = {"noisy": ref.scale_input(noisy)}
            picture.update({k: models[k].reconstruct(noisy, scaled=True) for k in dae})
            picture["clean"] = ref.scale_input(Xt[:12])
            path = out.with_name("variants_denoising.png")
            plot_image_rows(picture, path, title=f"Test images with {NOISE} noise")
            results["denoising_picture"] = path.name
    text = render(results)
    print(text)
    if not args.quick:
        write_results(out, results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
