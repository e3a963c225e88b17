"""What the command-line tests share: a small trained run (scikit-learn's digits)."""

import pytest

from tests.cli.helpers import run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    proc = run("fit", "--dataset", "digits", "--out", out, "--epochs", "3", "--maps", "pca",
               "--hidden-dims", "32,16", "--latent-dim", "4", "-q", check_code=0)
    return out, proc
