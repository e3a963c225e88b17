"""Shared fixtures: real MNIST (through AUTOENCODERS_DATA_DIR), small synthetic data."""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # make test runs two workers on the two cores: one thread each, for the workers and
    # the commands they start (autoencoders.runtime.available_cores reads it). With two
    # threads each, the torch-heavy tests ran 3-4x slower than alone (2026-12-01).
    os.environ["OMP_NUM_THREADS"] = "1"


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST as {"train": (X, y), "test": (X, y)}.

    Without a local copy or network the tests that need it are skipped on a developer's
    machine, and fail in CI (CI=true), where ../shared/data must be present.
    """
    from autoencoders.datasets import DatasetNotFoundError, load_mnist

    try:
        return {s: load_mnist(s, progress=False, timeout=5) for s in ("train", "test")}
    except DatasetNotFoundError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"real MNIST not available: {exc}")


@pytest.fixture
def blobs():
    """Points in [0, 1]^20 from 3 well-separated clusters: X float32 (300, 20), y (300,)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0.1, 0.9, size=(3, 20))
    y = rng.integers(0, 3, size=300)
    X = np.clip(centres[y] + rng.normal(0, 0.03, size=(300, 20)), 0, 1).astype(np.float32)
    return X, y


@pytest.fixture
def tiny_images():
    """uint8 images (64, 8, 8): bright squares at random places on black."""
    rng = np.random.default_rng(1)
    X = np.zeros((64, 8, 8), dtype=np.uint8)
    for img, (r, c) in zip(X, rng.integers(0, 5, size=(64, 2)), strict=True):
        img[r:r + 3, c:c + 3] = 255
    return X
