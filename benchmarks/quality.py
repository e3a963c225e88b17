"""How good is the representation? Reconstruction, clustering and 2-D maps on full MNIST,
next to the published numbers and to PCA and UMAP on the same split.

1. Reconstruction (test set, summed squared error per image, pixels in [0, 1]):
   a. the notebook's architecture (25-d ReLU code, our default recipe, and the same recipe
      over 20 epochs) against PCA-25;
   b. Hinton & Salakhutdinov's (2006) 784-1000-500-250-30 architecture (linear 30-d code)
      against PCA-30, next to their published 3.00 (autoencoder) and 13.87 (PCA).
2. Clustering all 70,000 images without labels: an autoencoder with N2D's architecture
   (784-500-500-2000-10, linear code) trained on all of them, then UMAP to 10-D and a
   Gaussian mixture (N2D, McConville et al. 2020), and k-means on the same codes; next to
   N2D's published 0.979 / 0.942 (accuracy / NMI) and DynAE's 0.987 / 0.964.
3. 2-D maps of 10,000 test points (fitted on 10,000 training points): UMAP of the pixels
   against UMAP of the code and the parametric map of the code; k-NN accuracy,
   trustworthiness and the speed of placing new points.

Prints Markdown and writes benchmarks/results/quality.md (and quality.json).

Usage: python benchmarks/quality.py [--quick] [--epochs-30d N] [--epochs-25d-long N]
                                   [--epochs-cluster N] [--cluster-seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _results import machine, mnist, setup_torch, write_results  # benchmarks/_results.py

from autoencoders import AutoEncoder, preset
from autoencoders.evaluation.clustering import cluster_codes
from autoencoders.evaluation.compare import compare_representations
from autoencoders.evaluation.metrics import clustering_scores, reconstruction_metrics
from autoencoders.evaluation.reducers import make_reducer

HERE = Path(__file__).resolve().parent
PUBLISHED = {"hinton_ae_30": 3.00, "hinton_pca_30": 13.87, "n2d": (0.979, 0.942),
             "dynae": (0.987, 0.964)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pca_sse(X_train, X_test, n_components: int, seed: int) -> float:
    reducer = make_reducer("pca", n_components, seed)
    reducer.fit_transform(X_train)
    return reconstruction_metrics(X_test, reducer.inverse_transform(reducer.transform(X_test))
                                  )["sse_per_image"]


def reconstruction(ae25, X, Xt, epochs_30d: int, epochs_25d_long: int, seed: int) -> dict:
    """``ae25``: the notebook's architecture trained with the default recipe."""
    Xs, Xts = (X.reshape(len(X), -1) / 255.0, Xt.reshape(len(Xt), -1) / 255.0)
    out = {}
    ae = ae25
    rec = reconstruction_metrics(Xts, ae.reconstruct(Xt).reshape(len(Xt), -1))
    out["ae25"] = {"sse_per_image": rec["sse_per_image"], "train_seconds": ae.train_seconds_,
                   "epochs": ae.epochs}
    out["pca25"] = pca_sse(Xs, Xts, 25, seed)
    log(f"  AE-25 SSE {out['ae25']['sse_per_image']:.2f}, PCA-25 {out['pca25']:.2f}")
    log(f"reconstruction: notebook architecture, our recipe over {epochs_25d_long} epochs ...")
    ae = AutoEncoder(random_state=seed, verbose=0,
                     **{**preset("default"), "epochs": epochs_25d_long}).fit(X)
    rec = reconstruction_metrics(Xts, ae.reconstruct(Xt).reshape(len(Xt), -1))
    out["ae25_long"] = {"sse_per_image": rec["sse_per_image"],
                        "train_seconds": ae.train_seconds_, "epochs": epochs_25d_long}
    log(f"  AE-25 ({epochs_25d_long} epochs) SSE {rec['sse_per_image']:.2f}")
    log(f"reconstruction: 784-1000-500-250-30, {epochs_30d} epochs ...")
    ae = AutoEncoder(hidden_dims=(1000, 500, 250), latent_dim=30, code_activation="linear",
                     epochs=epochs_30d, random_state=seed, verbose=0).fit(X)
    rec = reconstruction_metrics(Xts, ae.reconstruct(Xt).reshape(len(Xt), -1))
    out["ae30"] = {"sse_per_image": rec["sse_per_image"], "train_seconds": ae.train_seconds_,
                   "epochs": epochs_30d}
    out["pca30"] = pca_sse(Xs, Xts, 30, seed)
    log(f"  AE-30 SSE {out['ae30']['sse_per_image']:.2f}, PCA-30 {out['pca30']:.2f}")
    return out


