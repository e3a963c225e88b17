"""The command line's conventions, run as users run it: common options on every verb,
config files, standard input and output, shell completion, the verbs' reuse of a run's
columns, anomaly scores, a plain install's defaults."""

import io
import json
import subprocess
import sys

import numpy as np

from autoencoders.cli import build_parser
from tests.cli.helpers import COMMANDS, run, run_process


def test_every_verb_parses_quiet_and_verbose_the_same_way():
    parser = build_parser()
    for verb in COMMANDS:
        data = ["--dataset", "digits"]
        argv = {"fit": [*data, "--out", "o"], "demo": [], "embed": ["r", *data, "--out", "o.npy"],
                "reconstruct": ["r", *data, "--out", "o.npy"], "evaluate": ["r", *data],
                "score": ["r", *data, "--out", "o.csv"],
                "cluster": ["r", *data, "--n-clusters", "2"], "denoise": ["r", *data],
                "sample": ["r", "--out", "o"], "report": ["r"], "export": ["r", "--out", "o"],
                "interpolate": ["r", "--from", "0", "--to", "1", "--out", "o"],
                "summary": ["--preset", "notebook"]}[verb]
        args = parser.parse_args([verb, *argv, "-q", "-vv"])
        assert args.quiet is True and args.verbose == 2, verb


def test_a_flag_name_means_one_thing_batch_size_is_fit_only(digits_run, tmp_path):
    out, _ = digits_run
    proc = run("embed", out, "--dataset", "digits", "--out", tmp_path / "z.npy",
               "--batch-size", "10", check_code=2)
    assert "--chunk-size" in proc.stderr


def test_warnings_are_one_line_verbose_logs_how_input_is_read(tmp_path):
    # int64 values in [0, 200]: used as they are, with a warning that uint8 pixels would
    # be divided by 255 (autoencoders.inputs); -v also logs how the input was read.
    X = np.random.default_rng(0).integers(0, 201, (60, 12)).astype(np.int64)
    np.save(tmp_path / "ints.npy", X)
    common = ("fit", "--input", tmp_path / "ints.npy", "--loss", "mse", "--epochs", "1",
              "--hidden-dims", "8", "--latent-dim", "2", "--maps", "none", "--no-report")
    proc = run(*common, "--out", tmp_path / "a", "-v", check_code=0)
    lines = proc.stderr.splitlines()
    warning = [line for line in lines if line.startswith("autoencoders: warning: ")]
    assert len(warning) == 1 and "divided by 255" in warning[0], proc.stderr
    assert "UserWarning" not in proc.stderr and "warnings.warn" not in proc.stderr
    assert any("int64 values in [0, 200]" in line for line in lines), proc.stderr
    quiet = run(*common, "--out", tmp_path / "b", "-q", check_code=0)
    assert quiet.stderr == "", quiet.stderr
    # The verbs that write files beside their results: "wrote" is a note on stderr, which
    # -q silences; stdout holds the results alone (evaluate's table, cluster's scores).
    for argv in (("evaluate", "--baselines", "none", "--k", "2"),
                 ("cluster", "--n-clusters", "2", "--method", "kmeans"), ("report",),
                 ("export", "--out", tmp_path / "b.pt", "--force")):
        verb, *rest = argv
        loud = run(verb, tmp_path / "b", *rest, check_code=0)
        assert "wrote" in loud.stderr and "wrote" not in loud.stdout, verb
        quiet = run(verb, tmp_path / "b", *rest, "-q", check_code=0)
        assert quiet.stderr == "" and "wrote" not in quiet.stdout, (verb, quiet.stderr)
    unlabelled = run("cluster", tmp_path / "b", "--method", "kmeans", check_code=2)
    assert "--n-clusters K: how many clusters to find" in unlabelled.stderr
    assert "has no labels to count them from" in unlabelled.stderr
    one = run("cluster", tmp_path / "b", "--method", "kmeans", "--n-clusters", "1",
              check_code=2)
    assert "expected an integer of at least 2" in one.stderr


