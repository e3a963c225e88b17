"""Peak memory and throughput of training and embedding as the data grows past memory.

For each size (default 1, 4 and 16 million rows) this writes a synthetic data set of
784-feature uint8 rows (MNIST training images at random, each shifted by up to 2 pixels in
each direction) to one ``.npy`` file, then measures, each in a fresh process:

- one training epoch of the default model streamed from the file
  (``AutoEncoder(epochs=1).fit(autoencoders.datasets.open(path))``);
- embedding every row streamed, chunk by chunk to a ``.npy`` file
  (``autoencoders embed RUN --input path --stream --out codes.npy``);
- for the sizes given to ``--in-memory`` (default 1 and 4 million), the same epoch with
  the rows in memory (``fit(np.load(path))``), the fast path, on the same rows.

Peak memory is the process's peak resident set size (``ru_maxrss``), which includes torch
itself. Throughput is rows per second of the epoch (the training loop's own timing, without
start-up) and of the embedding (wall time of the command's work). The file is written just
before it is read, so reads come from the page cache where it fits in memory (it does
here); the note in the results says what that means. Targets (issue 7): peak memory grows by
less than 20 % from the smallest to the largest size, and streaming throughput is at least
80 % of the in-memory path's on the same rows.

    python benchmarks/scale.py                       # 1, 4, 16 million rows; ~30 min here
    python benchmarks/scale.py --sizes 0.05,0.2 --in-memory 0.05 --out x.md   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHUNK = 65536


def write_dataset(path: Path, n: int, seed: int = 0) -> float:
    """Write ``n`` shifted MNIST rows, uint8 (n, 784), to ``path``; return the seconds."""
    from autoencoders.datasets import ArrayWriter, load_mnist

    start = time.perf_counter()
    images, _ = load_mnist("train", progress=False)
    rng = np.random.default_rng(seed)
    with ArrayWriter(path, n) as writer:
        for first in range(0, n, CHUNK):
            k = min(CHUNK, n - first)
            chunk = images[rng.integers(0, len(images), k)]
            shifts = rng.integers(-2, 3, size=(k, 2))
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    rows = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                    chunk[rows] = np.roll(chunk[rows], (dy, dx), axis=(1, 2))
            writer.write(chunk.reshape(k, 784))
    return time.perf_counter() - start


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def child(mode: str, path: str, run_dir: str) -> dict:
    """One measurement in this (fresh) process; the result as a dict."""
    os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.set_flush_denormal(True)
    from autoencoders import AutoEncoder
    from autoencoders.cli import main
    from autoencoders.datasets import open as open_data

    if mode in ("stream", "memory"):
        data = open_data(path) if mode == "stream" else np.load(path)
        ae = AutoEncoder(epochs=1, random_state=0, verbose=0).fit(data)
        if mode == "stream":
            ae.save(run_dir)
        rows, seconds = len(data), ae.train_seconds_
    else:
        out = Path(run_dir) / "codes.npy"
        start = time.perf_counter()
        code = main(["embed", run_dir, "--input", path, "--stream", "--out", str(out), "-q"])
        seconds = time.perf_counter() - start
        assert code == 0
        rows = len(np.load(out, mmap_mode="r"))
        out.unlink()
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
            "peak_bytes": _peak_bytes()}


def measure(mode: str, path: Path, run_dir: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(run_dir)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} on {path} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1,4,16", help="millions of rows (default 1,4,16)")
    p.add_argument("--in-memory", default="1,4",
                   help="sizes (millions) also trained in memory (default 1,4)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where to write the data sets (default: a temporary folder); each is "
                        "deleted after its measurements")
    p.add_argument("--out", type=Path, default=HERE / "results" / "scale.md")
    p.add_argument("--report", type=Path, metavar="JSON",
                   help="only rewrite --out from the results JSON of an earlier run")
    p.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "RUN_DIR"),
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    sys.path.insert(0, str(HERE))
    from _results import machine, write_results

    if args.report:
        results = json.loads(args.report.read_text())
        write_results(args.out, results, report(results))
        return

    sizes = [float(s) for s in args.sizes.split(",")]
    in_memory = {float(s) for s in args.in_memory.split(",") if s.strip()}
    rows_out = []
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        for size in sizes:
            n = int(round(size * 1_000_000))
            path, run_dir = Path(tmp) / f"rows-{n}.npy", Path(tmp) / f"run-{n}"
            written = write_dataset(path, n)
            row = {"rows": n, "file_bytes": path.stat().st_size, "write_seconds": written}
            print(f"{n:,} rows: written in {written:.0f} s ({row['file_bytes'] / 1e9:.2f} GB)",
                  flush=True)
            row["stream_fit"] = measure("stream", path, run_dir)
            row["stream_embed"] = measure("embed", path, run_dir)
            if size in in_memory:
                row["memory_fit"] = measure("memory", path, run_dir)
            print(json.dumps(row), flush=True)
            rows_out.append(row)
            path.unlink()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    results = {"machine": {**machine(), "memory_bytes": memory}, "sizes": rows_out}
    text = report(results)
    write_results(args.out, results, text)
    print(text)


def report(results: dict) -> str:
    sizes = results["sizes"]
    m = results["machine"]
    mib = 2 ** 20
    largest = max(r["file_bytes"] for r in sizes)
    memory = m.get("memory_bytes") or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    fits = largest < memory
    cache = (f"Each file was written just before it was read; the largest "
             f"({largest / 1e9:.1f} GB) {'fits' if fits else 'does not fit'} in this machine's "
             f"{memory / 2**30:.0f} GiB, so reads "
             + ("could come from the page cache rather than the disk." if fits
                else "came partly from the disk."))
    lines = [
        "# Larger data: peak memory and throughput (benchmarks/scale.py)", "",
        f"{m['date']}, {m['cpu']}, {m['cores']} cores, torch {m['torch']}, Python "
        f"{m['python']}. Command: `{m['command']}`.", "",
        "Default model (784-400-200-100-50-25, batch 128), one epoch, uint8 rows of shifted "
        "MNIST images in one `.npy` file. Peak memory: the process's peak resident set "
        "(ru_maxrss, torch included), each measurement in a fresh process. " + cache, "",
        "| rows | file | streamed fit: peak MiB | rows/s | streamed embed: peak MiB | rows/s "
        "| in-memory fit: peak MiB | rows/s | streamed / in-memory |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sizes:
        sf, se, mf = r["stream_fit"], r["stream_embed"], r.get("memory_fit")
        mem = (f"{mf['peak_bytes'] / mib:,.0f} | {mf['rows_per_second']:,.0f} | "
               f"{sf['rows_per_second'] / mf['rows_per_second']:.0%}" if mf else "— | — | —")
        lines.append(f"| {r['rows']:,} | {r['file_bytes'] / 1e9:.2f} GB | "
                     f"{sf['peak_bytes'] / mib:,.0f} | {sf['rows_per_second']:,.0f} | "
                     f"{se['peak_bytes'] / mib:,.0f} | {se['rows_per_second']:,.0f} | {mem} |")
    first, last = sizes[0], sizes[-1]
    lines.append("")
    for key, what in (("stream_fit", "training"), ("stream_embed", "embedding")):
        growth = last[key]["peak_bytes"] / first[key]["peak_bytes"] - 1
        verdict = "met" if growth < 0.20 else "missed"
        lines.append(f"- Peak memory of streamed {what} from {first['rows']:,} to "
                     f"{last['rows']:,} rows: {growth:+.1%} (target < +20 %: {verdict}).")
    ratios = [r["stream_fit"]["rows_per_second"] / r["memory_fit"]["rows_per_second"]
              for r in sizes if r.get("memory_fit")]
    if ratios:
        verdict = "met" if min(ratios) >= 0.8 else "missed"
        lines.append(f"- Streamed training throughput / in-memory on the same rows: "
                     f"{', '.join(f'{x:.0%}' for x in ratios)} (target ≥ 80 %: {verdict}).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