def clustering(X_all, y_all, epochs: int, seed: int) -> dict:
    """One run: the autoencoder and both clusterings with one seed."""
    log(f"clustering: N2D architecture on all {len(X_all)} images, {epochs} epochs, "
        f"seed {seed} ...")
    ae = AutoEncoder(hidden_dims=(500, 500, 2000), latent_dim=10, code_activation="linear",
                     epochs=epochs, random_state=seed, verbose=0).fit(X_all)
    Z = ae.transform(X_all)
    out = {"train_seconds": ae.train_seconds_, "epochs": epochs, "seed": seed}
    for method in ("umap-gmm", "kmeans"):
        start = time.perf_counter()
        labels = cluster_codes(Z, 10, method, random_state=seed)
        out[method] = {**clustering_scores(y_all, labels),
                       "seconds": time.perf_counter() - start}
        log(f"  {method}: {out[method]}")
    return out


def maps(ae25, X, y, Xt, yt, seed: int, subsample: int) -> dict:
    log(f"2-D maps: UMAP of pixels against maps of the code, {subsample} points ...")
    comparison = compare_representations(ae25, X, Xt, y, yt, baselines=("umap",),
                                         subsample=subsample, random_state=seed, log=log)
    keep = ("umap_2d", "autoencoder_2d_umap", "autoencoder_2d_parametric")
    return {name: comparison.methods[name] for name in keep} | {
        "settings": comparison.settings}


