"""How fast is training and inference, side by side with Keras, on this machine?

Runs, one after another in one process group on the same machine:

1. time to quality: training seconds (evaluation excluded) until the notebook's architecture
   reaches test BCE <= 0.0956 on MNIST, for our default recipe (in float32 and under
   bfloat16 autocast, which uses the CPU's AMX or AVX-512 BF16 units), for ``preset("fast")``
   and, when TensorFlow is installed (``pip install -e '.[bench]'``), for Keras with the
   notebook's recipe and with ours as closely as Keras allows; the default, "fast" and
   Keras with our recipe again on each further seed of ``--seeds``;
2. training throughput: images per second, achieved GFLOP/s, and the floor: FLOPs per epoch
   divided by this machine's matrix-multiply rate on the same layer shapes, measured here;
3. inference: ``transform`` throughput against Keras ``encoder.predict``, scikit-learn
   ``PCA.transform`` and umap-learn ``UMAP.transform`` on the 10,000 test images;
4. memory: peak resident memory of ``fit`` on MNIST, ours against Keras';
5. start-up: wall time of ``autoencoders --help`` and of ``import autoencoders``;
6. faithfulness: ``--preset notebook`` against Keras running the same recipe.

Each training run is a child process, so that its peak memory is its own. Prints a
Markdown table and writes ``benchmarks/results/speed.md``.

Usage: python benchmarks/speed.py [--quick] [--seeds 0 1 2] [--keras-budget SECONDS] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speed_report import render, time_to_target  # benchmarks/speed_report.py

import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)

HERE = Path(__file__).resolve().parent
LAYERS = [(784, 400), (400, 200), (200, 100), (100, 50), (50, 25),
          (25, 50), (50, 100), (100, 200), (200, 400), (400, 784)]


def child_json(args: list[str], timeout: float) -> dict:
    """Run a Python child and parse the JSON on the last line of its stdout."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ children (run via --child)

def child_fit(preset: str, precision: str | None = None, seed: str = "0") -> None:
    """Fit on MNIST train with test as validation; print history, timings and peak RSS."""
    import torch

    from autoencoders import AutoEncoder
    from autoencoders import preset as make_preset
    from autoencoders.datasets import load_mnist

    X, _ = load_mnist("train", progress=False)
    Xt, _ = load_mnist("test", progress=False)
    params = make_preset(preset) | ({"precision": precision} if precision else {})
    ae = AutoEncoder(random_state=int(seed), verbose=0, **params)
    ae.fit(X, validation_data=Xt)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ae.transform(Xt[:1000])  # warm-up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        ae.transform(Xt)
        times.append(time.perf_counter() - start)
    print(json.dumps({"history": ae.history_, "fit_peak_rss_bytes": peak,
                      "transform_images_per_second": len(Xt) / min(times),
                      "threads": torch.get_num_threads(), "recipe": ae.recipe_.to_dict()}))


