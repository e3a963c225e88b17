"""The commands of ``autoencoders``: each turns parsed arguments into calls to the library
(the run workflow, ``autoencoders.workflow``, and the estimator) and prints the results.

Heavy libraries (torch, scikit-learn, matplotlib) are imported inside the commands, so that
``--help`` answers at once.
"""

from __future__ import annotations

import os
import shlex
import sys
from argparse import Namespace
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .options_file import RESUME_OPTIONS, config_text, resume_args
from .parser import PROG, UsageError, build_parser

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..estimator import AutoEncoder
    from ..workflow import DataRequest

__all__ = ["COMMANDS"]

#: CLI options whose estimator parameter has another name.
_RENAMED = {"lr": "learning_rate", "seed": "random_state"}


def _request(args: Namespace, **overrides: Any) -> DataRequest:
    from ..workflow import DataRequest, recorded_data, with_run_columns

    if not 0 < (getattr(args, "test_fraction", None) or 0.1) < 1:
        raise UsageError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    if getattr(args, "input", None) == "-" and args.command in ("fit", "evaluate"):
        raise UsageError(f"--input - (standard input) is for the verbs that apply a model; "
                         f"{args.command} needs a file it can read again: save the data first")
    request = DataRequest.from_options(args, progress=not getattr(args, "quiet", False),
                                       **overrides)
    run_dir = getattr(args, "run_dir", None)  # a verb on a finished run: its columns
    return with_run_columns(request, recorded_data(run_dir)) if run_dir else request


def _log(args: Namespace) -> Callable[[str], None]:
    return (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))


def _estimator(args: Namespace, rank: int = 0) -> AutoEncoder:
    """An unfitted AutoEncoder of fit's options: the preset's recipe, then every option
    named like a parameter (``_RENAMED`` for the others); silent on ranks but 0."""
    from ..estimator import AutoEncoder
    from ..params import preset
    from ..training import CHECKPOINT_DIR

    names = AutoEncoder().get_params()
    given = {_RENAMED.get(k, k): v for k, v in vars(args).items()}
    params = {**preset(args.preset),
              **{k: v for k, v in given.items() if k in names and v is not None}}
    if args.optimizer and args.lr is None and args.optimizer != preset(args.preset)["optimizer"]:
        params["learning_rate"] = None  # the chosen optimizer's own default
    params.update(verbose=0 if args.quiet or rank else 1,
                  checkpoint_dir=os.path.join(args.out, CHECKPOINT_DIR))
    return AutoEncoder(**params)


def _method_list(text: str, option: str, noun: str, allowed: tuple[str, ...]
                 ) -> tuple[str, ...]:
    """A comma-separated list of method names (or 'none'), checked against ``allowed``."""
    if text.strip().lower() in ("", "none"):
        return ()
    names = tuple(m.strip().lower() for m in text.split(","))
    unknown = [m for m in names if m not in allowed]
    if unknown:
        raise UsageError(f"{option}: unknown {noun} {unknown[0]!r}; choose from "
                         f"{', '.join(allowed)} or 'none'")
    return names


