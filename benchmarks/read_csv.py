"""Reading a CSV of MNIST pixels: our reader through pyarrow, our reference reader, and
pandas, side by side.

The file: the 10,000 MNIST test images as an ``id`` column and 784 integer pixel columns
with a header (about 19 MB). Each reader runs in a fresh child process (so that one's
memory does not count against the next), three times; the table gives the median seconds
of ``autoencoders.datasets.read_input`` (or ``pandas.read_csv``) and the child's peak
resident memory (``ru_maxrss``) above an interpreter that has imported the same modules.

Prints Markdown and writes benchmarks/results/read_csv.md (and read_csv.json).

Usage: python benchmarks/read_csv.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _results import machine, mnist, write_results  # benchmarks/_results.py

HERE = Path(__file__).resolve().parent
REPEATS = 3
#: Each child: import, note the peak memory, read, report seconds and the peak's growth.
CHILD = """
import json, resource, sys, time
import numpy as np
import autoencoders.datasets.csvfile as csvfile
from autoencoders.datasets import read_input
kind, path = sys.argv[1], sys.argv[2]
if kind == "pandas":
    import pandas
if kind == "fast":
    import pyarrow.csv  # imported before the clock, as pandas is
if kind == "reference":
    csvfile._read_with_pyarrow = lambda *args: None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if kind == "pandas":
    X = pandas.read_csv(path, index_col="id").to_numpy(dtype=np.float32)
else:
    X, _ = read_input(path)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "shape": list(X.shape)}))
"""
READERS = {"ours, through pyarrow (the default with pyarrow installed)": "fast",
           "ours, reference reader (without pyarrow)": "reference",
           "pandas.read_csv (for comparison)": "pandas"}


def main() -> int:
    _, _, Xt, _ = mnist(False)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist_test.csv"
        flat = Xt.reshape(len(Xt), -1)
        with open(path, "w") as f:
            f.write("id," + ",".join(f"p{i}" for i in range(flat.shape[1])) + "\n")
            np.savetxt(f, np.column_stack([np.arange(len(flat)), flat]), fmt="%d",
                       delimiter=",")
        size_mb = path.stat().st_size / 1e6
        for name, kind in READERS.items():
            runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, kind, str(path)],
                                              check=True, capture_output=True,
                                              text=True).stdout) for _ in range(REPEATS)]
            assert all(r["shape"] == [10000, 784] for r in runs)
            rows.append({"reader": name, "seconds": statistics.median(r["seconds"] for r in runs),
                         "peak_mb": statistics.median(r["peak_mb"] for r in runs)})
            print(rows[-1], file=sys.stderr)
    m = machine()
    fast, slow = rows[0], rows[1]
    lines = ["# Reading a CSV: 10,000 MNIST test images (784 pixel columns and an id)", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}; `{m['command']}`. A {size_mb:.0f} "
             f"MB file; each reader in a fresh process, median of {REPEATS}; memory is the "
             "process's peak resident size above what it held after its imports.", "",
             "| reader | seconds | peak memory MB |", "| --- | --- | --- |"]
    lines += [f"| {r['reader']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} |" for r in rows]
    lines += ["", f"pyarrow against the reference reader: {slow['seconds'] / fast['seconds']:.1f}× "
              f"faster, {fast['peak_mb'] / max(slow['peak_mb'], 1):.1f}× the memory. The peak "
              "is a high-water mark: a reader whose imports peaked higher than its reading "
              "shows 0.", ""]
    text = "\n".join(lines)
    print(text)
    write_results(HERE / "results" / "read_csv.md", {"machine": m, "rows": rows}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
