"""The ``autoencoders`` command: argument parsing that calls the library; no logic of its own.

Exit codes: 0 success, 1 failure (bad data, missing files, training diverged), 2 usage errors,
130 interrupted. Errors are one line on stderr; ``--debug`` shows the traceback instead.
Heavy libraries (torch, scikit-learn, matplotlib) are imported inside the commands, so that
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from .checkpoints import CHECKPOINT_DIR  # light: no numpy or torch

__all__ = ["main", "build_parser"]

PROG = "autoencoders"
#: The run's options, saved beside its checkpoints for ``fit --resume``.
COMMAND_FILE = "command.json"


class UsageError(Exception):
    """A command line that parses but asks for something impossible (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # No prefix matching: '--data' must not silently mean '--dataset'.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, not the usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like "
                                         f"400,200,100,50, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _image_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        h, w = (int(p) for p in parts) if len(parts) == 2 else (int(parts[0]),) * 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW like 28x28, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return h, w


def _add_data_source(p, *, split: bool, required: bool = True,
                     splits: tuple[str, ...] = ("train", "test")) -> None:
    from_ = p.add_mutually_exclusive_group(required=required)
    from_.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"),
                       help="a named data set (MNIST is read from $AUTOENCODERS_DATA_DIR/mnist, "
                            "the user cache, or downloaded)")
    from_.add_argument("--input", metavar="PATH",
                       help="your data: .npy, .npz, .csv, .parquet or a folder of PNG/JPEG")
    if split:
        p.add_argument("--split", choices=splits, default="test",
                       help=f"which split of --dataset: {', '.join(splits)} (default: test)")
    p.add_argument("--image-size", type=_image_size, metavar="HxW",
                   help="resize the images of an --input folder to this size")


