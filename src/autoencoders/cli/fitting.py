"""The commands that train: ``fit`` (and ``fit --resume``) and ``demo``, which write a run
folder; torch and the workflow are imported inside them, so that ``--help`` answers at once.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import _log, _method_list, _request
from .options_file import RESUME_OPTIONS, config_text, resume_args
from .parser import PROG, UsageError, build_parser

if TYPE_CHECKING:
    from ..estimator import AutoEncoder

__all__ = ["cmd_fit", "cmd_demo"]

#: CLI options whose estimator parameter has another name.
_RENAMED = {"lr": "learning_rate", "seed": "random_state"}


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
    _refuse_logs_in_runs(args.log or (), args.out)
    place = join_torchrun(args.device)
    try:
        code = _fit(args, place.rank, place.world, maps)  # SIGTERM unwinds (main)
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


def _refuse_logs_in_runs(specs: Sequence[str], out: str) -> None:
    """A ``tensorboard:DIR`` in a run folder (this one or another, at any depth) would
    put files there that are not a run's (so that ``fit --force`` refuses the folder); the
    run's own ``RUN_DIR/tensorboard`` is where they go without DIR."""
    from ..loggers import TENSORBOARD_DIR
    from ..workflow.folder import is_run_folder

    own = Path(out).resolve()
    for spec in specs:
        kind, _, where = spec.partition(":")
        if kind != "tensorboard" or not where:
            continue
        target = Path(where).resolve()
        if target != own / TENSORBOARD_DIR and any(
                folder == own or is_run_folder(folder) for folder in (target, *target.parents)):
            raise UsageError(f"--log {spec}: {where} is in a run folder, where its event files "
                             "would be files that are not the run's; name a folder outside "
                             "run folders (or leave DIR out: the run's own tensorboard/)")


def _fit(args: Namespace, rank: int, world: int, maps: Sequence[str]) -> int:
    """cmd_fit's work in one process (one rank of a torchrun run): rank 0 holds the run
    folder's lock and writes; a new run that fails (not interrupted, not after training)
    leaves the folder as it found it."""
    from ..loggers import logger_from_spec
    from ..runtime import device_recipe
    from ..training import TrainingInterrupted
    from ..workflow import (
        RunIncomplete,
        claim_out_dir,
        discard_replaced,
        remove_failed_start,
        run_data,
        run_lock,
        save_command,
        train_run,
    )

    existed, claimed, replaced = os.path.isdir(args.out), False, None
    try:
        with run_lock(args.out) if rank == 0 else contextlib.nullcontext():
            if not args.resume and rank == 0:
                replaced = claim_out_dir(args.out, args.force, (args.input,))
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
                estimator.fit(data.train_rows(),
                              validation_data=data.validation_rows(estimator.early_stopping),
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
        if rank == 0:
            discard_replaced(args.out, replaced)  # the new run is resumable
        raise
    except BaseException:
        if rank == 0 and claimed and not args.resume:
            remove_failed_start(args.out, existed, replaced)
        elif rank == 0 and not existed and os.path.isdir(args.out) \
                and not os.listdir(args.out):
            os.rmdir(args.out)  # made only to hold the lock
        raise
    discard_replaced(args.out, replaced)  # rank 0: the others returned above
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
    if metrics.get("stopped_early"):
        print(f"note: early stopping ended training after epoch {metrics['epochs']} of "
              f"{estimator.recipe_.epochs}: the loss on the training rows held out stopped "
              f"improving; the model holds epoch {estimator.best_epoch_}")
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
