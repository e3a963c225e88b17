"""The commands of ``autoencoders``: each turns parsed arguments into calls to the library.

Heavy libraries (torch, scikit-learn, matplotlib) are imported inside the commands, so that
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys

from .._io import file_in_the_way
from ..checkpoints import CHECKPOINT_DIR, Checkpointer  # light: no numpy or torch
from .parser import PROG, UsageError, build_parser

__all__ = ["COMMANDS"]

#: The run's options, saved beside its checkpoints for ``fit --resume``.
COMMAND_FILE = "command.json"


def _configure_torch() -> None:
    """Threads = the cores this process may use; denormals flushed to zero.

    Both must happen before torch's first parallel operation: its worker threads copy the
    floating-point mode of the thread that creates them, and the training loop can only set
    it on its own thread (see ``training.flush_denormals``).
    """
    import torch

    if hasattr(os, "sched_getaffinity"):
        # torchrun starts LOCAL_WORLD_SIZE processes per machine: they share the cores.
        share = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // share))
    torch.set_flush_denormal(True)


#: An --input larger than this (as arrays in memory) is streamed from disk even without
#: --stream. Streamed and in-memory data train on the same batches, so this changes memory
#: and speed, not results.
STREAM_ABOVE_BYTES = 1 << 30


def _load_source(args, split: str):
    """(X, y, description, ids) from --dataset/--split ("all": train then test) or --input.

    X is an array in memory, or, for a streamed --input (--stream, or larger than
    ``STREAM_ABOVE_BYTES``), a :class:`~autoencoders.datasets.streaming.Source` whose
    ``ids`` method gives the ids; ids is then None.
    """
    from ..datasets import load_dataset

    if args.dataset and split == "all":
        import numpy as np

        parts = [_load_source(args, s) for s in ("train", "test")]
        y = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
        return (np.concatenate([p[0] for p in parts]), y,
                {"dataset": args.dataset, "split": "all"}, None)
    if args.dataset:
        X, y = load_dataset(args.dataset, split, progress=not getattr(args, "quiet", False))
        return X, y, {"dataset": args.dataset, "split": split}, None
    X, y, ids = _read_input(args)
    return X, y, {"input": os.path.abspath(args.input)}, ids


def _read_input(args):
    """(X, y, ids) of --input: read into memory, or a Source when streamed."""
    from pathlib import Path

    from ..datasets import read_input_with_ids
    from ..datasets.streaming import open_source

    id_column = None if args.id_column == "none" else args.id_column
    path, stream = Path(args.input), getattr(args, "stream", False)
    images = path.is_dir() and not any(p.suffix.lower() in (".npy", ".parquet")
                                       for p in path.iterdir())
    if (path.is_file() and path.suffix.lower() in (".npz", ".csv")) or (images and not stream):
        return read_input_with_ids(path, image_size=args.image_size, id_column=id_column)
    source = open_source(args.input, id_column=id_column, image_size=args.image_size)
    if stream or source.nbytes > STREAM_ABOVE_BYTES:
        return source, None, None
    import numpy as np

    return source.to_numpy(), None, source.ids(np.arange(len(source)))


def _run_data(args):
    from ..datasets.streaming import Source, iter_chunks
    from ..runs import RunData

    if getattr(args, "input", None):
        import numpy as np

        from ..validation import as_array, check_samples

        if not 0 < args.test_fraction < 1:
            raise UsageError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
        X, y, desc, _ = _load_source(args, "train")
        streamed = isinstance(X, Source)
        # Checked before the split, so that errors name rows of the file.
        if not streamed:
            check_samples(as_array(X, args.input), args.input)
        elif np.issubdtype(X.dtype, np.floating):  # one pass; integers cannot be NaN
            for start, _, chunk in iter_chunks(X):
                check_samples(chunk, args.input, first=start)
        if len(X) < 2:
            raise ValueError(f"{args.input}: {len(X)} sample; need at least 2 to hold out a "
                             "test split")
        # The same split streamed or not, so that --stream changes memory, not results.
        n_test = min(max(1, int(round(args.test_fraction * len(X)))),
                     getattr(args, "test_size", None) or MAX_TEST_ROWS)
        # Drawn without a permutation of all rows (which would grow with the data); the
        # training rows keep the file's order, streamed or not.
        test = np.sort(np.random.default_rng(args.seed).choice(len(X), n_test, replace=False))
        if streamed:
            Xtr, Xte = X.without(test), X.take(test)
        else:
            Xtr, Xte = np.delete(X, test, axis=0), X[test]
        ytr, yte = (None, None) if y is None else (np.delete(y, test), y[test])
        desc.update(test_fraction=args.test_fraction, streamed=streamed)
    else:
        Xtr, ytr, desc, _ = _load_source(args, "train")
        Xte, yte, _, _ = _load_source(args, "test")
        desc["split"] = "train/test"
    if getattr(args, "train_size", None):
        import numpy as np

        keep = np.arange(min(args.train_size, len(Xtr)))
        Xtr = Xtr.subset(keep) if isinstance(Xtr, Source) else Xtr[keep]
        ytr = None if ytr is None else ytr[keep]
    if getattr(args, "test_size", None):
        Xte, yte = Xte[:args.test_size], None if yte is None else yte[:args.test_size]
    desc.update(n_train=len(Xtr), n_test=len(Xte))
    return RunData(Xtr, Xte, ytr, yte, desc)


#: Held-out test rows of an --input at most, unless --test-size says otherwise: the test
#: split is held in memory for the metrics, codes and figures.
MAX_TEST_ROWS = 10_000


def _estimator(args):
    from ..estimator import AutoEncoder, preset

    params = preset(args.preset)
    for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size),
                       ("optimizer", args.optimizer), ("learning_rate", args.lr)):
        if value is not None:
            params[key] = value
    if args.optimizer and args.lr is None and args.optimizer != preset(args.preset)["optimizer"]:
        params["learning_rate"] = None  # the chosen optimizer's own default
    return AutoEncoder(hidden_dims=args.hidden_dims, latent_dim=args.latent_dim,
                       architecture=args.architecture, channels=args.channels,
                       corruption=args.corruption, variational=args.variational,
                       beta=args.beta, kl_warmup=args.kl_warmup, sparsity=args.sparsity,
                       loss=args.loss, input_scaling=args.input_scaling,
                       early_stopping=args.early_stopping, random_state=args.seed,
                       shuffle_buffer=getattr(args, "shuffle_buffer", 65536),
                       verbose=0 if args.quiet else 1, device=args.device,
                       checkpoint_dir=os.path.join(args.out, CHECKPOINT_DIR),
                       checkpoint_every=args.checkpoint_every,
                       keep_checkpoints=args.keep_checkpoints, **params)


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


def _check_out_dir(path: str, force: bool) -> None:
    from ..persistence import MODEL_FILE

    if os.path.exists(os.path.join(path, MODEL_FILE)) and not force:
        raise UsageError(f"{path} already holds a trained model; choose another --out, or pass "
                         "--force to replace it")
    if Checkpointer(os.path.join(path, CHECKPOINT_DIR)).paths() and not force:
        raise UsageError(f"{path} holds an interrupted run; continue it with "
                         f"'{PROG} fit --resume {path}', or pass --force to start over")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out {path} is a file; name a folder")
    blocker = file_in_the_way(os.path.join(path, "x"))
    if blocker is not None:
        raise NotADirectoryError(f"cannot write the run folder {path}: {blocker} is a file, "
                                 "not a folder; choose another --out")
    # Fail now, not after an hour of training, when the folder cannot be written.
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OSError(f"cannot write the run folder {path}: {exc.strerror or exc}; choose "
                      "another --out") from None


#: Options that ``fit --resume`` accepts besides RUN_DIR; all others come from the run.
_RESUME_OPTIONS = ("command", "resume", "quiet", "debug")


def _resume_args(args):
    """The arguments the interrupted run in ``args.resume`` was started with."""
    import json

    given = vars(args)
    defaults = vars(build_parser().parse_args(["fit", "--resume", args.resume]))
    extra = [k for k, v in given.items() if k not in _RESUME_OPTIONS and v != defaults.get(k)]
    if extra:
        raise UsageError(f"--resume takes the options of the run it continues; drop "
                         f"--{extra[0].replace('_', '-')}")
    file = os.path.join(args.resume, CHECKPOINT_DIR, COMMAND_FILE)
    try:
        with open(file, encoding="utf-8") as f:
            saved = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: missing; {args.resume} is not a run folder started "
                                f"by '{PROG} fit' (or it finished before checkpoints existed)"
                                ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: not valid JSON ({exc}); the run folder is damaged") from None
    for key in ("hidden_dims", "channels", "image_size"):
        if saved.get(key) is not None:
            saved[key] = tuple(saved[key])
    # Options added since the run started take their defaults.
    return argparse.Namespace(**{**defaults, **saved, "quiet": args.quiet,
                                 "resume": args.resume, "out": args.resume, "force": True})


def _save_command(args) -> None:
    """Record the run's options in RUN_DIR/checkpoints for ``fit --resume``."""
    import json

    from .._io import atomic_write

    saved = {k: v for k, v in vars(args).items() if k not in _RESUME_OPTIONS}
    if saved.get("input"):
        saved["input"] = os.path.abspath(saved["input"])
    atomic_write(os.path.join(args.out, CHECKPOINT_DIR, COMMAND_FILE),
                 json.dumps(saved, indent=2) + "\n")