def cmd_fit(args: Namespace) -> int:
    from ..training import TrainingInterrupted
    from ..training.distributed import join_torchrun, leave
    from ..workflow import RunFolderConflict

    if args.resume:
        args = resume_args(args)
    elif args.out is None or not (args.dataset or args.input):
        raise UsageError("fit needs --out RUN_DIR and one of --dataset or --input "
                         "(or --resume RUN_DIR)")
    from ..evaluation.maps import MAP_METHODS

    if args.maps is None:  # the run's own map replaces the slow t-SNE picture
        args.maps = "pca" if args.neighbour_map else "pca,tsne"
    maps = _method_list(args.maps, "--maps", "map", MAP_METHODS)
    place = join_torchrun(args.device)
    try:
        code = _fit(args, place.rank, place.world, maps)
    except TrainingInterrupted as exc:
        if place.rank == 0:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", place.world))
            again = (PROG if place.world == 1 else
                     f"torchrun --nproc-per-node {local} -m {PROG}" if local == place.world
                     else f"torchrun ... -m {PROG}")
            print(f"{PROG}: {exc}; continue with: {again} fit --resume "
                  f"{shlex.quote(args.out)}", file=sys.stderr)
        code = 128 + exc.signum
    except RunFolderConflict as exc:
        raise UsageError(str(exc)) from None
    finally:
        leave()
    if place.world > 1:
        # Measured here: about one run in ten, a rank that had finished its work aborted
        # while the interpreter shut down ("terminate called without an active exception",
        # gloo's threads; pytorch/pytorch#190489, #179291). Everything is written and the
        # process group is gone: leave without the interpreter's teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _fit(args: Namespace, rank: int, world: int, maps: Sequence[str]) -> int:
    """cmd_fit's work in one process (one rank of a torchrun run): rank 0 holds the run
    folder's lock and writes; a new run that fails (not interrupted, not after training)
    leaves the folder as it found it."""
    import contextlib

    from ..loggers import logger_from_spec
    from ..runtime import device_recipe
    from ..training import TrainingInterrupted
    from ..workflow import (
        RunIncomplete,
        claim_out_dir,
        remove_failed_start,
        run_data,
        run_lock,
        save_command,
        train_run,
    )

    existed, claimed = os.path.isdir(args.out), False
    try:
        with run_lock(args.out) if rank == 0 else contextlib.nullcontext():
            if not args.resume and rank == 0:
                claim_out_dir(args.out, args.force)
            claimed = True
            estimator = _estimator(args, rank)
            data = run_data(_request(args))
            recipe = device_recipe(estimator.get_params(), len(data.X_train))
            if not args.resume and rank == 0:
                options = {k: v for k, v in vars(args).items() if k not in RESUME_OPTIONS}
                if options.get("input"):
                    options["input"] = os.path.abspath(options["input"])
                # --resume keeps this recipe, whatever later defaults; options.toml keeps auto
                pin = {k: getattr(recipe, k) for k in ("optimizer", "batch_size", "epochs",
                                                       "precision")} | {"lr": recipe.learning_rate}
                save_command(args.out, options | pin, config_text(build_parser(), "fit", options))
            log = _log(args) if rank == 0 else (lambda msg: None)
            epochs = estimator.epochs or f"{recipe.epochs} (auto)"
            for note in data.notes:
                log(f"note: {note}")
            details = (("" if recipe.precision == "float32" else f", {recipe.precision}")
                       + (f", {world} processes" if world > 1 else ""))
            log(f"training on {len(data.X_train)} samples, testing on {len(data.X_test)} "
                f"({args.preset} recipe: {recipe.optimizer}, batch {recipe.batch_size}, "
                f"{epochs} epoch{'' if epochs == 1 else 's'}{details})")
            if rank != 0:  # trains its part; rank 0 writes the run folder
                estimator.fit(data.train_rows(), validation_data=data.test_rows(),
                              resume=bool(args.resume))
                return 0
            loggers = [logger_from_spec(spec, args.out, data.X_test, data.y_test)
                       for spec in args.log or ()]
            metrics = train_run(estimator, data, args.out, maps=maps,
                                extra={"seed": args.seed, "preset": args.preset,
                                       "processes": world},
                                log=log, resume=bool(args.resume), loggers=loggers,
                                report=not getattr(args, "no_report", False))
    except (TrainingInterrupted, RunIncomplete):
        raise
    except BaseException:
        if rank == 0 and claimed and not args.resume:
            remove_failed_start(args.out, existed)
        elif rank == 0 and not existed and os.path.isdir(args.out) \
                and not os.listdir(args.out):
            os.rmdir(args.out)  # made only to hold the lock
        raise
    _print_summary(metrics, estimator, args.out, args.preset)
    return 0


def _print_summary(metrics: dict[str, Any], estimator: AutoEncoder, out: str, preset: str) -> None:
    """The run's numbers on standard output, its loss first, then where everything went."""
    from ..params import preset as preset_of
    from ..workflow import describe_outputs
    from ..workflow.train import UNDER_TRAINED_STEPS

    per = "image" if len(estimator.feature_shape_) >= 2 else "sample"
    first = ([f"test BCE {metrics['test_bce']:.4f}"] if metrics["loss"] == "bce"
             and metrics["test_bce"] is not None else [])
    print("  ".join(first + [f"test MSE {metrics['test_mse']:.5f}",
                             f"SSE/{per} {metrics['test_sse_per_image']:.2f}",
                             f"{metrics['train_seconds']:.1f} s training "
                             f"({metrics['seconds_per_epoch']:.2f} s/epoch)"]))
    if "test_psnr_denoised" in metrics:
        print(f"test images with {estimator.recipe_.corruption} noise: PSNR "
              f"{metrics['test_psnr_noisy']:.2f} dB noisy, {metrics['test_psnr_denoised']:.2f} "
              "dB denoised")
    if "test_elbo" in metrics:
        print(f"test ELBO {metrics['test_elbo']:.1f} nats per image")
    print(f"input:    {metrics['input']}")
    if metrics["dead_code_units"]:
        print(f"note: {metrics['dead_code_units']} of {estimator.architecture_.latent_dim} "
              "code units are constant over the test data (dead): the code is narrower than "
              "latent_dim; a linear code (--code-activation linear) avoids it")
    if metrics["under_trained"]:
        why = (f"only {metrics['steps']} training steps"
               if metrics["steps"] < UNDER_TRAINED_STEPS[estimator.recipe_.optimizer] else
               f"its loss still fell {metrics['last_epoch_loss_drop']:.0%} in the last epoch")
        by_preset = estimator.epochs is not None and estimator.epochs == preset_of(preset)["epochs"]
        print(f"note: {why}: the model is probably under-trained; train longer (--epochs, or "
              + (f"leave out --preset {preset}: the default recipe's length follows the data)"
                 if by_preset else "leave it out: the default follows the data)"))
    for line in describe_outputs(out):
        print(line)


