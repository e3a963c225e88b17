"""How fast is training and inference, side by side with Keras, on this machine?

Runs, one after another in one process group on the same machine:

1. time to quality: training seconds (evaluation excluded) until the notebook's architecture
   reaches test BCE <= 0.0956 on MNIST, for our default recipe (in float32 and under
   bfloat16 autocast, which uses the CPU's AMX or AVX-512 BF16 units) and, when TensorFlow is
   installed (``pip install -e '.[bench]'``), for Keras with the notebook's recipe and with
   ours as closely as Keras allows;
2. training throughput: images per second, achieved GFLOP/s, and the floor: FLOPs per epoch
   divided by this machine's matrix-multiply rate on the same layer shapes, measured here;
3. inference: ``transform`` throughput against Keras ``encoder.predict``, scikit-learn
   ``PCA.transform`` and umap-learn ``UMAP.transform`` on the 10,000 test images;
4. memory: peak resident memory of ``fit`` on MNIST, ours against Keras';
5. start-up: wall time of ``autoencoders --help`` and of ``import autoencoders``;
6. faithfulness: ``--preset notebook`` against Keras running the same recipe.

Each training run is a child process, so that its peak memory is its own. Prints a
Markdown table and writes ``benchmarks/results/speed.md``.

Usage: python benchmarks/speed.py [--quick] [--keras-budget SECONDS] [--out FILE]
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

import autoencoders  # noqa: F401  (before torch: sets OMP_WAIT_POLICY=PASSIVE)

HERE = Path(__file__).resolve().parent
TARGET = 0.0956  # the reference notebook's final validation BCE
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

def child_fit(preset: str, precision: str = "float32") -> None:
    """Fit on MNIST train with test as validation; print history, timings and peak RSS."""
    import torch

    from autoencoders import AutoEncoder
    from autoencoders import preset as make_preset
    from autoencoders.datasets import load_mnist

    X, _ = load_mnist("train", progress=False)
    Xt, _ = load_mnist("test", progress=False)
    ae = AutoEncoder(random_state=0, verbose=0, **{**make_preset(preset),
                                                    "precision": precision})
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


def seconds_to_target(history: dict) -> tuple[float | None, int | None]:
    total = 0.0
    for epoch, seconds, val in zip(history["epoch"], history["seconds"], history["val_loss"],
                                   strict=True):
        total += seconds
        if val is not None and val <= TARGET:
            return total, epoch
    return None, None


def keras_available() -> bool:
    try:
        import importlib.util
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:
        return False


def fmt(x, spec=".1f", none="—"):
    return none if x is None else format(x, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", metavar="CHILD",
                        help="fit-default | fit-notebook | baselines | conv | "
                             "evaluate RUN_DIR BASELINES (internal)")
    parser.add_argument("--quick", action="store_true",
                        help="skip the two 50-epoch notebook-recipe runs")
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
                    "evaluate": child_evaluate, "fit-default": lambda: child_fit("default"),
                    "fit-default-bf16": lambda: child_fit("default", "bfloat16"),
                    "fit-notebook": lambda: child_fit("notebook")}
        return children[kind](*rest) or 0

    out = Path(args.out)
    if args.render:
        raw = json.loads(Path(args.render).read_text())
        return write(render(**raw), out)

    me = [str(Path(__file__).resolve())]
    keras = keras_available()
    print("training ours (default recipe) ...", file=sys.stderr)
    ours = child_json(me + ["--child", "fit-default"], 3600)
    print("training ours (default recipe, bfloat16 autocast) ...", file=sys.stderr)
    ours_bf16 = child_json(me + ["--child", "fit-default-bf16"], 3600)
    print("measuring the matrix-multiply floor ...", file=sys.stderr)
    floor = matmul_floor(ours["recipe"]["batch_size"])
    k_ours = k_nb = nb = None
    if keras:
        print("training Keras with our recipe ...", file=sys.stderr)
        k_ours = child_json([str(HERE / "keras_reference.py"), "--recipe", "ours",
                             "--budget", str(args.keras_budget)], 7200)
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
               "command": "python benchmarks/speed.py" + (" --quick" if args.quick else "")}
    raw = {"machine": machine, "floor": floor, "ours": ours, "ours_bf16": ours_bf16, "nb": nb,
           "k_ours": k_ours, "k_nb": k_nb, "base": base, "start": start, "conv": conv,
           "evaluate": evaluate}
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


def render(machine, floor, ours, nb, k_ours, k_nb, base, start, conv, evaluate,
           ours_bf16=None) -> list[str]:
    h = ours["history"]
    # Runs before 2026-12-02 recorded no recipe: Adam at batch 128 was the default then.
    recipe = ours.get("recipe", {"optimizer": "adam", "batch_size": 128})
    secs, epochs = seconds_to_target(h)
    epoch_s = statistics.median(h["seconds"])
    lines = [
        "# Speed: the notebook's autoencoder on MNIST, ours against Keras",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores ({ours['threads']} torch "
        f"threads), {machine['platform']}; date {machine['date']}; Python "
        f"{machine['python']}, torch {machine['torch']}"
        + (f", TensorFlow {k_ours['versions']['tensorflow']}, Keras "
           f"{k_ours['versions']['keras']}" if k_ours else ", TensorFlow not installed")
        + f". Command: `{machine['command']}`. Each training run is one child process, "
        "run one after another.",
        "",
        "## 1. Time to quality (training seconds to test BCE ≤ 0.0956, evaluation excluded)",
        "",
        "| run | recipe | epochs to target | seconds to target | final test BCE |",
        "| --- | --- | --- | --- | --- |",
        f"| ours | default ({recipe['optimizer'].capitalize()}, warm-up + cosine, bias init, "
        f"batch {recipe['batch_size']}, {len(h['epoch'])} epochs) | {fmt(epochs, 'd')} | "
        f"{fmt(secs)} | "
        f"{h['val_loss'][-1]:.4f} |",
    ]
    # Results written before 2026-12-02's change have no bfloat16 run.
    bf16_secs = None
    if ours_bf16 is not None:
        bh = ours_bf16["history"]
        bf16_secs, bf16_epochs = seconds_to_target(bh)
        lines.append(f"| ours | the default with `precision=\"bfloat16\"` (autocast) | "
                     f"{fmt(bf16_epochs, 'd')} | {fmt(bf16_secs)} | {bh['val_loss'][-1]:.4f} |")
    for run, label in ((k_ours, "Keras, our recipe (Adam, cosine decay, bias init, batch 128)"),
                       (k_nb, "Keras, the notebook's recipe (SGD 1.5, batch 32)")):
        if run is None:
            continue
        reached = (fmt(run["seconds_to_target"]) if run["seconds_to_target"] is not None else
                   f"not reached in {sum(run['train_seconds']):.0f} s "
                   f"(best {run['best_val_bce']:.4f})")
        lines.append(f"| Keras | {label} | {fmt(run['epochs_to_target'], 'd')} | {reached} | "
                     f"{run['final_val_bce']:.4f} |")
    if nb is not None:
        nb_secs, nb_epochs = seconds_to_target(nb["history"])
        lines.append(f"| ours | `--preset notebook` (SGD 1.5, batch 32, 50 epochs) | "
                     f"{fmt(nb_epochs, 'd')} | {fmt(nb_secs) if nb_secs else 'not reached'} | "
                     f"{nb['history']['val_loss'][-1]:.4f} |")
    if k_ours and secs:
        ks = k_ours["seconds_to_target"]
        lines += ["", f"Speed-up against Keras with the closest recipe: {ks / secs:.1f}× "
                      "(float32)" + (f", {ks / bf16_secs:.1f}× (bfloat16)" if bf16_secs else "")
                  if ks else f"Keras with our recipe did not reach the target "
                  f"({sum(k_ours['train_seconds']):.0f} s)."]
    if nb is not None and k_nb is not None:
        diff = nb["history"]["val_loss"][-1] - k_nb["final_val_bce"]
        lines += ["", f"Faithfulness: `--preset notebook` ended at "
                      f"{nb['history']['val_loss'][-1]:.4f}, Keras with the same recipe at "
                      f"{k_nb['final_val_bce']:.4f} (difference {diff:+.4f}; target |Δ| ≤ 0.005)."]
    achieved = floor["flops_per_epoch"] / epoch_s / 1e9
    lines += [
        "",
        f"## 2. Training throughput (default recipe: {recipe['optimizer']}, batch "
        f"{recipe['batch_size']})",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| seconds per epoch (median) | {epoch_s:.2f} |",
        f"| images per second | {60000 / epoch_s:,.0f} |",
        f"| FLOPs per epoch (6 × weights × images) | {floor['flops_per_epoch'] / 1e12:.3f} T |",
        f"| achieved | {achieved:.1f} GFLOP/s |",
        f"| floor: the layers' GEMMs alone, measured here | "
        f"{floor['floor_epoch_seconds']:.2f} s per epoch ({floor['matmul_gflops']:.1f} GFLOP/s) |",
        f"| achieved / floor | {floor['floor_epoch_seconds'] / epoch_s:.0%} |",
    ]
    if k_ours:
        k_epoch = statistics.median(k_ours["train_seconds"])
        lines.append(f"| Keras, our Adam recipe (batch 128): seconds per epoch | {k_epoch:.2f} |")
    if recipe["optimizer"] == "muon":
        lines += ["", "Muon's Newton–Schulz iterations on the hidden weight matrices are not in "
                      "the FLOPs above or in the floor: they are part of what the epoch costs."]
    conv_s = statistics.median(conv["history"]["seconds"])
    cf, df = conv["flops_per_epoch"]["conv"], conv["flops_per_epoch"]["dense"]
    # Runs before 2026-12-02 timed the dense epoch in section 1's process only.
    dense_s = statistics.median(conv.get("dense_history", h)["seconds"])
    lines += [
        "",
        "## 2b. A convolutional epoch against a dense one (default models)",
        "",
        ("Both timed in one process, one after the other. " if "dense_history" in conv
         else "") + "FLOPs of one training step counted by `torch.utils.flop_counter` "
        "(forward and backward), scaled to 60,000 images.",
        "",
        "| model | seconds per epoch (median) | TFLOP per epoch | achieved GFLOP/s |",
        "| --- | --- | --- | --- |",
        f"| dense (the notebook's) | {dense_s:.2f} | {df / 1e12:.3f} | "
        f"{df / dense_s / 1e9:.1f} |",
        f"| conv (3×3 stride 2, channels {conv['channels']}) | {conv_s:.2f} | "
        f"{cf / 1e12:.3f} | {cf / conv_s / 1e9:.1f} |",
        "",
        f"Conv ÷ dense: {conv_s / dense_s:.2f}× the time for {cf / df:.2f}× the FLOPs "
        f"(target: ≤ 2× the time).",
    ]
    lines += [
        "",
        "## 3. Inference on the 10,000 test images (images per second)",
        "",
        "| method | images/s | ours ÷ it |",
        "| --- | --- | --- |",
        f"| ours, `transform` | {ours['transform_images_per_second']:,.0f} | 1.0 |",
    ]
    for name, ips in (("Keras `encoder.predict`",
                       k_ours["predict_images_per_second"] if k_ours else None),
                      ("scikit-learn `PCA.transform` (25 components)",
                       base["pca_images_per_second"]),
                      ("umap-learn `UMAP.transform` (2-D)", base["umap_images_per_second"])):
        if ips:
            lines.append(f"| {name} | {ips:,.0f} | "
                         f"{ours['transform_images_per_second'] / ips:.2f} |")
    lines += [
        "",
        "## 4. Peak resident memory of `fit` on MNIST",
        "",
        "| run | peak RSS |",
        "| --- | --- |",
        f"| ours | {ours['fit_peak_rss_bytes'] / 2**20:,.0f} MiB |",
    ]
    if k_ours:
        lines.append(f"| Keras (our recipe) | {k_ours['fit_peak_rss_bytes'] / 2**20:,.0f} MiB |")
    if k_nb:
        lines.append(f"| Keras (notebook recipe) | {k_nb['fit_peak_rss_bytes'] / 2**20:,.0f} MiB |")
    lines += [
        "",
        "## 5. Start-up (median of 7)",
        "",
        "| command | seconds |",
        "| --- | --- |",
        f"| `autoencoders --help` | {start['help']:.3f} |",
        f"| `python -c 'import autoencoders'` | {start['import']:.3f} |",
        f"| `python -c 'from autoencoders import AutoEncoder'` (target ≤ 1 s) | "
        f"{start['estimator']:.3f} |",
        f"| of which at least: `python -c 'import torch'` | {start['torch']:.3f} |",
        f"| and: `python -c 'import sklearn.base'` | {start['sklearn.base']:.3f} |",
        "",
        "## 6. `autoencoders evaluate` on a fresh demo run (`autoencoders demo`; TensorFlow "
        "hidden from umap-learn, as in a default install)",
        "",
        "| baselines | wall seconds (target ≤ 90) | peak RSS (target ≤ 1 GiB) | "
        "training points | slowest baseline (fit + transform s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, run in evaluate.items():
        base_rows = {k: v for k, v in run["methods"].items()
                     if k not in ("raw", "autoencoder", "autoencoder_map")}
        slow = max(base_rows, key=lambda k: base_rows[k]["fit_seconds"]
                   + base_rows[k]["transform_seconds"])
        slow_s = base_rows[slow]["fit_seconds"] + base_rows[slow]["transform_seconds"]
        lines.append(f"| {name} | {run['seconds']:.1f} | "
                     f"{run['peak_rss_bytes'] / 2**20:,.0f} MiB | {run['n_train']:,} | "
                     f"{slow} ({slow_s:.1f}) |")
    lines += [
        "",
        "## On a GPU (on paper here; `benchmarks/gpu.py` measures it where a GPU is lent)",
        "",
        f"One epoch is {floor['flops_per_epoch'] / 1e12:.2f} TFLOP. At a sustained 50 TFLOP/s "
        "(a fraction of an H100's dense FP32/TF32 rate) that is under 10 ms of arithmetic; "
        "with batches of 128 the 469 steps per epoch are bound by kernel launches "
        "(~10 kernels × 3 per layer per step at ~5 µs each ≈ 0.15 s per epoch) unless "
        "batches grow or the step is captured in a CUDA graph.",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