def _remove_failed_start(out: str, existed: bool) -> None:
    """After a fit that failed before its first checkpoint, take away what it made (the
    saved options, empty folders), so that the folder is not taken for an interrupted run."""
    folder = os.path.join(out, CHECKPOINT_DIR)
    if Checkpointer(folder).paths():
        return  # a run that trained: keep it resumable
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder, COMMAND_FILE))
    with contextlib.suppress(OSError):  # not empty, or not there: leave it
        os.rmdir(folder)
    if not existed and os.path.isdir(out) and not os.listdir(out):
        os.rmdir(out)


def cmd_fit(args) -> int:
    from ..training import TrainingInterrupted

    if args.resume:
        args = _resume_args(args)
    elif args.out is None or not (args.dataset or args.input):
        raise UsageError("fit needs --out RUN_DIR and one of --dataset or --input "
                         "(or --resume RUN_DIR)")
    from ..evaluation.maps import MAP_METHODS

    maps = _method_list(args.maps, "--maps", "map", MAP_METHODS)
    existed = os.path.isdir(args.out)
    if not args.resume:
        _check_out_dir(args.out, args.force)
    from ..distributed import join_torchrun, leave

    place = join_torchrun(args.device)
    rank, world = place.rank, place.world
    try:
        code = _fit(args, rank, world, maps, existed)
    except TrainingInterrupted as exc:
        if rank == 0:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
            again = (PROG if world == 1 else f"torchrun --nproc-per-node {local} -m {PROG}"
                     if local == world else f"torchrun ... -m {PROG}")
            print(f"{PROG}: {exc}; continue with: {again} fit --resume "
                  f"{shlex.quote(args.out)}", file=sys.stderr)
        code = 128 + exc.signum
    finally:
        leave()
    if world > 1:
        # Measured here: about one run in ten, a rank that had finished its work aborted
        # while the interpreter shut down ("terminate called without an active exception",
        # gloo's threads; pytorch/pytorch#190489, #179291). Everything is written and the
        # process group is gone: leave without the interpreter's teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _fit(args, rank: int, world: int, maps, existed: bool) -> int:
    """cmd_fit's work in one process (one rank of a torchrun run): rank 0 writes."""
    from ..runs import describe_outputs, train_run
    from ..training import TrainingInterrupted

    quiet = args.quiet or rank != 0
    try:
        _configure_torch()
        estimator = _estimator(args)
        if rank != 0:
            estimator.set_params(verbose=0)
        data = _run_data(args)
        if not args.resume and rank == 0:
            _save_command(args)
        log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
        ranks = f", {world} processes" if world > 1 else ""
        log(f"training on {len(data.X_train)} samples, testing on {len(data.X_test)} "
            f"({args.preset} recipe, {estimator.epochs} epochs{ranks})")
        if rank != 0:  # trains its part; rank 0 writes the run folder
            estimator.fit(data.X_train, validation_data=data.X_test, resume=bool(args.resume))
            return 0
        metrics = train_run(estimator, data, args.out, maps=maps,
                            extra={"seed": args.seed, "preset": args.preset, "processes": world},
                            log=log, resume=bool(args.resume))
    except TrainingInterrupted:
        raise
    except BaseException:
        if rank == 0:
            _remove_failed_start(args.out, existed)
        raise
    bce = metrics["test_bce"]
    print(f"test BCE {bce:.4f}  " if bce is not None else "", end="")
    print(f"test MSE {metrics['test_mse']:.5f}  SSE/image {metrics['test_sse_per_image']:.2f}  "
          f"{metrics['train_seconds']:.1f} s training ({metrics['seconds_per_epoch']:.2f} s/epoch)")
    if "test_psnr_denoised" in metrics:
        print(f"test images with {estimator.recipe_.corruption} noise: PSNR "
              f"{metrics['test_psnr_noisy']:.2f} dB noisy, {metrics['test_psnr_denoised']:.2f} "
              "dB denoised")
    if "test_elbo" in metrics:
        print(f"test ELBO {metrics['test_elbo']:.1f} nats per image")
    for line in describe_outputs(args.out):
        print(line)
    return 0