def child_conv(epochs: int = 3) -> None:
    """Seconds per epoch of the default dense and convolutional autoencoders on MNIST, one
    after the other in this process (timed in two processes, the ratio took this shared
    machine's swings: 4.29× against 1.72× side by side in benchmarks/conv.py, 2026-12-02)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from autoencoders import AutoEncoder
    from autoencoders.datasets import load_mnist

    X, _ = load_mnist("train", progress=False)
    dense = AutoEncoder(epochs=epochs, random_state=0, verbose=0).fit(X)
    ae = AutoEncoder(architecture="conv", epochs=epochs, random_state=0, verbose=0,
                     neighbour_map=False).fit(X)
    flops = {}
    for name, model in (("conv", ae.model_), ("dense", AutoEncoder(epochs=1, verbose=0)
                                              .fit(X[:256]).model_)):
        batch = torch.rand(128, 28, 28)
        with FlopCounterMode(display=False) as counter:  # forward and backward of a step
            torch.nn.functional.binary_cross_entropy_with_logits(
                model(batch), batch).backward()
        flops[name] = counter.get_total_flops() / 128 * 60000
    print(json.dumps({"history": ae.history_, "dense_history": dense.history_,
                      "dense_recipe": dense.recipe_.to_dict(), "threads": torch.get_num_threads(),
                      "flops_per_epoch": flops,
                      "channels": ", ".join(map(str, ae.architecture_.channels))}))


def child_evaluate(run_dir: str, baselines: str) -> None:
    """``autoencoders evaluate RUN_DIR --dataset mnist`` in this process: wall seconds and
    peak RSS (the process's own: its parent's children are not counted).

    TensorFlow is hidden, as in a default install: umap-learn imports it whenever it is
    installed (for ParametricUMAP, which ``evaluate`` never uses), and this machine has it
    only for the Keras comparison."""
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import fails at once
    from autoencoders.cli import main as cli

    argv = ["evaluate", run_dir, "--dataset", "mnist", "-q"]
    if baselines != "default":
        argv += ["--baselines", baselines]
    start = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = cli(argv)
    seconds = time.perf_counter() - start
    if code:
        raise SystemExit(code)
    ev = json.loads((Path(run_dir) / "evaluation.json").read_text())
    print(json.dumps({"seconds": seconds, "methods": ev["methods"],
                      "n_train": ev["settings"]["n_train"],
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                      * 1024}))


def child_baselines() -> None:
    """PCA (25 components) and UMAP (2-D) fitted on 10,000 training images; transform speed."""
    import numpy as np
    from sklearn.decomposition import PCA

    from autoencoders.datasets import load_mnist

    X = load_mnist("train", progress=False)[0][:10000].reshape(10000, -1) / 255.0
    Xt = load_mnist("test", progress=False)[0].reshape(10000, -1) / 255.0
    X, Xt = X.astype(np.float32), Xt.astype(np.float32)
    out = {}
    pca = PCA(n_components=25, random_state=0).fit(X)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        pca.transform(Xt)
        times.append(time.perf_counter() - start)
    out["pca_images_per_second"] = len(Xt) / min(times)
    try:
        import umap
    except ImportError:
        out["umap_images_per_second"] = None
    else:
        reducer = umap.UMAP(n_components=2, random_state=0).fit(X)
        reducer.transform(Xt[:100])  # compile numba kernels
        start = time.perf_counter()
        reducer.transform(Xt)
        out["umap_images_per_second"] = len(Xt) / (time.perf_counter() - start)
    print(json.dumps(out))


# ------------------------------------------------------------------ measurements in this process

def matmul_floor(batch: int = 128, repeats: int = 50) -> dict:
    """Seconds per epoch if only the layers' matrix multiplies ran, at this machine's rate.

    Each Linear layer of the notebook's model costs three GEMMs per step: forward
    (B×in)·(in×out), input gradient (B×out)·(out×in), weight gradient (out×B)·(B×in).
    """
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    step = 0.0
    for n_in, n_out in LAYERS:
        a, w = torch.randn(batch, n_in), torch.randn(n_in, n_out)
        g = torch.randn(batch, n_out)
        for left, right in ((a, w), (g, w.T), (g.T, a)):
            for _ in range(5):
                left @ right
            start = time.perf_counter()
            for _ in range(repeats):
                left @ right
            step += (time.perf_counter() - start) / repeats
    n_steps = -(-60000 // batch)
    flops = 6 * 60000 * sum(i * o for i, o in LAYERS)
    return {"floor_epoch_seconds": step * n_steps, "flops_per_epoch": flops,
            "matmul_gflops": flops / (step * n_steps) / 1e9}


def startup() -> dict:
    exe = Path(sys.executable).with_name("autoencoders")
    out = {}
    for name, cmd in (("help", [str(exe), "--help"]),
                      ("import", [sys.executable, "-c", "import autoencoders"]),
                      ("estimator", [sys.executable, "-c",
                                     "from autoencoders import AutoEncoder"]),
                      ("torch", [sys.executable, "-c", "import torch"]),
                      ("sklearn.base", [sys.executable, "-c", "import sklearn.base"])):
        times = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    return out


def keras_available() -> bool:
    try:
        import importlib.util
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", metavar="CHILD",
                        help="fit-default | fit-notebook | baselines | conv | "
                             "evaluate RUN_DIR BASELINES (internal)")
    parser.add_argument("--quick", action="store_true",
                        help="skip the two 50-epoch notebook-recipe runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the time-to-quality runs (the first one's run "
                             "fills the other sections too)")
    parser.add_argument("--keras-budget", type=float, default=1200.0,
                        help="seconds of training after which a Keras run stops")
    parser.add_argument("--out", default=str(HERE / "results" / "speed.md"),
                        help="the Markdown table; the raw numbers go beside it as .json")
    parser.add_argument("--render", metavar="JSON",
                        help="only re-render the table from a saved .json of an earlier run")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        children = {"baselines": child_baselines, "conv": child_conv,
                    "evaluate": child_evaluate,
                    "fit-default": lambda seed="0": child_fit("default", seed=seed),
                    "fit-default-bf16": lambda: child_fit("default", "bfloat16"),
                    "fit-fast": lambda seed="0": child_fit("fast", seed=seed),
                    "fit-notebook": lambda: child_fit("notebook")}
        return children[kind](*rest) or 0

    out = Path(args.out)
    if args.render:
        raw = json.loads(Path(args.render).read_text())
        return write(render(**raw), out)

    me = [str(Path(__file__).resolve())]
    keras = keras_available()
    seeds = {}
    for seed in map(str, args.seeds):
        print(f"seed {seed}: ours (default recipe, then 'fast') ...", file=sys.stderr)
        run = {"ours": child_json(me + ["--child", "fit-default", seed], 3600),
               "fast": child_json(me + ["--child", "fit-fast", seed], 3600)}
        if keras:
            print(f"seed {seed}: Keras with our recipe ...", file=sys.stderr)
            run["keras"] = child_json([str(HERE / "keras_reference.py"), "--recipe", "ours",
                                       "--seed", seed, "--budget", str(args.keras_budget)],
                                      7200)
        seeds[seed] = run
    first = seeds[str(args.seeds[0])]
    ours, fast, k_ours = first["ours"], first["fast"], first.get("keras")
    print("training ours (default recipe, bfloat16 autocast) ...", file=sys.stderr)
    ours_bf16 = child_json(me + ["--child", "fit-default-bf16"], 3600)
    print("measuring the matrix-multiply floor ...", file=sys.stderr)
    floor = matmul_floor(ours["recipe"]["batch_size"])
    k_nb = nb = None
    if not args.quick:
        print("training ours with --preset notebook ...", file=sys.stderr)
        nb = child_json(me + ["--child", "fit-notebook"], 7200)
        if keras:
            print("training Keras with the notebook's recipe (the longest step) ...",
                  file=sys.stderr)
            k_nb = child_json([str(HERE / "keras_reference.py"), "--recipe", "notebook",
                               "--budget", str(args.keras_budget)], 7200)
    print("training the convolutional model ...", file=sys.stderr)
    conv = child_json(me + ["--child", "conv"], 3600)
    print("baselines and start-up ...", file=sys.stderr)
    base = child_json(me + ["--child", "baselines"], 3600)
    start = startup()
    print("the demo run, then evaluate on it (default baselines, then pca,tsne) ...",
          file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(Path(sys.executable).with_name("autoencoders")), "demo", "--out",
                        tmp + "/demo", "-q", "--no-report"], check=True)
        evaluate = {b: child_json(me + ["--child", "evaluate", tmp + "/demo", b], 3600)
                    for b in ("default", "pca,tsne")}

    import torch

    machine = {"cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)),
               "platform": platform.platform(), "python": platform.python_version(),
               "torch": torch.__version__, "date": datetime.date.today().isoformat(),
               "command": "python benchmarks/speed.py" + (" --quick" if args.quick else "")
               + " --seeds " + " ".join(map(str, args.seeds)),
               "code": "the notebook's widths (784-400-200-100-50-25, mirrored, ReLU, sigmoid "
                       "output); ours and Keras with our recipe with a linear 25-unit code "
                       "(our estimator's default), the notebook's recipe with its ReLU code "
                       "(`benchmarks/recipe.py` times our recipes with the ReLU code)."}
    raw = {"machine": machine, "floor": floor, "ours": ours, "ours_bf16": ours_bf16, "nb": nb,
           "k_ours": k_ours, "k_nb": k_nb, "base": base, "start": start, "conv": conv,
           "evaluate": evaluate, "fast": fast,
           "seeds": {s: {k: time_to_target(v) for k, v in run.items()}
                     for s, run in seeds.items()}}
    _atomic_text(out.with_suffix(".json"), json.dumps(raw, indent=1) + "\n")
    return write(render(**raw), out)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write(lines: list[str], out: Path) -> int:
    text = "\n".join(lines) + "\n"
    print(text)
    _atomic_text(out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