def cmd_demo(args: Namespace) -> int:
    args.input = args.image_size = args.resume = None
    return cmd_fit(args)


def _write_output(args: Namespace, output: str, on_chunk: Callable[..., None] | None = None) -> int:
    """embed / reconstruct / score: chunk by chunk from the input to --out, with bounded
    memory; ``on_chunk`` sees each chunk's results (``write_outputs``)."""
    from ..estimator import AutoEncoder
    from ..inference import write_outputs
    from ..workflow import check_output, load

    request = _request(args)
    check_output(args.out, request.input, run_dir=args.run_dir)
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
    from ..workflow import evaluate_run, evaluation_table, run_data
    from ..workflow.folder import EVALUATION_FILES

    baselines = _method_list(args.baselines or ",".join(default_baselines()), "--baselines",
                             "baseline", REDUCERS)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    data = run_data(_run_split(args))
    comparison = evaluate_run(est, data, args.run_dir, baselines=baselines,
                              subsample=args.subsample, k=args.k, code_maps=args.code_maps,
                              random_state=args.seed, log=_log(args))
    print(evaluation_table(comparison))
    print("wrote " + ", ".join(os.path.join(args.run_dir, f) for f in EVALUATION_FILES
                               if os.path.exists(os.path.join(args.run_dir, f))))
    return 0


def _run_split(args: Namespace) -> DataRequest:
    """evaluate's data: the run's own test split of the run's own input (never rows it
    trained on), or the options' split of other data."""
    from ..workflow import read_command, with_run_split

    request = _request(args)
    try:
        fit_options = read_command(args.run_dir)
    except FileNotFoundError:  # a folder written by a script: only the options say
        return request
    split = with_run_split(request, fit_options)
    if split is not request:
        for name in ("test_fraction", "test_size"):
            given, theirs = getattr(args, name, None), getattr(split, name)
            if given is not None and given != theirs:
                option = "--" + name.replace("_", "-")
                raise UsageError(f"{option} {given}: the run held out its own test split of "
                                 f"{args.input} ({option} {theirs}, seed {split.seed}), and "
                                 "another split would score rows the model trained on; leave "
                                 f"{option} out")
    return split