def cmd_demo(args) -> int:
    args.input = None
    args.image_size = None
    args.resume = None
    return cmd_fit(args)


def _id_name(args) -> str:
    """The name of the id column in outputs: the one --id-column named, or "id"."""
    return "id" if args.id_column in ("auto", "none") else args.id_column


def _write_output(args, output: str) -> int:
    """embed / reconstruct: chunk by chunk from the input to --out, with bounded memory."""
    from ..datasets.streaming import ArraySource, Source
    from ..estimator import AutoEncoder
    from ..inference import write_outputs

    est = AutoEncoder.load(args.run_dir)
    X, _, _, ids = _load_source(args, args.split)
    what = args.input or f"{args.dataset} {args.split}"
    writer = write_outputs(est, X if isinstance(X, Source) else ArraySource(X, ids), args.out,
                           output=output, batch_size=args.batch_size, id_name=_id_name(args),
                           progress=not args.quiet and sys.stderr.isatty(), what=what)
    if writer.ids_dropped:
        print(f"{PROG}: note: the ids of {what} are not in {args.out} (.npy holds numbers "
              "only); write .parquet or .csv to keep them", file=sys.stderr)
    print(f"wrote {args.out}: float32 {writer.shape}", file=sys.stderr)
    return 0


def cmd_embed(args) -> int:
    return _write_output(args, "codes")