def _add_training_options(p) -> None:
    g = p.add_argument_group("model and recipe")
    g.add_argument("--preset", choices=("default", "notebook"), default="default",
                   help="'notebook': the reference notebook's recipe exactly (SGD, lr 1.5, "
                        "batch 32, 50 epochs); 'default': ours (Adam, cosine decay)")
    g.add_argument("--epochs", type=_positive_int, help="passes over the training data")
    g.add_argument("--batch-size", type=_positive_int)
    g.add_argument("--optimizer", choices=("adam", "sgd"))
    g.add_argument("--lr", type=_positive_float, metavar="LR", help="peak learning rate")
    g.add_argument("--latent-dim", type=_positive_int, default=25, metavar="D",
                   help="size of the latent code (default 25)")
    g.add_argument("--hidden-dims", type=_int_list, default=(400, 200, 100, 50),
                   metavar="W,W,...", help="encoder widths (default 400,200,100,50)")
    g.add_argument("--loss", choices=("bce", "mse"), default="bce")
    g.add_argument("--input-scaling", choices=("auto", "minmax", "none"), default="auto",
                   help="auto: uint8/255; minmax: each feature to [0, 1]; none")
    g.add_argument("--early-stopping", action="store_true",
                   help="stop when the held-out loss stops improving; keep the best epoch")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, mps")
    d = p.add_argument_group("data and outputs")
    d.add_argument("--train-size", type=_positive_int, metavar="N",
                   help="use only the first N training samples")
    d.add_argument("--test-size", type=_positive_int, metavar="N",
                   help="use only the first N test samples")
    d.add_argument("--maps", default="pca,tsne", metavar="LIST",
                   help="2-D maps of the test codes to draw: pca,tsne (default), or 'none'")
    d.add_argument("--force", action="store_true",
                   help="write into an output folder that already holds a model or an "
                        "interrupted run")
    d.add_argument("--checkpoint-every", type=_positive_float, default=10.0, metavar="MIN",
                   help="checkpoint every MIN minutes as well as after every epoch "
                        "(default 10)")
    d.add_argument("--keep-checkpoints", type=_positive_int, default=3, metavar="K",
                   help="keep the newest K checkpoints in RUN_DIR/checkpoints (default 3)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autoencoders`` command (all sub-commands)."""
    parser = _Parser(prog=PROG, description="Train autoencoders and use their latent codes.",
                     epilog="Run 'autoencoders COMMAND --help' for a command's options.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("fit", help="train an autoencoder and write a run folder",
                       description="Train on a data set or your file; write RUN_DIR with the "
                                   "model, config, history, metrics, codes, figures and "
                                   "checkpoints. Ctrl-C (SIGINT) or SIGTERM stops after the "
                                   "current step with a checkpoint; --resume continues.")
    _add_data_source(p, split=False, required=False)
    p.add_argument("--out", metavar="RUN_DIR", help="the run folder to write")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the interrupted run in RUN_DIR from its newest checkpoint, "
                        "with the options it was started with (give no others)")
    p.add_argument("--test-fraction", type=float, default=0.1, metavar="F",
                   help="with --input: fraction held out as the test split (default 0.1)")
    _add_training_options(p)

    p = sub.add_parser("demo", help="train the notebook's model on MNIST with our recipe",
                       description="Train the reference notebook's architecture on MNIST with "
                                   "our default recipe and write a run folder.")
    p.add_argument("--out", default=os.path.join("runs", "demo"), metavar="RUN_DIR",
                   help="the run folder (default runs/demo)")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"), default="mnist")
    _add_training_options(p)

    for name, what in (("embed", "latent codes of the data, float32 (n, latent_dim)"),
                       ("reconstruct", "reconstructions of the data, float32 in the "
                                       "input's feature shape")):
        p = sub.add_parser(name, help=f"write the {what}",
                           description=f"Load RUN_DIR's model and write the {what}, to "
                                       "--out (.npy, .csv or .parquet).")
        p.add_argument("run_dir", metavar="RUN_DIR")
        _add_data_source(p, split=True)
        p.add_argument("--out", required=True, metavar="FILE",
                       help="output file: .npy, .csv or .parquet")

    p = sub.add_parser("evaluate", help="compare the run's code with PCA, t-SNE and UMAP",
                       description="Fit raw input, PCA, t-SNE and UMAP on the same training "
                                   "points as 2-D maps of the code, score all on the same "
                                   "test points (trustworthiness, continuity, k-NN recall, "
                                   "k-NN accuracy, linear probe, reconstruction, seconds); "
                                   "print the table and write evaluation.json, evaluation.md "
                                   "and figures/evaluation_maps.png into RUN_DIR.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    _add_data_source(p, split=False)
    p.add_argument("--test-fraction", type=float, default=0.1, metavar="F",
                   help="with --input: fraction held out as the test split (default 0.1)")
    p.add_argument("--baselines", default="pca,tsne,umap", metavar="LIST",
                   help="baselines and maps of the code: pca,tsne,umap (default), or 'none'")
    p.add_argument("--subsample", type=_positive_int, default=10000, metavar="N",
                   help="fit on at most N training points and score at most N test points "
                        "(default 10000)")
    p.add_argument("--k", type=_positive_int, default=10,
                   help="neighbours for trustworthiness, continuity, k-NN recall (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("cluster", help="cluster the latent codes of the data",
                       description="Cluster the codes of the data with UMAP and a Gaussian "
                                   "mixture (N2D) or k-means; write cluster.json into RUN_DIR "
                                   "(with accuracy, NMI and ARI when labels are known) and the "
                                   "labels to --out.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    _add_data_source(p, split=True, splits=("train", "test", "all"))
    p.add_argument("--n-clusters", type=_positive_int, required=True, metavar="K")
    p.add_argument("--method", default="umap-gmm",
                   help="umap-gmm (default: UMAP to K dimensions, then a Gaussian mixture) "
                        "or kmeans")
    p.add_argument("--out", metavar="FILE", help="cluster labels: .npy, .csv or .parquet")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    p = sub.add_parser("summary", help="print the layer table of a model",
                       description="Print layers, output shapes and parameter counts, as "
                                   "Keras' model.summary() does.")
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR")
    p.add_argument("--preset", choices=("notebook",),
                   help="the reference notebook's architecture on 28×28 input")
    return parser


# ---------------------------------------------------------------------------- commands

def _configure_torch() -> None:
    """Threads = the cores this process may use; denormals flushed to zero.

    Both must happen before torch's first parallel operation: its worker threads copy the
    floating-point mode of the thread that creates them, and the training loop can only set
    it on its own thread (see ``training.flush_denormals``).
    """
    import torch

    if hasattr(os, "sched_getaffinity"):
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    torch.set_flush_denormal(True)


def _load_source(args, split: str):
    """(X, y, description) from --dataset/--split ("all": train then test) or --input."""
    from .datasets import load_dataset, read_input

    if args.dataset and split == "all":
        import numpy as np

        parts = [_load_source(args, s) for s in ("train", "test")]
        y = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
        return (np.concatenate([p[0] for p in parts]), y,
                {"dataset": args.dataset, "split": "all"})
    if args.dataset:
        X, y = load_dataset(args.dataset, split, progress=not getattr(args, "quiet", False))
        return X, y, {"dataset": args.dataset, "split": split}
    X, y = read_input(args.input, image_size=args.image_size)
    return X, y, {"input": os.path.abspath(args.input)}


def _run_data(args):
    from .runs import RunData

    if getattr(args, "input", None):
        import numpy as np

        from .validation import as_array, check_samples

        if not 0 < args.test_fraction < 1:
            raise UsageError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
        X, y, desc = _load_source(args, "train")
        # Checked before the shuffled split, so that errors name rows of the file.
        check_samples(as_array(X, args.input), args.input)
        if len(X) < 2:
            raise ValueError(f"{args.input}: {len(X)} sample; need at least 2 to hold out a "
                             "test split")
        order = np.random.default_rng(args.seed).permutation(len(X))
        n_test = max(1, int(round(args.test_fraction * len(X))))
        test, train = order[:n_test], order[n_test:]
        Xtr, Xte = X[train], X[test]
        ytr, yte = (None, None) if y is None else (y[train], y[test])
        desc["test_fraction"] = args.test_fraction
    else:
        Xtr, ytr, desc = _load_source(args, "train")
        Xte, yte, _ = _load_source(args, "test")
        desc["split"] = "train/test"
    if getattr(args, "train_size", None):
        Xtr, ytr = Xtr[:args.train_size], None if ytr is None else ytr[:args.train_size]
    if getattr(args, "test_size", None):
        Xte, yte = Xte[:args.test_size], None if yte is None else yte[:args.test_size]
    desc.update(n_train=len(Xtr), n_test=len(Xte))
    return RunData(Xtr, Xte, ytr, yte, desc)


def _estimator(args):
    from .estimator import AutoEncoder, preset

    params = preset(args.preset)
    for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size),
                       ("optimizer", args.optimizer), ("learning_rate", args.lr)):
        if value is not None:
            params[key] = value
    if args.optimizer and args.lr is None and args.optimizer != preset(args.preset)["optimizer"]:
        params["learning_rate"] = None  # the chosen optimizer's own default
    return AutoEncoder(hidden_dims=args.hidden_dims, latent_dim=args.latent_dim,
                       loss=args.loss, input_scaling=args.input_scaling,
                       early_stopping=args.early_stopping, random_state=args.seed,
                       verbose=0 if args.quiet else 1, device=args.device,
                       checkpoint_dir=os.path.join(args.out, CHECKPOINT_DIR),
                       checkpoint_every=args.checkpoint_every,
                       keep_checkpoints=args.keep_checkpoints, **params)


