"""Exported models against the estimator on the MNIST test set: do ONNX Runtime and
TorchScript give the same numbers, and which serves faster here?

For each architecture (the notebook's dense model, the convolutional one, a variational
one's mean) and the 2-D map, a model is trained briefly (1 epoch on the first 10,000
training images: the weights' quality does not matter for either question), exported with
``AutoEncoder.export`` (input: uint8 pixels, divided by 255 inside the graph), and run on all
10,000 test images:

- the largest absolute difference from the estimator (``transform``, ``reconstruct``,
  ``inverse_transform``, ``map``), float32; the issue's bound is 1e-5;
- images per second of the encoder (the map for the map): ours (``transform``: torch with
  ``torch.set_num_threads`` = the cores) against ONNX Runtime (CPU provider,
  ``intra_op_num_threads`` = the cores, one inter-op thread) and the TorchScript file, on
  the whole test set in one call, median of 5 timed calls after one warm-up; export
  seconds.

Prints Markdown and writes benchmarks/results/export.md (and export.json).

Usage: python benchmarks/export.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _results import machine, mnist, setup_torch, write_results  # benchmarks/_results.py

import torch  # isort: skip (after autoencoders, through _results)
from autoencoders import AutoEncoder
from autoencoders.neighbours import NeighbourMap

HERE = Path(__file__).resolve().parent
MODELS = {"dense (notebook)": dict(code_activation="relu"),
          "conv": dict(architecture="conv"),
          "variational (mean)": dict(variational=True),
          "2-D map (dense + map)": dict(neighbour_map=NeighbourMap(min_steps=200))}
TOLERANCE = 1e-5
REPEATS = 5


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def per_second(fn, x, repeats: int) -> float:
    fn(x)  # warm-up: thread pools, first-call allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return len(x) / statistics.median(times)


def measure(name: str, params: dict, X, Xt, folder: Path, repeats: int) -> dict:
    import onnxruntime as ort

    cores = len(os.sched_getaffinity(0))
    log(f"{name}: training 1 epoch on {len(X)} images ...")
    ae = AutoEncoder(epochs=1, random_state=0, verbose=0, **params).fit(X)
    Xt_float = Xt.astype(np.float32) / 255
    Z = ae.transform(Xt)
    parts = ({"map": (Xt, ae.map(Xt))} if "neighbour_map" in params else
             {"encoder": (Xt, Z), "full": (Xt, ae.reconstruct(Xt_float)),
              "decoder": (Z, ae.inverse_transform(Z))})
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = cores, 1
    row = {"model": name, "diff": {}, "export_seconds": {}}
    for part, (x, expected) in parts.items():
        for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt")):
            start = time.perf_counter()
            path = ae.export(folder / f"{part}{suffix}", format=fmt, part=part,
                             input_dtype="float32" if part == "decoder" else "uint8")
            row["export_seconds"][f"{part} {fmt}"] = time.perf_counter() - start
            if fmt == "onnx":
                session = ort.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
                run = (lambda s: lambda a: s.run(None, {s.get_inputs()[0].name: a})[0])(session)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    script = torch.jit.load(str(path))

                def run(a, script=script):
                    with torch.inference_mode():
                        return script(torch.from_numpy(a)).numpy()
            row["diff"][f"{part} {fmt}"] = float(np.abs(run(x) - expected).max())
            row.setdefault("scale", {})[part] = float(np.abs(expected).max())
            if part in ("encoder", "map"):
                row[f"{fmt}_per_s"] = per_second(run, x, repeats)
        if part in ("encoder", "map"):
            ours = ae.map if part == "map" else ae.transform
            row["ours_per_s"] = per_second(ours, x, repeats)
    row["max_diff"] = max(row["diff"].values())
    log(f"  {row}")
    return row


def render(rows: list[dict], m: dict, cores: int, n_train: int) -> str:
    lines = ["# Exported models against the estimator, MNIST test set (10,000 images)", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}, torch {m['torch']}, onnxruntime "
             f"{m['onnxruntime']}; `{m['command']}`. Each model trained 1 epoch on {n_train:,} "
             "training images, exported with `AutoEncoder.export` (uint8 input, scaling "
             "inside), run on all 10,000 test images. Throughput: the encoder (the map for "
             f"the map) on the whole test set per call, median of {REPEATS} calls after a "
             f"warm-up; ours and TorchScript with {cores} torch threads, ONNX Runtime with "
             f"intra_op_num_threads={cores}, inter_op_num_threads=1.", "",
             "| model | largest difference (all parts, both formats) | ours images/s | "
             "ONNX Runtime images/s | TorchScript images/s | ONNX Runtime ÷ ours | "
             "ONNX export s |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        onnx_s = sum(v for k, v in r["export_seconds"].items() if k.endswith("onnx"))
        lines.append(f"| {r['model']} | {r['max_diff']:.1e} | {r['ours_per_s']:,.0f} | "
                     f"{r['onnx_per_s']:,.0f} | {r['torchscript_per_s']:,.0f} | "
                     f"{r['onnx_per_s'] / r['ours_per_s']:.2f}× | {onnx_s:.1f} |")
    worst = max(r["max_diff"] for r in rows)
    relative = max(v / r["scale"][k.split()[0]] for r in rows for k, v in r["diff"].items())
    lines += ["", "Per part and format: " + "; ".join(
        f"{r['model']}: " + ", ".join(f"{k} {v:.1e}" for k, v in r["diff"].items())
        for r in rows) + ".", "",
        f"Target: largest difference below {TOLERANCE:g} for every architecture and the map: "
        f"{worst:.1e} — **{'met' if worst < TOLERANCE else 'missed'}**. Relative to the "
        f"largest output value of its part, the largest difference is {relative:.1e} (the "
        "map's coordinates are tens of units: float32 rounding alone is ~1e-6 there).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 training and 1,000 test images; writes nothing")
    parser.add_argument("--out", default=str(HERE / "results" / "export.md"))
    args = parser.parse_args()
    setup_torch()
    X, _, Xt, _ = mnist(args.quick)
    X = X[:1000] if args.quick else X[:10_000]
    import onnxruntime

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, params in MODELS.items():
            rows.append(measure(name, params, X, Xt, Path(folder), 2 if args.quick else REPEATS))
    m = {**machine(), "onnxruntime": onnxruntime.__version__}
    cores = len(os.sched_getaffinity(0))
    text = render(rows, m, cores, len(X))
    print(text)
    if not args.quick:
        write_results(Path(args.out), {"machine": m, "rows": rows}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