def cmd_reconstruct(args) -> int:
    return _write_output(args, "reconstructions")


def cmd_evaluate(args) -> int:
    from ..estimator import AutoEncoder
    from ..evaluation.reducers import REDUCERS
    from ..runs import EVALUATION_FILES, evaluate_run, evaluation_table

    baselines = _method_list(args.baselines, "--baselines", "baseline", REDUCERS)
    _configure_torch()
    est = AutoEncoder.load(args.run_dir)
    data = _run_data(args)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    comparison = evaluate_run(est, data, args.run_dir, baselines=baselines,
                              subsample=args.subsample, k=args.k, random_state=args.seed,
                              log=log)
    print(evaluation_table(comparison))
    print("wrote " + ", ".join(os.path.join(args.run_dir, f) for f in EVALUATION_FILES
                               if os.path.exists(os.path.join(args.run_dir, f))))
    return 0


def cmd_cluster(args) -> int:
    from ..estimator import AutoEncoder
    from ..evaluation.clustering import CLUSTER_METHODS
    from ..runs import CLUSTER_FILE, cluster_run

    if args.method not in CLUSTER_METHODS:
        raise UsageError(f"--method: unknown method {args.method!r}; choose from "
                         f"{', '.join(CLUSTER_METHODS)}")
    _configure_torch()
    est = AutoEncoder.load(args.run_dir)
    X, y, desc, ids = _load_source(args, args.split)
    result = cluster_run(est, X, y, args.run_dir, n_clusters=args.n_clusters,
                         method=args.method, random_state=args.seed, labels_out=args.out,
                         description=desc, ids=ids, id_name=_id_name(args))
    scores = (f"accuracy {result['accuracy']:.4f}  NMI {result['nmi']:.4f}  "
              f"ARI {result['ari']:.4f}  " if "accuracy" in result else "")
    print(f"{result['n_points']} points in {args.n_clusters} clusters ({args.method}): "
          f"{scores}{result['seconds']:.1f} s")
    print(f"wrote {os.path.join(args.run_dir, CLUSTER_FILE)}"
          + (f", {args.out}" if args.out else ""))
    return 0


def _run_dataset_args(args) -> None:
    """Without --dataset or --input, use the data set the run was trained on."""
    import json

    from ..persistence import CONFIG_FILE

    if args.dataset or args.input:
        return
    try:
        with open(os.path.join(args.run_dir, CONFIG_FILE), encoding="utf-8") as f:
            args.dataset = json.load(f).get("extra", {}).get("data", {}).get("dataset")
    except (OSError, ValueError, AttributeError):
        args.dataset = None
    if not args.dataset:
        raise UsageError(f"{args.run_dir} was not trained on a named data set; give "
                         "--dataset or --input")