def _maps(text: str) -> tuple[str, ...]:
    from .evaluation.maps import MAP_METHODS

    if text.strip().lower() in ("", "none"):
        return ()
    maps = tuple(m.strip().lower() for m in text.split(","))
    unknown = [m for m in maps if m not in MAP_METHODS]
    if unknown:
        raise UsageError(f"--maps: unknown map {unknown[0]!r}; choose from "
                         f"{', '.join(MAP_METHODS)} or 'none'")
    return maps


def _check_out_dir(path: str, force: bool) -> None:
    from .persistence import MODEL_FILE

    if os.path.exists(os.path.join(path, MODEL_FILE)) and not force:
        raise UsageError(f"{path} already holds a trained model; choose another --out, or pass "
                         "--force to replace it")
    if os.path.exists(os.path.join(path, CHECKPOINT_DIR, COMMAND_FILE)) and not force:
        raise UsageError(f"{path} holds an interrupted run; continue it with "
                         f"'{PROG} fit --resume {path}', or pass --force to start over")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out {path} is a file; name a folder")
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
    for key in ("hidden_dims", "image_size"):
        if saved.get(key) is not None:
            saved[key] = tuple(saved[key])
    return argparse.Namespace(**{**saved, "quiet": args.quiet, "resume": args.resume,
                                 "out": args.resume, "force": True})


def _save_command(args) -> None:
    """Record the run's options in RUN_DIR/checkpoints for ``fit --resume``."""
    import json

    from ._io import atomic_write

    saved = {k: v for k, v in vars(args).items() if k not in _RESUME_OPTIONS}
    if saved.get("input"):
        saved["input"] = os.path.abspath(saved["input"])
    atomic_write(os.path.join(args.out, CHECKPOINT_DIR, COMMAND_FILE),
                 json.dumps(saved, indent=2) + "\n")