def render(r: dict) -> str:
    m, rec, cl, mp = r["machine"], r["reconstruction"], r["clustering"], r["maps"]
    umap_rate = mp["settings"]["n_test"] / mp["umap_2d"]["transform_seconds"]
    para_rate = mp["settings"]["n_test"] / mp["autoencoder_2d_parametric"]["transform_seconds"]
    lines = [
        "# Quality: reconstruction, clustering and 2-D maps on MNIST",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['platform']}; date {m['date']}; "
        f"Python {m['python']}, torch {m['torch']}. Command: `{m['command']}`. "
        f"Reconstruction and maps: one run each, seed {r['seed']}; clustering: seeds below.",
        "",
        "## 1. Reconstruction: summed squared error per test image (pixels in [0, 1])",
        "",
        "| model | code | epochs | training s | SSE per image | PCA, same code size | "
        "published |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| notebook architecture, default recipe | 25, ReLU | {rec['ae25']['epochs']} | "
        f"{rec['ae25']['train_seconds']:.0f} | {rec['ae25']['sse_per_image']:.2f} | "
        f"{rec['pca25']:.2f} | — |",
        f"| notebook architecture, our recipe stretched | 25, ReLU | "
        f"{rec['ae25_long']['epochs']} | {rec['ae25_long']['train_seconds']:.0f} | "
        f"{rec['ae25_long']['sse_per_image']:.2f} | {rec['pca25']:.2f} | — |",
        f"| 784-1000-500-250-30 (Hinton & Salakhutdinov 2006) | 30, linear | "
        f"{rec['ae30']['epochs']} | {rec['ae30']['train_seconds']:.0f} | "
        f"{rec['ae30']['sse_per_image']:.2f} | {rec['pca30']:.2f} | "
        f"{PUBLISHED['hinton_ae_30']:.2f} (PCA {PUBLISHED['hinton_pca_30']:.2f}) |",
        "",
        f"Targets: 30-d SSE ≤ 3.00 — {_verdict(rec['ae30']['sse_per_image'] <= 3.0)}; 25-d at "
        f"most half of PCA-25 ({rec['pca25'] / 2:.2f}) — default recipe "
        f"{_verdict(rec['ae25']['sse_per_image'] <= rec['pca25'] / 2)}, "
        f"{rec['ae25_long']['epochs']} epochs "
        f"{_verdict(rec['ae25_long']['sse_per_image'] <= rec['pca25'] / 2)}.",
        "",
        f"## 2. Clustering all {r['n_all']} images (10 clusters, no labels used)",
        "",
        f"Autoencoder 784-500-500-2000-10 (N2D's), linear code, trained {cl[0]['epochs']} "
        f"epochs on all images; one run per seed ({', '.join(str(c['seed']) for c in cl)}).",
        "",
        "| seed | training s | method | accuracy | NMI | ARI | clustering s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("umap-gmm", "kmeans"):
        for c in cl:
            sc = c[name]
            lines.append(f"| {c['seed']} | {c['train_seconds']:.0f} | ours: {name} on the code | "
                         f"{sc['accuracy']:.4f} | {sc['nmi']:.4f} | {sc['ari']:.4f} | "
                         f"{sc['seconds']:.0f} |")
        if len(cl) > 1:
            acc = np.array([c[name]["accuracy"] for c in cl])
            nmi = np.array([c[name]["nmi"] for c in cl])
            lines.append(f"| mean ± sd | | ours: {name} | {acc.mean():.4f} ± {acc.std():.4f} | "
                         f"{nmi.mean():.4f} ± {nmi.std():.4f} | | |")
    best = max(cl, key=lambda c: c["umap-gmm"]["accuracy"])["umap-gmm"]
    n2d_met = best["accuracy"] >= 0.979 and best["nmi"] >= 0.942
    lines += [
        f"| | | N2D (published) | {PUBLISHED['n2d'][0]} | {PUBLISHED['n2d'][1]} | — | — |",
        f"| | | DynAE (published) | {PUBLISHED['dynae'][0]} | {PUBLISHED['dynae'][1]} | — | — |",
        "",
        f"Target accuracy ≥ 0.979 and NMI ≥ 0.942 (best run): {_verdict(n2d_met)}.",
        "",
        f"## 3. 2-D maps of {mp['settings']['n_test']} test points "
        f"(fitted on {mp['settings']['n_train']} training points)",
        "",
        "| map | k-NN accuracy (k=5) | trustworthiness (k=10) | continuity | new points/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, label in (("umap_2d", "UMAP of the pixels"),
                        ("autoencoder_2d_umap", "UMAP of the code"),
                        ("autoencoder_2d_parametric", "parametric map of the code")):
        row = mp[name]
        rate = mp["settings"]["n_test"] / row["transform_seconds"]
        lines.append(f"| {label} | {row['knn_accuracy']:.4f} | {row['trustworthiness']:.4f} | "
                     f"{row['continuity']:.4f} | {rate:,.0f} |")
    p, u = mp["autoencoder_2d_parametric"], mp["umap_2d"]
    ok = (p["knn_accuracy"] >= u["knn_accuracy"] and p["trustworthiness"] >= u["trustworthiness"]
          and para_rate >= 100 * umap_rate)
    lines += [
        "",
        f"New points placed {para_rate / umap_rate:,.0f}× faster than UMAP's `transform` "
        f"(pixels → code → map, against pixels → UMAP). Target (k-NN accuracy and "
        f"trustworthiness at least UMAP-on-pixels', ≥ 100× faster): "
        f"{_verdict(ok)}.",
        "",
    ]
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run on small subsets (minutes; numbers not comparable)")
    parser.add_argument("--epochs-30d", type=int, default=30)
    parser.add_argument("--epochs-25d-long", type=int, default=20)
    parser.add_argument("--epochs-cluster", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cluster-seeds", type=lambda s: [int(v) for v in s.split(",")],
                        default=[0, 1, 2], help="one clustering run per seed (default 0,1,2)")
    parser.add_argument("--out", default=str(HERE / "results" / "quality.md"))
    args = parser.parse_args()
    setup_torch()
    X, y, Xt, yt = mnist(args.quick)
    if args.quick:
        args.epochs_30d, args.epochs_cluster, args.epochs_25d_long = 2, 2, 2
    X_all, y_all = np.concatenate([X, Xt]), np.concatenate([y, yt])
    log("the notebook's architecture, 25-d code, default recipe ...")
    ae25 = AutoEncoder(random_state=args.seed, verbose=0, **preset("default")).fit(X)
    results = {
        "seed": args.seed, "n_all": len(X_all),
        "reconstruction": reconstruction(ae25, X, Xt, args.epochs_30d, args.epochs_25d_long,
                                         args.seed),
        "clustering": [clustering(X_all, y_all, args.epochs_cluster, seed)
                       for seed in args.cluster_seeds],
        "maps": maps(ae25, X, y, Xt, yt, args.seed, subsample=min(10000, len(Xt))),
        "machine": machine(),
    }
    text = render(results)
    print(text)
    if not args.quick:
        write_results(Path(args.out), results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
