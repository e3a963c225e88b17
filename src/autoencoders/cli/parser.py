"""The ``autoencoders`` argument parser: every command's options, checked at parse time."""

from __future__ import annotations

import argparse
import os
from typing import Any, NoReturn

import shtab

from ..config import ACTIVATIONS, EXPORT_FORMATS, EXPORT_PARTS, INPUT_DTYPES
from .argtypes import (
    array_out,
    at_least_two,
    corruption,
    fraction,
    image_size,
    int_list,
    log_spec,
    non_negative_float,
    number,
    positive_finite,
    positive_float,
    positive_int,
    seed,
)
from .examples import EXAMPLES

__all__ = ["build_parser", "verb_parsers", "UsageError", "PROG"]

PROG = "autoencoders"


class UsageError(Exception):
    """A command line that parses but asks for something impossible (exit 2)."""


class _Formatter(argparse.HelpFormatter):
    """argparse's wrapping, except for the examples, whose lines stay as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefix matching: '--data' must not silently mean '--dataset'.
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, not the usage block
        hint = ""
        if message.startswith("unrecognized arguments:") and any(
                os.path.exists(a) for a in message.split(":", 1)[1].split()):
            hint = ("; if the shell expanded a pattern, quote it: --input 'data/*.parquet'")
        raise UsageError(f"{message}{hint} (see '{self.prog} --help')")


class _Renamed(argparse.Action):
    """An option that was renamed: a usage error that names the new one."""

    def __init__(self, option_strings: list[str], dest: str, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, nargs="?", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        raise UsageError(f"{option_string} is now {self.new} here ({option_string} is the "
                         "training batch of 'fit' only)")


def _add_replace(p: argparse.ArgumentParser, what: str = "--out", note: str = "") -> None:
    """``--force``: write over an existing output file, which is refused without it (it may
    be anyone's: embed --out replaced another run's training data, a hostile trial)."""
    p.add_argument("--force", action="store_true",
                   help=f"replace {what} when it exists (refused otherwise){note}")


def _add_data_source(p: argparse.ArgumentParser, *, split: bool, of_run: bool = True,
                     splits: tuple[str, ...] = ("train", "test"), stream: bool = False) -> None:
    from_ = p.add_mutually_exclusive_group()
    from_.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"),
                       help="a named data set (MNIST is read from $AUTOENCODERS_DATA_DIR/mnist, "
                            "the user cache, or downloaded)")
    from_.add_argument("--input", metavar="PATH",
                       help="your data: .npy, .npz, .csv, .parquet, a folder of PNG/JPEG, of "
                          ".npy shards or of .parquet files, a quoted glob like "
                          "'data/*.parquet', or - for standard input (.npy or CSV; verbs "
                          "that apply a model)" + "; neither: the run's own data" * of_run)
    if split:
        p.add_argument("--split", choices=splits,  # None: test, and refused with --input
                       help=f"which split of --dataset: {', '.join(splits)} (default: test)")
    p.add_argument("--image-size", type=image_size, metavar="HxW",
                   help="resize the images of an --input folder to this size")
    p.add_argument("--id-column", default="auto", metavar="NAME",
                   help="the column of row ids in a .csv/.parquet --input: never a feature, "
                        "carried to .csv/.parquet outputs (default: a column named 'id' if "
                        "there is one; 'none' for no ids)")
    p.add_argument("--label-column", metavar="NAME",
                   help="a column of labels in a .csv/.parquet --input: never a feature; "
                        "colours the figures and scores evaluate and cluster (verbs on a run "
                        "take the run's when the table has it; 'none': no labels)")
    if stream:
        p.add_argument("--stream", action="store_true",
                       help="read --input (.npy, .parquet, folders and globs of them, image "
                            "folders) in parts from disk instead of into memory; inputs over "
                            "1 GiB always are. Same results, bounded memory")


def _add_device(p: argparse._ActionsContainer) -> None:
    p.add_argument("--device", default="auto",
                   help="where the model runs: auto (CUDA, then MPS, then CPU; default), cpu, "
                        "cuda, cuda:1, mps")


def _complete_dirs(action: argparse.Action) -> None:
    action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]  # shtab's hook: untyped


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and recipe")
    g.add_argument("--preset", choices=("default", "notebook", "fast"), default="default",
                   help="'notebook': the reference notebook's recipe exactly (SGD, lr 1.5, "
                        "batch 32, 50 epochs); 'default': ours (Muon or Adam, cosine decay); "
                        "'fast': the default for 3 epochs, bf16 where native (MNIST-sized data)")
    g.add_argument("--epochs", type=positive_int, help="passes over the training data")
    g.add_argument("--batch-size", type=positive_int,
                   help="samples per step (default 512 with muon, 128 otherwise; under "
                        "torchrun the global batch, shared by the processes)")
    g.add_argument("--shuffle-buffer", type=positive_int, default=65536, metavar="ROWS",
                   help="rows shuffled together each epoch; larger data is shuffled in blocks "
                        "through a buffer of this many rows (default 65536)")
    g.add_argument("--optimizer", choices=("auto", "adam", "sgd", "muon"),
                   help="auto (default): muon for a plain dense model on 10,000 rows or "
                        "more, else adam; muon: Muon for the hidden layers, Adam for the "
                        "rest; sgd: the notebook's")
    g.add_argument("--lr", type=positive_finite, metavar="LR", help="peak learning rate")
    g.add_argument("--weight-decay", type=non_negative_float, default=0.0, metavar="WD",
                   help="decoupled weight decay (AdamW's): each step scales the weights by "
                        "1 − LR × WD (default 0)")
    g.add_argument("--precision", choices=("float32", "bfloat16", "auto"),
                   help="float32 (default), the forward pass under bfloat16 autocast, or "
                        "auto: bfloat16 where the hardware has it, else float32")
    g.add_argument("--latent-dim", type=positive_int, default=25, metavar="D",
                   help="size of the latent code (default 25)")
    g.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME",
                   help=f"hidden-layer activation: {', '.join(ACTIVATIONS)} (default relu)")
    g.add_argument("--code-activation", choices=ACTIVATIONS, metavar="NAME",
                   help="activation of the latent code (default linear, which never "
                        "leaves a code unit dead; relu for demo and --preset notebook)")
    g.add_argument("--architecture", choices=("dense", "conv"), default="dense",
                   help="dense (the notebook's, default) or conv: strided convolutions to a "
                        "dense bottleneck and transposed convolutions back (images only)")
    g.add_argument("--hidden-dims", type=int_list, metavar="W,W,...",
                   help="dense encoder widths (default 400,200,100,50 for dense; none for "
                        "conv, where they sit between the convolutions and the code)")
    g.add_argument("--channels", type=int_list, default=(16, 32), metavar="C,C,...",
                   help="conv: filters of each stride-2 convolution (default 16,32; 32,64 "
                        "reconstructs a little better in 2.5× the time)")
    g.add_argument("--corruption", type=corruption, default="none", metavar="KIND:LEVEL",
                   help="train a denoising autoencoder: gaussian:SIGMA, masking:FRACTION or "
                        "salt-pepper:FRACTION (e.g. gaussian:0.3); default none")
    g.add_argument("--variational", action="store_true",
                   help="a variational autoencoder (Gaussian code, KL term; enables "
                        "'autoencoders sample')")
    g.add_argument("--beta", type=non_negative_float, default=1.0, metavar="B",
                   help="variational: weight of the KL term (β-VAE; default 1)")
    g.add_argument("--kl-warmup", type=fraction, metavar="F",
                   help="variational: fraction of the steps over which the KL weight rises "
                        "from 0 to B (default 0.5)")
    g.add_argument("--sparsity", type=non_negative_float, default=0.0, metavar="L",
                   help="weight of an L1 penalty on the code (default 0)")
    g.add_argument("--loss", choices=("bce", "mse"), default="bce")
    g.add_argument("--input-scaling", choices=("auto", "minmax", "none"), default="auto",
                   help="auto: uint8/255; minmax: each feature to [0, 1]; none")
    g.add_argument("--early-stopping", action="store_true",
                   help="stop when the loss on 10%% of the training rows, held out, stops "
                        "improving; keep the best epoch (the test rows stay unseen)")
    g.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    _add_device(g)
    d = p.add_argument_group("data and outputs")
    d.add_argument("--train-size", type=positive_int, metavar="N",
                   help="use only the first N training samples")
    d.add_argument("--test-size", type=positive_int, metavar="N",
                   help="with --dataset: use only the first N test samples; with --input: "
                        "hold out at most N rows (default 10000)")
    g.add_argument("--map", action=argparse.BooleanOptionalAction, dest="neighbour_map",
                   default=False,
                   help="also train a 2-D map of the data (a parametric neighbour "
                        "embedding), saved with the model: figures, the report, "
                        "'embed --map' and 'evaluate' use it (default: off for fit, on for "
                        "demo)")
    g.add_argument("--map-input", choices=("input", "code"), default="input",
                   help="what the map sees: the scaled input (default) or the code")
    d.add_argument("--maps", metavar="LIST",
                   help="2-D maps of the test codes to draw beside the run's map: pca,tsne "
                        "(default without --map), pca (with --map), or 'none'")
    d.add_argument("--force", action="store_true",
                   help="write into an output folder that already holds a model or an "
                        "interrupted run")
    d.add_argument("--checkpoint-every", type=positive_float, default=10.0, metavar="MIN",
                   help="checkpoint every MIN minutes as well as after every epoch (default 10)")
    d.add_argument("--keep-checkpoints", type=positive_int, default=3, metavar="K",
                   help="keep the newest K checkpoints in RUN_DIR/checkpoints (default 3)")
    d.add_argument("--no-report", action="store_true",
                   help="skip RUN_DIR/report.html (the HTML report of the run)")
    d.add_argument("--log", type=log_spec, metavar="tensorboard[:DIR],mlflow[:URI]",
                   help="also log the run for TensorBoard (into DIR, default RUN_DIR/"
                        "tensorboard; the tensorboard extra) and/or MLflow (URI, default "
                        "$MLFLOW_TRACKING_URI or ./mlruns; the mlflow extra: the client)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autoencoders`` command (all sub-commands)."""
    parser = _Parser(prog=PROG, description="Train autoencoders and use their latent codes.",
                     epilog="Run 'autoencoders COMMAND --help' for a command's options.")
    from .. import __version__

    _add_common(parser, __version__, verb=False)
    # Shell completion from this parser (never written by hand): shtab writes the script.
    shtab.add_argument_to(parser, ["--print-completion"],
                          help="print a shell's completion script and exit, e.g. "
                               "autoencoders --print-completion bash > "
                               "~/.local/share/bash-completion/completions/autoencoders")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("fit", help="train an autoencoder and write a run folder",
                       description="Train on a data set or your file; write RUN_DIR with the "
                                   "model, config, history, metrics, codes, figures and "
                                   "checkpoints. Ctrl-C (SIGINT) or SIGTERM stops after the "
                                   "current step with a checkpoint; --resume continues.")
    _add_data_source(p, split=False, of_run=False, stream=True)
    p.add_argument("--out", metavar="RUN_DIR", help="the run folder to write")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the interrupted run in RUN_DIR from its newest checkpoint, "
                        "with the options it was started with (give no others)")
    p.add_argument("--test-fraction", type=float, default=0.1, metavar="F",
                   help="with --input: fraction held out as the test split, at most "
                        "--test-size rows (default 0.1)")
    _add_training_options(p)

    p = sub.add_parser("demo", help="train the notebook's model on MNIST with our recipe",
                       description="Train the reference notebook's architecture on MNIST with "
                                   "our default recipe, and its 2-D map (--no-map skips it); "
                                   "write a run folder and its report.")
    p.add_argument("--out", default=os.path.join("runs", "demo"), metavar="RUN_DIR",
                   help="the run folder (default runs/demo)")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist", "digits"), default="mnist")
    _add_training_options(p)
    # The demo's pictures come from the model's map; its code is the notebook's ReLU one.
    p.set_defaults(neighbour_map=True, code_activation="relu")

    for name, what in (("embed", "latent codes of the data, float32 (n, latent_dim)"),
                       ("reconstruct", "reconstructions of the data, float32 in the "
                                       "input's feature shape"),
                       ("score", "anomaly scores of the data (each row's reconstruction "
                                 "loss per feature above its least, 0 for a perfect "
                                 "reconstruction; higher is more unusual), float32 (n,)")):
        p = sub.add_parser(name, help=f"write the {what}",
                           description=f"Load RUN_DIR's model and write the {what}, to "
                                       "--out (.npy, .csv or .parquet), chunk by chunk: "
                                       "inputs larger than memory are streamed.")
        _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
        _add_device(p)
        _add_data_source(p, split=True, stream=True)
        p.add_argument("--out", required=True, metavar="FILE", type=array_out,
                       help="output file: .npy, .csv or .parquet (with the ids first), or - "
                            "for CSV on standard output")
        _add_replace(p)
        p.add_argument("--chunk-size", type=positive_int, default=65536, metavar="N",
                       help="rows read, encoded and written at a time (default 65536); "
                            "memory grows with it")
        p.add_argument("--batch-size", action=_Renamed, new="--chunk-size", help=argparse.SUPPRESS)
        if name == "score":
            p.add_argument("--top", type=number(int, 0, what="an integer ≥ 0"), default=10,
                           metavar="N", help="print the N highest-scoring rows, the highest "
                                             "first (default 10; 0 prints none)")
        if name == "embed":
            p.add_argument("--map", action="store_true", dest="neighbour_map",
                           help="write the run's 2-D map coordinates (n, 2) instead of the "
                                "codes (a run fitted with --map)")

    p = sub.add_parser("evaluate", help="compare the run's code with PCA and t-SNE (and UMAP)",
                       description="Fit raw input, PCA, t-SNE (and UMAP) on the training "
                                   "points the code had, score all and the run's 2-D map on "
                                   "the same test points (trustworthiness, continuity, k-NN "
                                   "recall and accuracy, linear probe, reconstruction, "
                                   "seconds); print the table and write evaluation.json, "
                                   "evaluation.md and figures/evaluation_maps.png in RUN_DIR.")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    _add_device(p)
    _add_data_source(p, split=False)
    p.add_argument("--test-fraction", type=float, metavar="F", help="the test split of other "
                   "data than the run's (default 0.1; the run's own input keeps the run's)")
    p.add_argument("--baselines", metavar="LIST",
                   help="of pca, tsne, umap (the umap extra): default pca,tsne, and umap when "
                        "umap-learn is installed; or 'none'")
    p.add_argument("--code-maps", action=argparse.BooleanOptionalAction,
                   help="also fit each baseline to the codes (default: only for a run "
                        "without a 2-D map of its own; each costs what its baseline does)")
    p.add_argument("--subsample", type=positive_int, default=5000, metavar="N",
                   help="fit on at most N training points and score at most N test points "
                        "(default 5000)")
    p.add_argument("--k", type=positive_int, default=10,
                   help="neighbours for trustworthiness, continuity, k-NN recall (default 10)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")

    p = sub.add_parser("cluster", help="cluster the latent codes of the data",
                       description="Cluster the codes of the data: a neighbour embedding "
                                   "(UMAP, or ours) to K dimensions, then a Gaussian mixture "
                                   "from several starts (or k-means); write cluster.json "
                                   "into RUN_DIR (with accuracy, NMI and ARI when labels are "
                                   "known) and the labels to --out.")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    _add_device(p)
    _add_data_source(p, split=True, splits=("train", "test", "all"))
    p.add_argument("--n-clusters", type=at_least_two, metavar="K",
                   help="clusters to find (default: as many as the data has distinct labels)")
    p.add_argument("--method", default="auto",
                   help="auto (default: ne-gmm when the inputs fit in 2 GiB or umap-learn "
                        "is missing, else umap-gmm), umap-gmm (N2D: UMAP of the codes to K "
                        "dimensions, then a Gaussian mixture; the umap extra), ne-gmm (our "
                        "neighbour embedding of the inputs on the graph they share with the "
                        "codes, instead of UMAP) or kmeans")
    p.add_argument("--n-init", type=positive_int, default=10, metavar="N",
                   help="starts of the mixture (or k-means); the most likely is kept (default 10)")
    p.add_argument("--self-labelling", action="store_true",
                   help="images: relabel ne-gmm's clusters by a classifier (MNIST: +0.004)")
    p.add_argument("--out", metavar="FILE", type=array_out,  # checked before the minutes
                   help="cluster labels: .npy, .csv or .parquet, or - (standard output)")
    _add_replace(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")

    p = sub.add_parser("denoise", help="remove noise from images with a run's model",
                       description="Reconstruct noisy data with RUN_DIR's model (best trained "
                                   "with --corruption) and write the result to --out. With "
                                   "--add-noise the data is clean and gets noise first, so "
                                   "the PSNR of noisy and denoised images is printed.")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    _add_device(p)
    _add_data_source(p, split=True)
    p.add_argument("--out", metavar="FILE", type=array_out,
                   help="denoised data: .npy, .csv or .parquet")
    p.add_argument("--add-noise", type=corruption, metavar="KIND:LEVEL",
                   help="corrupt the (clean) data first, e.g. gaussian:0.3")
    p.add_argument("--clean", metavar="FILE",
                   help="the clean originals of --input, for the PSNR and the figure")
    p.add_argument("--figure", metavar="PNG", help="noisy / denoised (/ clean) rows")
    _add_replace(p, "--out or --figure")
    p.add_argument("--seed", type=seed, default=0, help="seed of --add-noise (default 0)")

    p = sub.add_parser("sample", help="draw new data from a variational run",
                       description="Decode codes drawn from the prior N(0, I) of RUN_DIR's "
                                   "variational autoencoder; write a grid picture (.png) or "
                                   "the array (.npy, .csv, .parquet).")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    _add_device(p)
    p.add_argument("-n", type=positive_int, default=64, metavar="N",
                   help="how many samples (default 64)")
    p.add_argument("--out", required=True, metavar="FILE", help=".png grid, or an array file")
    _add_replace(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")

    p = sub.add_parser("interpolate", help="decode the line between two samples' codes",
                       description="Encode samples I and J of the data, decode STEPS evenly "
                                   "spaced points between their codes; write a row picture "
                                   "(.png) or the array (.npy, .csv, .parquet). The data is "
                                   "the run's data set unless --dataset or --input is given.")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    _add_device(p)
    _add_data_source(p, split=True)
    p.add_argument("--from", dest="index_from", type=int, required=True, metavar="I",
                   help="index of the first sample in the split")
    p.add_argument("--to", dest="index_to", type=int, required=True, metavar="J",
                   help="index of the last sample in the split")
    p.add_argument("--steps", type=at_least_two, default=10,
                   help="points, both ends included (default 10)")
    p.add_argument("--out", required=True, metavar="FILE", help=".png row, or an array file")
    _add_replace(p)

    p = sub.add_parser("report", help="write the HTML report of one run, or of several",
                       description="Write one self-contained HTML page (it opens offline) "
                                   "with the model, training curves, reconstructions, the "
                                   "most unusual test points, an interactive map of the test "
                                   "points and the scores; several runs are put side by "
                                   "side. The data are read again as the run read them.")
    _complete_dirs(p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR"))
    p.add_argument("--out", metavar="HTML",
                   help="where to write it (default RUN_DIR/report.html for one run; needed "
                        "for several)")
    _add_replace(p, note="; the run's own report.html is always replaced")
    p.add_argument("--max-points", type=positive_int, default=10000, metavar="N",
                   help="test points on each map at most (default 10000, shared between runs)")
    _add_device(p)

    p = sub.add_parser(
        "export", help="write the model (or a part of it) to ONNX or TorchScript",
        description="Write a part of RUN_DIR's model to one file that serves without this "
                    "package: a dynamic batch axis, the input scaling inside (the encoder "
                    "takes the same raw input as 'embed'), the package version and the "
                    "model's configuration in its metadata (key 'autoencoders'). ONNX "
                    "Runtime runs it: onnxruntime.InferenceSession(FILE).")
    _complete_dirs(p.add_argument("run_dir", metavar="RUN_DIR"))
    p.add_argument("--format", choices=EXPORT_FORMATS,
                   help="onnx (needs the onnx extra) or torchscript; by default from --out's "
                        "suffix (.onnx; .pt, .pth, .ts), which must be one of those")
    p.add_argument("--part", choices=EXPORT_PARTS, default="encoder",
                   help="encoder: input → code (default); decoder: code → reconstruction; full: "
                        "input → reconstruction; map: input → 2-D map (a run fitted with --map)")
    p.add_argument("--input-dtype", choices=INPUT_DTYPES,
                   help="dtype of the raw input: uint8 (pixels 0-255, divided by 255 inside "
                        "the graph; the default for runs on MNIST, Fashion-MNIST or digits) "
                        "or float32 (values as 'embed' takes them from a float file; the "
                        "default otherwise)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the file to write (.onnx, .pt); replaced atomically")
    _add_replace(p)

    p = sub.add_parser("summary", help="print the layer table of a model",
                       description="Print layers, output shapes and parameter counts, as "
                                   "Keras' model.summary() does.")
    _complete_dirs(p.add_argument("run_dir", nargs="?", metavar="RUN_DIR"))
    p.add_argument("--preset", choices=("default", "notebook", "fast"), help="a preset's "
                   "architecture on 28×28 input (notebook: the notebook's ReLU code)")
    for name, verb in verb_parsers(parser).items():
        verb.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
        _add_common(verb, __version__)
    return parser


def _add_common(p: argparse.ArgumentParser, version: str, *, verb: bool = True) -> None:
    """The options every verb takes, as the top-level command does."""
    g = p.add_argument_group("common options")
    g.add_argument("-V", "--version", action="version", version=f"{PROG} {version}")
    if verb:
        g.add_argument("-q", "--quiet", action="store_true",
                       help="no progress, notes or warnings on stderr; results, errors and "
                            "warnings that a run's files will be deleted still print")
        g.add_argument("-v", "--verbose", action="count", default=0,
                       help="more on stderr: how the input is read and scaled, and "
                            "library log messages")
    g.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    if verb:
        g.add_argument("--config", metavar="FILE.toml",
                       help="options from a TOML file, keys named as the flags (latent-dim = "
                            "8, hidden-dims = [400, 200], early-stopping = true); flags on "
                            "the command line win. fit saves the resolved options as "
                            "RUN_DIR/options.toml")


def verb_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``{verb: its sub-parser}`` of a parser from :func:`build_parser`."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