def cmd_fit(args) -> int:
    from .runs import describe_outputs, train_run
    from .training import TrainingInterrupted

    if args.resume:
        args = _resume_args(args)
    elif args.out is None or not (args.dataset or args.input):
        raise UsageError("fit needs --out RUN_DIR and one of --dataset or --input "
                         "(or --resume RUN_DIR)")
    maps = _maps(args.maps)
    existed = os.path.isdir(args.out)
    if not args.resume:
        _check_out_dir(args.out, args.force)
    try:
        _configure_torch()
        estimator = _estimator(args)
        data = _run_data(args)
        if not args.resume:
            _save_command(args)
        log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
        log(f"training on {len(data.X_train)} samples, testing on {len(data.X_test)} "
            f"({args.preset} recipe, {estimator.epochs} epochs)")
        metrics = train_run(estimator, data, args.out, maps=maps,
                            extra={"seed": args.seed, "preset": args.preset}, log=log,
                            resume=bool(args.resume))
    except TrainingInterrupted as exc:
        print(f"{PROG}: {exc}; continue with: {PROG} fit --resume {shlex.quote(args.out)}",
              file=sys.stderr)
        return 128 + exc.signum
    except BaseException:
        if not existed and os.path.isdir(args.out) and not os.listdir(args.out):
            os.rmdir(args.out)  # leave no empty folder behind a failed start
        raise
    bce = metrics["test_bce"]
    print(f"test BCE {bce:.4f}  " if bce is not None else "", end="")
    print(f"test MSE {metrics['test_mse']:.5f}  SSE/image {metrics['test_sse_per_image']:.2f}  "
          f"{metrics['train_seconds']:.1f} s training ({metrics['seconds_per_epoch']:.2f} s/epoch)")
    for line in describe_outputs(args.out):
        print(line)
    return 0


def cmd_demo(args) -> int:
    args.input = None
    args.image_size = None
    args.resume = None
    return cmd_fit(args)


def _write_output(args, kind: str) -> int:
    from .datasets import write_array
    from .estimator import AutoEncoder

    est = AutoEncoder.load(args.run_dir)
    X, _, _ = _load_source(args, args.split)
    out = est.transform(X) if kind == "embed" else est.reconstruct(X)
    write_array(args.out, out)
    print(f"wrote {args.out}: {out.dtype} {tuple(out.shape)}", file=sys.stderr)
    return 0


def cmd_embed(args) -> int:
    return _write_output(args, "embed")


def cmd_reconstruct(args) -> int:
    return _write_output(args, "reconstruct")


def _baselines(text: str) -> tuple[str, ...]:
    from .evaluation.reducers import REDUCERS

    if text.strip().lower() in ("", "none"):
        return ()
    names = tuple(b.strip().lower() for b in text.split(","))
    unknown = [b for b in names if b not in REDUCERS]
    if unknown:
        raise UsageError(f"--baselines: unknown baseline {unknown[0]!r}; choose from "
                         f"{', '.join(REDUCERS)} or 'none'")
    return names


def cmd_evaluate(args) -> int:
    from .estimator import AutoEncoder
    from .runs import EVALUATION_FILES, evaluate_run, evaluation_table

    baselines = _baselines(args.baselines)
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
    from .estimator import AutoEncoder
    from .evaluation.clustering import CLUSTER_METHODS
    from .runs import CLUSTER_FILE, cluster_run

    if args.method not in CLUSTER_METHODS:
        raise UsageError(f"--method: unknown method {args.method!r}; choose from "
                         f"{', '.join(CLUSTER_METHODS)}")
    _configure_torch()
    est = AutoEncoder.load(args.run_dir)
    X, y, desc = _load_source(args, args.split)
    result = cluster_run(est, X, y, args.run_dir, n_clusters=args.n_clusters,
                         method=args.method, random_state=args.seed, labels_out=args.out,
                         description=desc)
    scores = (f"accuracy {result['accuracy']:.4f}  NMI {result['nmi']:.4f}  "
              f"ARI {result['ari']:.4f}  " if "accuracy" in result else "")
    print(f"{result['n_points']} points in {args.n_clusters} clusters ({args.method}): "
          f"{scores}{result['seconds']:.1f} s")
    print(f"wrote {os.path.join(args.run_dir, CLUSTER_FILE)}"
          + (f", {args.out}" if args.out else ""))
    return 0


def cmd_summary(args) -> int:
    from .config import ArchitectureConfig
    from .models import build_model
    from .models.summary import format_layer_table, layer_table

    if (args.run_dir is None) == (args.preset is None):
        raise UsageError("summary: give either RUN_DIR or --preset notebook")
    if args.preset:
        arch, title = ArchitectureConfig(), "The reference notebook's autoencoder (28×28 input)"
    else:
        from .estimator import AutoEncoder

        arch, title = AutoEncoder.load(args.run_dir).architecture_, f"Model in {args.run_dir}"
    model = build_model(arch)
    print(format_layer_table(layer_table(model, arch.input_shape), title))
    print(f"Output activation: {arch.output_activation} (applied to the last layer's output)")
    return 0


COMMANDS = {"fit": cmd_fit, "demo": cmd_demo, "embed": cmd_embed,
            "reconstruct": cmd_reconstruct, "evaluate": cmd_evaluate, "cluster": cmd_cluster,
            "summary": cmd_summary}


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except UsageError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError, ImportError) as exc:
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