def _write_picture_or_array(out: str, images, picture) -> None:
    """A .png goes to ``picture(images, out)``; .npy, .csv, .parquet to ``write_array``."""
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in (".png", ".npy", ".csv", ".parquet"):
        raise UsageError(f"--out {out}: name a .png picture or an array file (.npy, .csv, "
                         ".parquet)")
    if suffix == ".png":
        picture(images, out)
        shape = tuple(images.shape)
    else:
        from ..datasets import write_array

        shape = write_array(out, images)
    print(f"wrote {out}: {images.dtype} {shape}", file=sys.stderr)


def cmd_denoise(args) -> int:
    import numpy as np

    from .. import scaling
    from ..datasets import read_input, write_array
    from ..estimator import AutoEncoder
    from ..evaluation import reconstruction_metrics
    from ..plotting import plot_image_rows
    from ..runs import corrupted_copy

    if not (args.out or args.figure):
        raise UsageError("denoise needs --out FILE and/or --figure PNG")
    if args.clean and args.add_noise:
        raise UsageError("--clean and --add-noise exclude each other: with --add-noise the "
                         "input itself is the clean data")
    est = AutoEncoder.load(args.run_dir)
    X, _, _, ids = _load_source(args, args.split)
    clean = None
    if args.add_noise:
        clean, X = X, corrupted_copy(est, X, args.add_noise, seed=args.seed)
    elif args.clean:
        clean, _ = read_input(args.clean, image_size=args.image_size)
        if np.shape(clean) != np.shape(X):
            raise ValueError(f"{args.clean}: shape {np.shape(clean)} differs from the noisy "
                             f"data's {np.shape(X)}; give the clean originals of --input")
    denoised = est.reconstruct(X, scaled=True)  # once; unscaled for the file
    if args.out:
        out = scaling.unscale(denoised, est.input_scaling, est.scaling_stats_)
        shape = write_array(args.out, out, ids=ids, id_name=_id_name(args))
        print(f"wrote {args.out}: {out.dtype} {shape}", file=sys.stderr)
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
        print(f"wrote {args.figure}", file=sys.stderr)
    return 0


def cmd_sample(args) -> int:
    from ..estimator import AutoEncoder
    from ..plotting import plot_image_grid

    est = AutoEncoder.load(args.run_dir)
    images = est.sample(args.n, random_state=args.seed)
    _write_picture_or_array(args.out, images, lambda a, out: plot_image_grid(
        est.scale_input(a), out, title=f"{len(a)} samples from {args.run_dir}"))
    return 0


def cmd_interpolate(args) -> int:
    from ..estimator import AutoEncoder
    from ..plotting import plot_image_rows

    _run_dataset_args(args)
    est = AutoEncoder.load(args.run_dir)
    X, _, _, _ = _load_source(args, args.split)
    for option, i in (("--from", args.index_from), ("--to", args.index_to)):
        if not 0 <= i < len(X):
            raise UsageError(f"{option} {i}: the data has {len(X)} samples (0 to {len(X) - 1})")
    row = est.interpolate(X[args.index_from], X[args.index_to], args.steps)
    _write_picture_or_array(args.out, row, lambda a, out: plot_image_rows(
        {f"{args.index_from} → {args.index_to}": est.scale_input(a)}, out,
        title=f"Decoded points between the codes of samples {args.index_from} and "
              f"{args.index_to}"))
    return 0


def cmd_summary(args) -> int:
    from ..config import ArchitectureConfig
    from ..models import build_model
    from ..models.summary import format_layer_table, layer_table

    if (args.run_dir is None) == (args.preset is None):
        raise UsageError("summary: give either RUN_DIR or --preset notebook")
    if args.preset:
        arch, title = ArchitectureConfig(), "The reference notebook's autoencoder (28×28 input)"
    else:
        from ..estimator import AutoEncoder

        arch, title = AutoEncoder.load(args.run_dir).architecture_, f"Model in {args.run_dir}"
    model = build_model(arch)
    print(format_layer_table(layer_table(model, arch.input_shape), title))
    print(f"Output activation: {arch.output_activation} (applied to the last layer's output)")
    return 0


COMMANDS = {"fit": cmd_fit, "demo": cmd_demo, "embed": cmd_embed,
            "reconstruct": cmd_reconstruct, "evaluate": cmd_evaluate, "cluster": cmd_cluster,
            "summary": cmd_summary, "denoise": cmd_denoise, "sample": cmd_sample,
            "interpolate": cmd_interpolate}


