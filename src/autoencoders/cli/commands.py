"""The commands of ``autoencoders`` that use a finished run or a model (those that train one
are in ``fitting``): each turns parsed arguments into calls to the library (the run
workflow, ``autoencoders.workflow``, and the estimator) and prints the results.

Heavy libraries (torch, scikit-learn, matplotlib) are imported inside the commands, so that
``--help`` answers at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from argparse import Namespace
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._common import _log, _method_list, _request
from .fitting import cmd_demo, cmd_fit
from .parser import PROG, UsageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..estimator import AutoEncoder
    from ..workflow import DataRequest

__all__ = ["COMMANDS"]

def _write_output(args: Namespace, output: str, on_chunk: Callable[..., None] | None = None) -> int:
    """embed / reconstruct / score: chunk by chunk from the input to --out, with bounded
    memory; ``on_chunk`` sees each chunk's results (``write_outputs``)."""
    from ..estimator import AutoEncoder
    from ..inference import write_outputs
    from ..workflow import check_output, load

    request = _request(args)
    check_output(args.out, request.input, run_dir=args.run_dir, force=args.force)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    data = load(request)
    if not args.quiet:
        for note in data.notes:
            print(f"{PROG}: note: {note}", file=sys.stderr)
    writer = write_outputs(est, data.source(), args.out, output=output,
                           batch_size=args.chunk_size, id_name=request.id_name,
                           progress=not args.quiet and sys.stderr.isatty(), what=request.name,
                           on_chunk=on_chunk)
    if writer.ids_dropped:
        print(f"{PROG}: note: the ids of {request.name} are not in {args.out} (.npy holds "
              "numbers only); write .parquet or .csv to keep them", file=sys.stderr)
    if not args.quiet:
        where = "standard output" if args.out == "-" else args.out
        print(f"wrote {where}: float32 {writer.shape}", file=sys.stderr)
    return 0


def cmd_embed(args: Namespace) -> int:
    return _write_output(args, "map" if args.neighbour_map else "codes")


def cmd_reconstruct(args: Namespace) -> int:
    return _write_output(args, "reconstructions")


def cmd_score(args: Namespace) -> int:
    from ..inference import SCORE_COLUMN, Highest

    highest = Highest(args.top)
    code = _write_output(args, "scores", highest)
    with_ids = any(i is not None for _, i, _ in highest.rows)
    table = sys.stderr if args.out == "-" else sys.stdout  # stdout carries the scores then
    if highest.rows:
        print(f"{'row':>8}  " + (f"{'id':<20}  " if with_ids else "") + SCORE_COLUMN,
              file=table)
    for row, i, value in highest.rows:
        print(f"{row:>8}  " + (f"{str(i):<20}  " if with_ids else "") + f"{value:.6g}",
              file=table)
    return code