def cmd_cluster(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..evaluation.clustering import CLUSTER_METHODS
    from ..workflow import check_output, cluster_run, load
    from ..workflow.folder import CLUSTER_FILE

    if args.method not in CLUSTER_METHODS:
        raise UsageError(f"--method: unknown method {args.method!r}; choose from "
                         f"{', '.join(CLUSTER_METHODS)}")
    request = _request(args)
    if args.out:
        check_output(args.out, request.input, run_dir=args.run_dir)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    data = load(request)
    result = cluster_run(est, data.source(), data.y, args.run_dir, n_clusters=args.n_clusters,
                         method=args.method, n_init=args.n_init, random_state=args.seed,
                         self_labelling=args.self_labelling, labels_out=args.out,
                         description=data.description, ids=data.ids, id_name=request.id_name)
    scores = (f"accuracy {result['accuracy']:.4f}  NMI {result['nmi']:.4f}  "
              f"ARI {result['ari']:.4f}  " if "accuracy" in result else "")
    summary = sys.stderr if args.out == "-" else sys.stdout  # stdout carries the labels then
    print(f"{result['n_points']} points in {args.n_clusters} clusters ({result['method']}): "
          f"{scores}{result['seconds']:.1f} s\nwrote {os.path.join(args.run_dir, CLUSTER_FILE)}"
          + (f", {args.out}" if args.out not in (None, "-") else ""), file=summary)
    return 0


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
    request = _request(args, stream=False)
    for out in (args.out, args.figure):
        if out:
            check_output(out, request.input, args.clean, run_dir=args.run_dir)
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
    if args.out:
        out = est.input_spec_.unscale(denoised)
        shape = write_array(args.out, out, output_columns(est, "reconstructions"),
                            ids=data.ids, id_name=request.id_name)
        _log(args)(f"wrote {'standard output' if args.out == '-' else args.out}: "
                   f"{out.dtype} {shape}")
    rows = {"noisy": est.scale_input(X), "denoised": denoised}
    if clean is not None:
        rows["clean"] = est.scale_input(clean)
        noisy_db = reconstruction_metrics(rows["clean"], rows["noisy"])["psnr"]
        denoised_db = reconstruction_metrics(rows["clean"], rows["denoised"])["psnr"]
        print(f"PSNR against the clean data: noisy {noisy_db:.2f} dB, denoised "
              f"{denoised_db:.2f} dB ({denoised_db - noisy_db:+.2f} dB)")
    if args.figure:
        n = min(10, len(X))
        plot_image_rows({k: v[:n] for k, v in rows.items()}, args.figure,
                        title=f"Denoised by {args.run_dir}")
        _log(args)(f"wrote {args.figure}")
    return 0


def cmd_sample(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..plotting import plot_image_grid
    from ..workflow import check_output

    check_output(args.out, run_dir=args.run_dir)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    images = est.sample(args.n, random_state=args.seed)
    _write_picture_or_array(args.out, images, lambda a, out: plot_image_grid(
        est.scale_input(a), out, title=f"{len(a)} samples from {args.run_dir}"), est, _log(args))
    return 0


def cmd_interpolate(args: Namespace) -> int:
    from ..datasets import Source
    from ..estimator import AutoEncoder
    from ..plotting import plot_image_rows
    from ..workflow import check_output, load, own_rows, recorded_dataset

    if not (args.dataset or args.input):
        args.dataset = recorded_dataset(args.run_dir)
        if not args.dataset:
            raise UsageError(f"{args.run_dir} was not trained on a named data set; give "
                             "--dataset or --input")
    request = _request(args, stream=False)
    check_output(args.out, request.input, run_dir=args.run_dir)
    est = AutoEncoder.load(args.run_dir, device=args.device)
    X = (data := load(request)).X
    for option, i in (("--from", args.index_from), ("--to", args.index_to)):
        if not 0 <= i < len(X):
            raise UsageError(f"{option} {i}: the data has {len(X)} samples (0 to {len(X) - 1})")
    start, end = (X.take([i])[0] if isinstance(X, Source) else X[i]  # Source: above 1 GiB
                  for i in (args.index_from, args.index_to))
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
                 + (", the reference notebook's" if args.preset == "notebook" else ""))
    else:
        from ..estimator import AutoEncoder

        arch, title = AutoEncoder.load(args.run_dir).architecture_, f"Model in {args.run_dir}"
    model = build_model(arch)
    print(format_layer_table(layer_table(model, arch.input_shape), title))
    print(f"Output activation: {arch.output_activation} (applied to the last layer's output)")
    return 0


def cmd_export(args: Namespace) -> int:
    from ..estimator import AutoEncoder
    from ..export import describe_export, export_format
    from ..workflow import check_output, recorded_dataset

    if args.out == "-":
        raise UsageError("--out -: an exported model is a binary file; name one (.onnx, .pt)")
    fmt = export_format(args.out, args.format)
    check_output(args.out, run_dir=args.run_dir)
    # Named data sets are uint8 images: their runs take the pixels as they come.
    dtype = args.input_dtype or ("uint8" if recorded_dataset(args.run_dir) else "float32")
    est = AutoEncoder.load(args.run_dir, device="cpu")
    path = est.export(args.out, format=fmt, part=args.part, input_dtype=dtype)
    print(f"wrote {path}: {describe_export(path)}")
    return 0


def cmd_report(args: Namespace) -> int:
    from ..workflow import run_report

    if len(args.run_dirs) > 1 and not args.out:
        raise UsageError("report of several runs needs --out FILE.html")
    out = args.out or os.path.join(args.run_dirs[0], "report.html")
    if not out.lower().endswith((".html", ".htm")):
        raise UsageError(f"--out {out}: name an .html file")
    report = run_report(args.run_dirs, max_points=args.max_points)
    report.save(out)
    print(f"wrote {out}: {len(report.html.encode()) / 1e6:.1f} MB")
    return 0


COMMANDS = {"fit": cmd_fit, "report": cmd_report, "demo": cmd_demo, "embed": cmd_embed,
            "reconstruct": cmd_reconstruct, "score": cmd_score, "evaluate": cmd_evaluate,
            "cluster": cmd_cluster,
            "summary": cmd_summary, "denoise": cmd_denoise, "sample": cmd_sample,
            "interpolate": cmd_interpolate, "export": cmd_export}
