"""What type checkers see of the public API: ``make lint`` checks this file with mypy
--strict (pyproject.toml's ``files``), so that ``from autoencoders import AutoEncoder``
keeps giving the class and its typed methods, not ``Any`` (the names are loaded lazily)."""

from typing import assert_type

import numpy as np
from numpy.typing import NDArray

from autoencoders import AutoEncoder, Run


def _codes(X: NDArray[np.float32]) -> None:
    ae = AutoEncoder(latent_dim=3).fit(X)
    assert_type(ae, AutoEncoder)
    assert_type(ae.transform(X), NDArray[np.float32])
    assert_type(Run("runs/demo").model, AutoEncoder)