def cmd_evaluate(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..evaluation.reducers import REDUCERS, default_baselines
    from ..workflow import (
        check_unchanged,
        evaluate_run,
        evaluation_table,
        holds_the_runs_rows,
        run_data,
        run_options,
    )
    from ..workflow.folder import EVALUATION_FILES

    baselines = _method_list(args.baselines or ",".join(default_baselines()), "--baselines",
                             "baseline", REDUCERS)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    request, fit_options = _request(args), run_options(args.run_dir)  # {}: written by a script
    split = _run_split(args, request, fit_options)
    data = run_data(split)
    if split is request and holds_the_runs_rows(args.run_dir, data):  # moved or copied
        data = run_data(_run_split(args, request, fit_options, own=True))
    check_unchanged(args.run_dir, data)
    comparison = evaluate_run(est, data, args.run_dir, baselines=baselines,
                              subsample=args.subsample, k=args.k, code_maps=args.code_maps,
                              random_state=args.seed, log=_log(args))
    print(evaluation_table(comparison))
    _log(args)("wrote " + ", ".join(os.path.join(args.run_dir, f) for f in EVALUATION_FILES
                                    if os.path.exists(os.path.join(args.run_dir, f))))
    _report_predates(args, "evaluation")
    return 0


def _run_split(args: Namespace, request: DataRequest, fit_options: dict[str, Any],
               own: bool = False) -> DataRequest:
    """evaluate's data: the run's own test split of the run's own input (never rows it
    trained on; ``own``: the input holds the run's rows under another path), or the
    options' split of other data."""
    from ..workflow import with_run_split

    split = with_run_split(request, fit_options, own=own)
    if split is not request and request.input and \
            args.test_fraction not in (None, split.test_fraction):
        raise UsageError(f"--test-fraction {args.test_fraction}: the run held out its own test "
                         f"split of {args.input} (--test-fraction {split.test_fraction}, seed "
                         f"{split.seed}), and another split would score rows the model "
                         "trained on; leave --test-fraction out")
    return split


def cmd_cluster(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..evaluation.clustering import CLUSTER_METHODS
    from ..inputs import named
    from ..workflow import check_output, cluster_run, load, run_options, with_run_split
    from ..workflow.folder import CLUSTER_FILE

    if args.method not in CLUSTER_METHODS:
        raise UsageError(f"--method: unknown method {args.method!r}; choose from "
                         f"{', '.join(CLUSTER_METHODS)}")
    # The run's data set: the rows of its splits the run had (--train-size, --test-size),
    # as evaluate scores them (all 60,000 training images of a 10,000-image run took 7
    # minutes, a new-user trial).
    request = with_run_split(_request(args), run_options(args.run_dir))
    if args.out:
        check_output(args.out, request.input, run_dir=args.run_dir, force=args.force)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    data = load(request)
    if args.n_clusters is None:  # as many as the labels name, as the benchmarks score them
        if data.y is None:
            raise UsageError(f"--n-clusters K: how many clusters to find ({request.name} has "
                             "no labels to count them from; a table names its labels with "
                             "--label-column)")
        args.n_clusters = len(set(data.y.tolist()))  # any mix of names and numbers
        if args.n_clusters < 2:
            raise UsageError(f"--n-clusters K: {request.name} has one label, so its count "
                             "gives no clusters to find; give K (at least 2)")
        if args.n_clusters > len(data.y) / 2:  # values, not classes: "accuracy 1.0" of 40
            raise UsageError(f"--n-clusters K: {request.name} has {args.n_clusters} distinct "
                             f"labels for {len(data.y)} points, values rather than classes, "
                             "so their count is no number of clusters; give K")
    if len(data.X) >= 10_000:  # minutes for 60,000 images: said before they pass
        _log(args)(f"clustering {len(data.X)} points into {args.n_clusters} ({args.method}, "
                   f"{args.n_init} starts) …")
    result = cluster_run(est, named(data.source(), request.name), data.y, args.run_dir,
                         n_clusters=args.n_clusters,
                         method=args.method, n_init=args.n_init, random_state=args.seed,
                         self_labelling=args.self_labelling, labels_out=args.out,
                         description=data.description, ids=data.ids, id_name=request.id_name)
    scores = (f"accuracy {result['accuracy']:.4f}  NMI {result['nmi']:.4f}  "
              f"ARI {result['ari']:.4f}  " if "accuracy" in result else "")
    summary = sys.stderr if args.out == "-" else sys.stdout  # stdout carries the labels then
    print(f"{result['n_points']} points in {args.n_clusters} clusters ({result['method']}): "
          f"{scores}{result['seconds']:.1f} s", file=summary)
    _log(args)(f"wrote {os.path.join(args.run_dir, CLUSTER_FILE)}"
               + (f", {args.out}" if args.out not in (None, "-") else ""))
    _report_predates(args, "clustering")
    return 0


def _report_predates(args: Namespace, what: str) -> None:
    """Say that the run's report does not show what the verb just wrote (a new user
    looked for it there)."""
    from ..report import REPORT_FILE

    if os.path.exists(os.path.join(args.run_dir, REPORT_FILE)):
        _log(args)(f"note: {os.path.join(args.run_dir, REPORT_FILE)} predates this {what}; "
                   f"'autoencoders report {args.run_dir}' adds it")


def _write_picture_or_array(out: str, images: NDArray[Any], picture: Callable[..., object],
                            est: AutoEncoder, log: Callable[[str], None]) -> None:
    """A .png goes to ``picture(images, out)``; .npy, .csv, .parquet to ``write_array``,
    with the columns of the model's input (``inference.output_columns``); ``log`` says so."""
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in (".png", ".npy", ".csv", ".parquet"):
        raise UsageError(f"--out {out}: name a .png picture or a .npy, .csv or .parquet file")
    if suffix == ".png":
        picture(images, out)
        shape = tuple(images.shape)
    else:
        from ..datasets import write_array
        from ..inference import output_columns

        shape = write_array(out, images, output_columns(est, "reconstructions"))
    log(f"wrote {out}: {images.dtype} {shape}")


def cmd_denoise(args: Namespace) -> int:
    import numpy as np

    from ..datasets import Source, read_input, write_array
    from ..estimator import AutoEncoder
    from ..evaluation import reconstruction_metrics
    from ..inference import output_columns
    from ..inputs import named
    from ..plotting import plot_image_rows
    from ..workflow import check_output, corrupted_copy, load

    if not (args.out or args.figure):
        raise UsageError("denoise needs --out FILE and/or --figure PNG")
    if args.clean and args.add_noise:
        raise UsageError("--clean and --add-noise exclude each other: with --add-noise the "
                         "input itself is the clean data")
    if args.figure and not args.figure.lower().endswith(".png"):  # before the work
        raise UsageError(f"--figure {args.figure}: name a .png picture")
    request = _request(args, stream=False)
    for option, out in (("--out", args.out), ("--figure", args.figure)):
        if out:
            check_output(out, request.input, args.clean, run_dir=args.run_dir, option=option,
                         force=args.force)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    data = load(request)
    X: Any  # the data, then its named rows
    # In memory even above STREAM_ABOVE_BYTES: noise, file and figure need it (or MemoryError).
    X, clean = data.X.to_numpy() if isinstance(data.X, Source) else data.X, None
    if args.add_noise:
        clean, X = X, corrupted_copy(est, X, args.add_noise, seed=args.seed)
    elif args.clean:
        clean, _ = read_input(args.clean, image_size=args.image_size)
        if np.shape(clean) != np.shape(X):
            raise ValueError(f"{args.clean}: shape {np.shape(clean)} differs from the noisy "
                             f"data's {np.shape(X)}; give the clean originals of --input")
    # The table's column names go with the rows (the model checks them, as in Python).
    X = named(X, request.name, feature_names=data.feature_names)
    denoised = est.reconstruct(X, scaled=True)  # once; unscaled for the file
    rows = {"noisy": est.scale_input(X), "denoised": denoised}
    if clean is not None:
        rows["clean"] = est.scale_input(named(clean, args.clean))
        noisy_db = reconstruction_metrics(rows["clean"], rows["noisy"])["psnr"]
        denoised_db = reconstruction_metrics(rows["clean"], rows["denoised"])["psnr"]
        print(f"PSNR against the clean data: noisy {noisy_db:.2f} dB, denoised "
              f"{denoised_db:.2f} dB ({denoised_db - noisy_db:+.2f} dB)",
              file=sys.stderr if args.out == "-" else sys.stdout)  # stdout carries the data
    if args.figure:
        n = min(10, len(X))
        plot_image_rows({k: v[:n] for k, v in rows.items()}, args.figure,
                        title=f"Denoised by {args.run_dir}")
        _log(args)(f"wrote {args.figure}")
    if args.out:  # after the figure, which refuses data that are not images
        out = est.input_spec_.unscale(denoised)
        shape = write_array(args.out, out, output_columns(est, "reconstructions"),
                            ids=data.ids, id_name=request.id_name)
        _log(args)(f"wrote {'standard output' if args.out == '-' else args.out}: "
                   f"{out.dtype} {shape}")
    return 0


def cmd_sample(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..plotting import plot_image_grid
    from ..workflow import check_output

    check_output(args.out, run_dir=args.run_dir, force=args.force)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    images = est.sample(args.n, random_state=args.seed)
    _write_picture_or_array(args.out, images, lambda a, out: plot_image_grid(
        est.scale_input(a), out, title=f"{len(a)} samples from {args.run_dir}"), est, _log(args))
    return 0


def cmd_interpolate(args: Namespace) -> int:
    import numpy as np

    from ..datasets import Source
    from ..estimator import AutoEncoder
    from ..inputs import named
    from ..plotting import plot_image_rows
    from ..workflow import check_output, load, own_rows

    request = _request(args, stream=False)
    check_output(args.out, request.input, run_dir=args.run_dir, force=args.force)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    X = (data := load(request)).X
    for option, i in (("--from", args.index_from), ("--to", args.index_to)):
        if not 0 <= i < len(X):
            raise UsageError(f"{option} {i}: the data has {len(X)} samples (0 to {len(X) - 1})")
    start, end = (X.take([i])[0] if isinstance(X, Source) else X[i]  # Source: above 1 GiB
                  for i in (args.index_from, args.index_to))
    # Checked as the file's rows (interpolate's own errors name its Python arguments).
    est.input_spec_.check(named(np.stack([start, end]), request.name,
                                feature_names=data.feature_names))
    with own_rows(est, data.feature_names, request.name):  # a reordered table is refused
        row = est.interpolate(start, end, args.steps)
    _write_picture_or_array(args.out, row, lambda a, out: plot_image_rows(
        {f"{args.index_from} → {args.index_to}": est.scale_input(a)}, out,
        title=f"Decoded points between the codes of samples {args.index_from} and "
              f"{args.index_to}"), est, _log(args))
    return 0


def cmd_summary(args: Namespace) -> int:
    from ..models import build_model
    from ..models.summary import format_layer_table, layer_table

    if (args.run_dir is None) == (args.preset is None):
        raise UsageError("summary: give either RUN_DIR or --preset NAME")
    if args.preset:
        from ..estimator import AutoEncoder
        from ..params import architecture_from_params, preset

        params = AutoEncoder(**preset(args.preset)).get_params()
        arch = architecture_from_params(params, (28, 28), in_unit=True)
        title = (f"The {args.preset!r} preset's autoencoder on MNIST (28×28 input)"
                 + (": the reference notebook's architecture" if args.preset == "notebook" else ""))
    else:
        from ..estimator import AutoEncoder

        est = AutoEncoder.load(args.run_dir)
        arch, title = est.architecture_, f"Model in {args.run_dir}"
    model = build_model(arch)
    print(format_layer_table(layer_table(model, arch.input_shape), title))
    print(f"Output activation: {arch.output_activation} (applied to the last layer's output)")
    if args.run_dir and getattr(est, "neighbour_map_", None) is not None:
        from ..display import map_summary

        print(f"2-D map: {map_summary(est.neighbour_map_, est.map_input)}")
    return 0


def cmd_export(args: Namespace) -> int:
    from .._io import names_a_folder
    from ..estimator import AutoEncoder
    from ..export import describe_export, export_format
    from ..workflow import check_output, recorded_dataset

    if args.out == "-":
        raise UsageError("--out -: an exported model is a binary file; name one (.onnx, .pt)")
    if names_a_folder(args.out) or os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: a folder; name the file to write in it "
                         "(.onnx, .pt)")
    try:
        fmt = export_format(args.out, args.format)
    except ValueError as exc:
        raise UsageError(f"--out {exc}") from None
    check_output(args.out, run_dir=args.run_dir, force=args.force)
    # Named data sets are uint8 images: their runs take the pixels as they come.
    dtype = args.input_dtype or ("uint8" if recorded_dataset(args.run_dir) else "float32")
    est = AutoEncoder.load(args.run_dir, device="cpu")
    path = est.export(args.out, format=fmt, part=args.part, input_dtype=dtype)
    _log(args)(f"wrote {path}: {describe_export(path)}")
    return 0


def cmd_report(args: Namespace) -> int:
    from ..report import REPORT_FILE
    from ..workflow import check_output, run_lock, run_report

    if len(args.run_dirs) > 1 and not args.out:
        raise UsageError("report of several runs needs --out FILE.html")
    own = os.path.join(args.run_dirs[0], REPORT_FILE)
    out = args.out or own
    if not out.lower().endswith((".html", ".htm")):
        raise UsageError(f"--out {out}: name an .html file")
    # Into the run folder, as evaluate and cluster write theirs: under the run's lock
    # (not for a folder that is not there, which the lock would create).
    into_run = not args.out and os.path.isdir(args.run_dirs[0])
    if os.path.abspath(out) != os.path.abspath(own):  # anywhere else: no run's file
        for run in args.run_dirs:
            check_output(out, run_dir=run, force=args.force)
    with run_lock(args.run_dirs[0], "run this again then") if into_run else \
            contextlib.nullcontext():
        report = run_report(args.run_dirs, max_points=args.max_points)
        report.save(out)
    _log(args)(f"wrote {out}: {len(report.html.encode()) / 1e6:.1f} MB")
    return 0


COMMANDS = {"fit": cmd_fit, "report": cmd_report, "demo": cmd_demo, "embed": cmd_embed,
            "reconstruct": cmd_reconstruct, "score": cmd_score, "evaluate": cmd_evaluate,
            "cluster": cmd_cluster,
            "summary": cmd_summary, "denoise": cmd_denoise, "sample": cmd_sample,
            "interpolate": cmd_interpolate, "export": cmd_export}
