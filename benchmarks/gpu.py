"""On a GPU (or any device): how fast is an MNIST epoch, and what would bf16 and larger batches buy?

For the notebook's dense model and the default convolutional model, on one device:

1. the product's own training (``AutoEncoder.fit`` with its defaults, in float32 and with
   ``precision="bfloat16"``; the whole data set on the device as uint8, cuDNN's algorithm
   search on for convolutions): seconds per epoch and images per second;
2. the same training step in a loop of this script, in fp32 and under bf16 autocast
   (``torch.autocast``; the loss in fp32), at batch 128 and 1024 (the learning rate scaled
   by √8): seconds per epoch, images per second, achieved FLOP/s as a fraction of the
   device's matrix-multiply rate measured here (8192² GEMMs in fp32 and bf16), and the
   test BCE after the same epochs, so that bf16 is kept only where it stays within 0.001
   of fp32 (issue 18).

FLOPs per step are counted by ``torch.utils.flop_counter`` (forward and backward). Target
(issue 18): an MNIST epoch of the notebook model ≤ 0.2 s on a GPU.

Prints a Markdown table and writes benchmarks/results/gpu.md (gpu-<device type>.md when the
device is not CUDA, so a CPU smoke run does not overwrite a GPU result).

Usage: python benchmarks/gpu.py [--device auto] [--epochs 3] [--train-size N]
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import time
from pathlib import Path

# isort: off
import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)
import torch
# isort: on
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.utils.flop_counter import FlopCounterMode

from autoencoders import AutoEncoder
from autoencoders.config import ArchitectureConfig
from autoencoders.datasets import load_mnist
from autoencoders.models import build_model
from autoencoders.runtime import cudnn_autotune, flush_denormals, select_device

ARCHITECTURES = {
    "dense": ArchitectureConfig(),
    "conv": ArchitectureConfig(kind="conv", hidden_dims=(), code_activation="linear"),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int = 8192) -> float:
    """FLOP/s of an n×n by n×n matrix multiply in ``dtype`` on ``device`` (n smaller on a
    CPU, where 8192² would take minutes)."""
    n = n if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ a
    sync(device)
    repeats = 20 if device.type == "cuda" else 3
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def step_flops(kind: str, batch: int) -> float:
    model = build_model(ARCHITECTURES[kind])
    x = torch.rand(batch, 28, 28)
    with FlopCounterMode(display=False) as counter:
        binary_cross_entropy_with_logits(model(x), x).backward()
    return float(counter.get_total_flops())


def loop_epochs(kind: str, X: torch.Tensor, Xt: torch.Tensor, device: torch.device,
                batch: int, bf16: bool, epochs: int) -> dict:
    """The product's step (uint8 batches made [0, 1] on the device, fused Adam, cosine
    schedule without warm-up) in this loop; seconds per epoch and the final test BCE."""
    torch.manual_seed(0)
    model = build_model(ARCHITECTURES[kind]).to(device)
    lr = 4e-3 * math.sqrt(batch / 128)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99),
                           fused=device.type in ("cuda", "cpu"))
    steps = epochs * math.ceil(len(X) / batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    generator = torch.Generator(device="cpu").manual_seed(1)
    seconds = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(device)
        sync(device)
        start = time.perf_counter()
        for rows in order.split(batch):
            xb = X.index_select(0, rows).float().div_(255)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(xb)
            loss = binary_cross_entropy_with_logits(logits.float(), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        sync(device)
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        total = sum(binary_cross_entropy_with_logits(model(xt.float() / 255),
                                                     xt.float() / 255, reduction="sum")
                    for xt in Xt.split(2000))
    return {"seconds": seconds, "test_bce": float(total) / Xt.numel()}


def product_fit(kind: str, X, device: torch.device, epochs: int,
                precision: str) -> AutoEncoder:
    """The estimator's defaults (so its optimiser and batch: Muon at 512 for dense MNIST)."""
    return AutoEncoder(architecture=kind, epochs=epochs, device=str(device), random_state=0,
                       verbose=0, neighbour_map=False, precision=precision).fit(X)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = select_device(args.device)
    X_np = load_mnist("train", progress=False)[0][:args.train_size]
    X = torch.from_numpy(X_np).to(device)
    Xt = torch.from_numpy(load_mnist("test", progress=False)[0]).to(device)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine())
    rates = {"fp32": matmul_rate(device, torch.float32),
             "bf16": matmul_rate(device, torch.bfloat16)}
    lines = [
        f"# Training speed on {device.type} ({name})",
        "",
        f"Date {datetime.date.today()}; torch {torch.__version__}; {len(X):,} MNIST training "
        f"images, {args.epochs} epochs per run. Command: `python benchmarks/gpu.py --device "
        f"{args.device} --epochs {args.epochs}"
        + (f" --train-size {args.train_size}" if args.train_size != 60000 else "") + "`. "
        f"Matrix-multiply rate measured here: fp32 {rates['fp32'] / 1e12:.2f} TFLOP/s, bf16 "
        f"{rates['bf16'] / 1e12:.2f} TFLOP/s. Seconds per epoch: the median over epochs.",
        "",
        "| model | run | batch | s/epoch | images/s | achieved TFLOP/s | of the matmul rate | "
        "test BCE | within 0.001 of fp32? |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with flush_denormals(device):
        for kind in ARCHITECTURES:
            for precision in ("float32", "bfloat16"):
                est = product_fit(kind, X_np, device, args.epochs, precision)
                med = sorted(est.history_["seconds"])[args.epochs // 2]
                lines.append(f"| {kind} | `AutoEncoder.fit` ({precision}, "
                             f"{est.recipe_.optimizer}) | {est.recipe_.batch_size} | "
                             f"{med:.3f} | {len(X) / med:,.0f} | — | — | — | — |")
            for batch in (128, 1024):
                flops = step_flops(kind, batch) * math.ceil(len(X) / batch)
                fp32 = None
                for bf16 in (False, True):
                    with cudnn_autotune(device, kind == "conv"):
                        r = loop_epochs(kind, X, Xt, device, batch, bf16, args.epochs)
                    med = sorted(r["seconds"])[len(r["seconds"]) // 2]
                    rate = rates["bf16" if bf16 else "fp32"]
                    fp32 = r["test_bce"] if not bf16 else fp32
                    close = ("—" if not bf16 else
                             "yes" if abs(r["test_bce"] - fp32) <= 1e-3 else "no")
                    lines.append(
                        f"| {kind} | loop, {'bf16 autocast' if bf16 else 'fp32'} | {batch} | "
                        f"{med:.3f} | {len(X) / med:,.0f} | {flops / med / 1e12:.3f} | "
                        f"{flops / med / rate:.1%} | {r['test_bce']:.4f} | {close} |")
                    print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out or Path(__file__).parent / "results" /
               ("gpu.md" if device.type == "cuda" else f"gpu-{device.type}.md"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