def test_score_writes_anomaly_scores_with_ids_and_prints_the_highest_first(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    X[37] += 9  # one row far from the others: the most unusual
    lines = ["id,income,age,a,b,c,d"] + [f"u{i}," + ",".join(f"{v:.4f}" for v in row)
                                         for i, row in enumerate(X)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    run("fit", "--input", tmp_path / "t.csv", "--input-scaling", "minmax", "--loss", "mse",
        "--out", tmp_path / "run", "--epochs", "20", "--hidden-dims", "8", "--latent-dim",
        "2", "--maps", "none", "--no-report", "-q", check_code=0)
    proc = run("score", tmp_path / "run", "--input", tmp_path / "t.csv", "--out",
               tmp_path / "s.csv", "--top", "3", check_code=0)
    printed = proc.stdout.splitlines()
    assert printed[0].split() == ["row", "id", "anomaly_score"] and len(printed) == 4
    assert printed[1].split()[:2] == ["37", "u37"]
    written = (tmp_path / "s.csv").read_text().splitlines()
    assert written[0] == "id,anomaly_score" and len(written) == 201
    scores = np.array([float(line.split(",")[1]) for line in written[1:]])
    assert scores.argmax() == 37
    printed_scores = [float(line.split()[-1]) for line in printed[1:]]
    np.testing.assert_allclose(printed_scores, np.sort(scores)[::-1][:3], rtol=1e-5)
    import pandas as pd

    from autoencoders import AutoEncoder

    # The header's names went into the model: Python's scores take the same table.
    table = pd.read_csv(tmp_path / "t.csv").drop(columns="id").astype(np.float32)
    model = AutoEncoder.load(tmp_path / "run")
    assert list(model.feature_names_in_) == ["income", "age", "a", "b", "c", "d"]
    np.testing.assert_allclose(scores, model.score_samples(table), rtol=1e-5)
    # A new row beyond the training range (clipped for the model) still ranks first.
    (tmp_path / "new.csv").write_text("\n".join(
        lines[:11] + [f"far,{X[:, 0].max() + 5 * np.ptp(X[:, 0]):.4f},0,0,0,0,0"]) + "\n")
    proc = run("score", tmp_path / "run", "--input", tmp_path / "new.csv", "--out",
               tmp_path / "s2.csv", "--top", "1", check_code=0)
    assert proc.stdout.splitlines()[1].split()[:2] == ["10", "far"]


def test_a_plain_install_runs_evaluate_and_cluster_with_their_defaults(digits_run, tmp_path,
                                                                      monkeypatch):
    # umap-learn is an extra: with it blocked, the defaults must still run.
    out, _ = digits_run
    monkeypatch.setitem(sys.modules, "umap", None)
    run("evaluate", out, "--dataset", "digits", "--subsample", "200", "-q", check_code=0)
    proc = run("cluster", out, "--dataset", "digits", "--n-clusters", "10", "--out",
               tmp_path / "c.csv", check_code=0)
    # The run's report does not show it until report is run again: said (a new user looked).
    assert f"report.html predates this clustering; 'autoencoders report {out}'" in proc.stderr
    ev = json.loads((out / "evaluation.json").read_text())
    assert "tsne_2d" in ev["methods"] and "umap_2d" not in ev["methods"]
    clustered = json.loads((out / "cluster.json").read_text())
    assert clustered["method"] == "ne-gmm" and clustered["inputs"]  # the pixels beside
    proc = run("evaluate", out, "--dataset", "digits", "--baselines", "umap", check_code=1)
    assert "pip install 'umap-learn>=0.5'" in proc.stderr


def test_shell_completion_comes_from_the_parser():
    script = run("--print-completion", "bash", check_code=0).stdout
    for word in ("embed", "export", "score", "--chunk-size", "--input-dtype"):
        assert word in script, word
    assert "_shtab_autoencoders" in run("--print-completion", "zsh", check_code=0).stdout


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.run(f"{sys.executable} -m autoencoders --print-completion bash | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("#") and proc.stderr == ""


def test_verbs_on_a_run_reuse_its_id_and_label_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 5))
    head = "key,kind,a,b,c,d,e"
    rows = [f"k{i},{'xy'[i % 2]}," + ",".join(f"{v:.4f}" for v in r) for i, r in enumerate(X)]
    (tmp_path / "t.csv").write_text("\n".join([head, *rows]) + "\n")
    # New rows without the label column: the run's id column is still taken from it.
    (tmp_path / "new.csv").write_text("\n".join(["key,a,b,c,d,e"] + [
        f"n{i}," + ",".join(f"{v:.4f}" for v in r) for i, r in enumerate(X[:7])]) + "\n")
    run("fit", "--input", tmp_path / "t.csv", "--id-column", "key", "--label-column", "kind",
        "--out", tmp_path / "run", "--epochs", "2", "--hidden-dims", "8", "--latent-dim", "2",
        "--maps", "none", "--no-report", "-q", check_code=0)
    # Neither column is given again: the run's are used, so 5 features, not 6 or 7.
    run("embed", tmp_path / "run", "--input", tmp_path / "t.csv", "--out", tmp_path / "z.csv",
        check_code=0)
    lines = (tmp_path / "z.csv").read_text().splitlines()
    assert lines[0] == "key,autoencoder0,autoencoder1" and lines[1].startswith("k0,")
    run("score", tmp_path / "run", "--input", tmp_path / "new.csv", "--out",
        tmp_path / "s.csv", check_code=0)
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("n0,")
    proc = run("cluster", tmp_path / "run", "--input", tmp_path / "t.csv", "--n-clusters", "2",
               "--method", "kmeans", check_code=0)
    assert "accuracy" in proc.stdout  # the run's label column scores the clusters
    # 'none' is no label column, as for --id-column, not a column of that name.
    proc = run("cluster", tmp_path / "run", "--input", tmp_path / "new.csv", "--label-column",
               "none", "--n-clusters", "2", "--method", "kmeans", check_code=0)
    assert "accuracy" not in proc.stdout
    # On standard input too, with or without the label column.
    for name, first in (("t.csv", "k0,"), ("new.csv", "n0,")):
        proc = run("embed", tmp_path / "run", "--input", "-", "--out", "-",
                   input=(tmp_path / name).read_bytes(), check_code=0)
        assert proc.stdout.splitlines()[1].startswith(first)
    # An id column the user names must be there, on standard input as in a file.
    proc = run("embed", tmp_path / "run", "--input", "-", "--out", "-", "--id-column", "nope",
               input=(tmp_path / "t.csv").read_bytes(), check_code=1)
    assert "standard input: no column 'nope' for the ids" in proc.stderr
    # An .npz archive on standard input (which takes .npy or CSV) is named as such.
    import io

    archive = io.BytesIO()
    np.savez(archive, X=X)
    proc = run("embed", tmp_path / "run", "--input", "-", "--out", "-",
               input=archive.getvalue(), check_code=1)
    assert "standard input holds an .npz archive" in proc.stderr
    # Standard input or output closed when the command starts: one line, no traceback.
    autoencoders = f"{sys.executable} -m autoencoders embed {tmp_path / 'run'}"
    for redirect, message in ((f"--input {tmp_path / 't.csv'} --out - >&-",
                               "standard output is closed"),
                              (f"--input - --out {tmp_path / 'o.npy'} <&-",
                               "standard input is closed")):
        closed = subprocess.run(f"{autoencoders} {redirect}", shell=True, capture_output=True,
                                text=True, timeout=300)
        assert closed.returncode == 1 and message in closed.stderr, closed.stderr
        assert "Traceback" not in closed.stderr
    # A verb that prints its results there does not run to lose them (summary and
    # evaluate printed their tables into nothing and exited 0); one that writes a file does.
    # Opened read-only (1<file) is refused as closed is; a verb that would print nothing
    # there (denoise without clean data, score --top 0) runs.
    (tmp_path / "ro.txt").write_text("mine\n")
    new = tmp_path / "new.csv"
    for verb, redirect, code in (
            ("summary", ">&-", 1), ("evaluate", ">&-", 1),
            ("summary", f"1<{tmp_path / 'ro.txt'}", 1),
            (f"embed --input {new} --out {tmp_path / 'o.npy'}", ">&-", 0),
            (f"denoise --input {new} --out {tmp_path / 'd.npy'}", ">&-", 0),
            (f"score --input {new} --out {tmp_path / 's.npy'} --top 0", ">&-", 0),
            (f"score --input {new} --out {tmp_path / 's.npy'}", ">&-", 1)):
        closed = subprocess.run(f"{sys.executable} -m autoencoders {verb.split()[0]} "
                                f"{tmp_path / 'run'} {' '.join(verb.split()[1:])} {redirect}",
                                shell=True, capture_output=True, text=True, timeout=300)
        assert closed.returncode == code, (verb, redirect, closed.stderr)
        assert ("standard output is closed or read-only" in closed.stderr) == (code == 1)
    assert (tmp_path / "ro.txt").read_text() == "mine\n"
    closed = subprocess.run(f"{sys.executable} -m autoencoders --print-completion bash >&-",
                            shell=True, capture_output=True, text=True, timeout=300)
    assert closed.returncode == 1 and "the completion script would be lost" in closed.stderr
    # With --out -, the data alone goes to standard output; denoise's PSNR to stderr.
    proc = run("denoise", tmp_path / "run", "--input", new, "--add-noise", "gaussian:0.1",
               "--out", "-", check_code=0)
    assert proc.stdout.startswith("key,") and "PSNR" in proc.stderr


def test_a_config_file_sets_options_the_command_line_wins_and_fit_saves_them(tmp_path):
    import tomllib

    X = np.random.default_rng(0).uniform(size=(80, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "recipe.toml").write_text(
        'epochs = 2\nhidden-dims = [8]\nlatent_dim = 2\nloss = "mse"\nmaps = "none"\n'
        "no-report = true\nmap = false\n")
    run("fit", "--config", tmp_path / "recipe.toml", "--input", tmp_path / "x.npy", "--out",
        tmp_path / "a", "--latent-dim", "3", "-q", check_code=0)
    params = json.loads((tmp_path / "a" / "config.json").read_text())["params"]
    assert (params["epochs"], params["hidden_dims"], params["loss"]) == (2, [8], "mse")
    assert params["latent_dim"] == 3  # the command line wins over the file
    saved = tomllib.loads((tmp_path / "a" / "options.toml").read_text())
    assert saved["latent-dim"] == 3 and saved["hidden-dims"] == [8] and "out" not in saved
    # The saved options run again as a recipe: the same model.
    run("fit", "--config", tmp_path / "a" / "options.toml", "--out", tmp_path / "b", "-q",
        check_code=0)
    again = json.loads((tmp_path / "b" / "config.json").read_text())["params"]
    assert again == params
    (tmp_path / "bad.toml").write_text("latent_dimension = 4\n")
    proc = run("fit", "--config", tmp_path / "bad.toml", "--input", tmp_path / "x.npy",
               "--out", tmp_path / "c", check_code=2)
    assert "'latent_dimension' is not an option of 'fit'" in proc.stderr
    for text, message in (("config = 'other.toml'\n", "not an option of 'fit' that a file"),
                          ("map = 'yes'\n", "'map' is a switch: give true or false")):
        (tmp_path / "bad.toml").write_text(text)
        proc = run("fit", "--config", tmp_path / "bad.toml", "--input", tmp_path / "x.npy",
                   "--out", tmp_path / "c", check_code=2)
        assert message in proc.stderr, proc.stderr
    (tmp_path / "bad.toml").write_bytes(b'out = "\xff\xfe"\n')
    proc = run("fit", "--config", tmp_path / "bad.toml", "--input", tmp_path / "x.npy",
               check_code=2)
    assert "bad.toml: not UTF-8 text" in proc.stderr
    proc = run("fit", "--config", tmp_path / "recipe.toml", "--config", tmp_path / "bad.toml",
               "--input", tmp_path / "x.npy", "--out", tmp_path / "c", check_code=2)
    assert "--config given twice" in proc.stderr
    (tmp_path / "bad.toml").write_text("epochs = -1\n")
    proc = run("fit", "--config", tmp_path / "bad.toml", "--input", tmp_path / "x.npy",
               "--out", tmp_path / "c", check_code=2)
    assert "--epochs" in proc.stderr and "positive integer" in proc.stderr
    assert not (tmp_path / "c").exists()


def test_standard_input_and_output_for_the_verbs_that_apply_a_model(digits_run, tmp_path):

    out, _ = digits_run
    X = np.random.default_rng(0).uniform(0, 1, (20, 8, 8)).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, X)
    # A real pipe into the console command, .npy bytes in and CSV out.
    proc = run_process("embed", out, "--input", "-", "--out", "-", input=buffer.getvalue(),
                       check_code=0)
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == ",".join(f"autoencoder{i}" for i in range(4)) and len(lines) == 21
    from autoencoders import AutoEncoder

    codes = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(codes, AutoEncoder.load(out).transform(X), rtol=1e-5,
                               atol=1e-6)
    # CSV text on standard input, scores on standard output, the top rows on stderr.
    text = "\n".join(",".join(f"{v:.5f}" for v in row) for row in X.reshape(20, -1)) + "\n"
    proc = run("score", out, "--input", "-", "--out", "-", "--top", "2", input=text.encode(),
               check_code=0)
    assert proc.stdout.splitlines()[0] == "anomaly_score"
    assert len(proc.stdout.splitlines()) == 21 and "anomaly_score" in proc.stderr
    # Bad streams get the messages files get, naming standard input, not a temporary file.
    pickled = io.BytesIO()
    np.save(pickled, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    for data, message in ((b"a,b\n1,x\n", "standard input: column 'b' holds text ('x' on "
                           "line 2), not numbers; if it holds row ids pass --id-column b "
                           "(labels: --label-column b; in Python: id_column='b' or "
                           "label_column='b'), or remove it"),
                          (b"\x93NUMPY\x01\x00garbage", "standard input"),
                          (pickled.getvalue(), "pickle")):
        proc = run("embed", out, "--input", "-", "--out", "-", input=data, check_code=1)
        assert message in proc.stderr and "/tmp" not in proc.stderr, proc.stderr
    empty = run("embed", out, "--input", "-", "--out", tmp_path / "z.npy", check_code=1)
    assert "standard input (--input -) is empty" in empty.stderr
    fit = run("fit", "--input", "-", "--out", tmp_path / "f", check_code=2)
    assert "standard input" in fit.stderr and not (tmp_path / "f").exists()


def test_outputs_keep_the_tables_column_names_and_the_order_is_checked(tmp_path):
    X = np.random.default_rng(0).uniform(size=(100, 3))
    rows = [",".join(f"{v:.4f}" for v in r) for r in X]
    (tmp_path / "t.csv").write_text("\n".join(["income,age,height", *rows]) + "\n")
    swapped = [",".join(f"{v:.4f}" for v in r[[1, 0, 2]]) for r in X]
    (tmp_path / "s.csv").write_text("\n".join(["age,income,height", *swapped]) + "\n")
    proc = run("fit", "--input", tmp_path / "t.csv", "--out", tmp_path / "run", "--epochs",
               "2", "--hidden-dims", "4", "--latent-dim", "2", "--maps", "pca", check_code=0)
    # The run's own rows are the table's: no warning about arrays without column names.
    assert "feature names" not in proc.stderr, proc.stderr
    proc = run("evaluate", tmp_path / "run", "--input", tmp_path / "t.csv", "--baselines",
               "pca", "--k", "2", check_code=0)
    assert "feature names" not in proc.stderr, proc.stderr
    names = json.loads((tmp_path / "run" / "config.json").read_text())["feature_names_in"]
    assert names == ["income", "age", "height"]
    run("reconstruct", tmp_path / "run", "--input", tmp_path / "t.csv", "--out",
        tmp_path / "r.csv", check_code=0)
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "income,age,height"
    proc = run("interpolate", tmp_path / "run", "--input", tmp_path / "t.csv", "--from", "0",
               "--to", "1", "--out", tmp_path / "i.csv", check_code=0)
    assert (tmp_path / "i.csv").read_text().splitlines()[0] == "income,age,height"
    assert "warning" not in proc.stderr, proc.stderr
    # The same columns in another order would give wrong codes: refused, with fit's order.
    for verb, more in (("embed", ["--out", tmp_path / "z.csv"]),
                       ("interpolate", ["--from", "0", "--to", "1", "--out", tmp_path / "z.csv"]),
                       ("evaluate", ["--baselines", "pca", "--k", "2"])):
        proc = run(verb, tmp_path / "run", "--input", tmp_path / "s.csv", *more, check_code=1)
        assert ("put them in fit's order: income, age, height; in Python "
                "X[model.feature_names_in_] does, for a file write its columns in this "
                "order)") in proc.stderr, verb
    assert not (tmp_path / "z.csv").exists()
