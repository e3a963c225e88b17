"""The run workflow of the command line and of scripts: a command's data (``data``), the
run folder's life (``folder``) and its lock (``lock``), training a run (``train``),
measuring it (``evaluate``), its HTML report (``report``), a finished run as an object
(``Run``)."""

from .data import (
    DataRequest,
    Loaded,
    RunData,
    check_output,
    load,
    own_rows,
    run_data,
)
from .evaluate import cluster_run, evaluate_run, evaluation_table
from .folder import (
    claim_out_dir,
    describe_outputs,
    discard_replaced,
    read_command,
    recorded_data,
    recorded_dataset,
    remove_failed_start,
    save_command,
)
from .lock import RunFolderConflict, run_lock
from .report import run_report, run_test_data, write_run_report
from .run import Run
from .run_inputs import (
    check_unchanged,
    holds_the_runs_rows,
    run_options,
    with_run_columns,
    with_run_split,
)
from .train import (
    REFERENCE_TEST_BCE,
    RunIncomplete,
    corrupted_copy,
    train_run,
    variant_metrics,
)

__all__ = ["DataRequest", "Loaded", "RunData", "load", "run_data", "check_output",
           "check_unchanged", "holds_the_runs_rows", "run_options", "own_rows",
           "run_lock", "RunIncomplete", "train_run",
           "variant_metrics", "corrupted_copy", "REFERENCE_TEST_BCE", "evaluate_run",
           "evaluation_table", "cluster_run", "RunFolderConflict", "claim_out_dir",
           "discard_replaced",
           "save_command", "read_command", "remove_failed_start", "describe_outputs",
           "recorded_dataset", "recorded_data", "with_run_columns", "with_run_split", "run_report",
           "write_run_report", "run_test_data", "Run"]
