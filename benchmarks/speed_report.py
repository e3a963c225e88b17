"""The tables of ``benchmarks/speed.py``: its raw numbers (the ``.json`` beside
``benchmarks/results/speed.md``) rendered as Markdown; ``speed.py --render JSON`` redraws
them."""

from __future__ import annotations

import statistics

TARGET = 0.0956  # the reference notebook's final validation BCE


def seconds_to_target(history: dict) -> tuple[float | None, int | None]:
    total = 0.0
    for epoch, seconds, val in zip(history["epoch"], history["seconds"], history["val_loss"],
                                   strict=True):
        total += seconds
        if val is not None and val <= TARGET:
            return total, epoch
    return None, None


def time_to_target(run: dict) -> dict:
    """(seconds, epochs) to the target and the final test BCE of one of our runs or a Keras
    run, for the table of seeds."""
    if "history" in run:
        secs, epochs = seconds_to_target(run["history"])
        return {"seconds": secs, "epochs": epochs, "final": run["history"]["val_loss"][-1]}
    return {"seconds": run["seconds_to_target"], "epochs": run["epochs_to_target"],
            "final": run["final_val_bce"]}


def fmt(x, spec=".1f", none="—"):
    return none if x is None else format(x, spec)


def render(machine, floor, ours, nb, k_ours, k_nb, base, start, conv, evaluate,
           ours_bf16=None, fast=None, seeds=None) -> list[str]:
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
    ]
    if machine.get("code"):  # stated since 2026-12-02; earlier runs: Keras had a ReLU code
        lines += [f"Model: {machine['code']}", ""]
    lines += [
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
    fast_secs = None
    if fast is not None:  # results written before 2026-12-02's "fast" preset have none
        fh, fr = fast["history"], fast["recipe"]
        fast_secs, fast_epochs = seconds_to_target(fh)
        lines.append(f"| ours | `preset(\"fast\")` ({fr['optimizer'].capitalize()}, batch "
                     f"{fr['batch_size']}, {fr['epochs']} epochs, {fr['precision']}) | "
                     f"{fmt(fast_epochs, 'd')} | {fmt(fast_secs)} | {fh['val_loss'][-1]:.4f} |")
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
                  + (f", {ks / fast_secs:.1f}× (\"fast\")" if fast_secs else "")
                  if ks else f"Keras with our recipe did not reach the target "
                  f"({sum(k_ours['train_seconds']):.0f} s)."]
    if seeds:
        lines += ["", "### Each seed (seconds to the target, epochs in brackets; final test BCE)",
                  "", "| seed | ours, default | ours, \"fast\" | Keras, our recipe | "
                  "Keras ÷ default | Keras ÷ \"fast\" |", "| --- | --- | --- | --- | --- | --- |"]
        for seed, run in seeds.items():
            cells = [f"{fmt(r['seconds'])} ({fmt(r['epochs'], 'd')}); {r['final']:.4f}"
                     if r else "—" for r in (run["ours"], run["fast"], run.get("keras"))]
            k = (run.get("keras") or {}).get("seconds")
            ratios = [f"{k / r['seconds']:.1f}×" if k and r["seconds"] else "—"
                      for r in (run["ours"], run["fast"])]
            lines.append(f"| {seed} | " + " | ".join(cells + ratios) + " |")
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
