"""Self-labelling: a classifier of shifted images relabels a clustering's clusters."""

import numpy as np
import pytest
import torch

from autoencoders.evaluation import self_labelling
from autoencoders.evaluation.clustering import can_self_label, cluster_codes, image_shape
from autoencoders.evaluation.metrics import cluster_accuracy
from autoencoders.evaluation.self_labelling import MAX_SHIFT, _shift, self_label


def _shapes(n=1200, size=16, seed=0):
    """Images of three kinds at random places: a horizontal bar, a vertical bar, a
    square; float32 (n, size, size) in [0, 1], and their kinds."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.uniform(0, 0.1, (n, size, size)).astype(np.float32)
    for i, kind in enumerate(y):
        r, c = rng.integers(2, size - 10, 2)
        if kind == 0:
            X[i, r + 4, c:c + 8] = 1
        elif kind == 1:
            X[i, r:r + 8, c + 4] = 1
        else:
            X[i, r + 2:r + 6, c + 2:c + 6] = 1
    return X, y


def test_self_label_corrects_labels_that_disagree_with_what_the_images_show():
    X, y = _shapes()
    noisy = y.copy()
    flip = np.random.default_rng(1).random(len(y)) < 0.15
    noisy[flip] = (y[flip] + 1) % 3
    relabelled = self_label(X.reshape(len(X), -1), noisy, (16, 16), random_state=0)
    assert relabelled.dtype == np.int64 and relabelled.shape == y.shape
    assert cluster_accuracy(y, noisy) < 0.88
    assert cluster_accuracy(y, relabelled) > 0.95


@pytest.fixture
def few_steps(monkeypatch):
    """A floor of 20 training steps instead of 1,000: for tests of plumbing, not quality."""
    monkeypatch.setattr(self_labelling, "SELF_LABEL_MIN_STEPS", 20)


def test_self_label_is_deterministic_for_a_seed(few_steps):
    X, y = _shapes(300)
    flat = X.reshape(len(X), -1)
    first = self_label(flat, y, (16, 16), epochs=2, random_state=3)
    np.testing.assert_array_equal(first, self_label(flat, y, (16, 16), epochs=2,
                                                    random_state=3))


def test_self_label_trains_on_smoothed_labels(few_steps, monkeypatch):
    """The clusters' labels are noisy: the classifier's targets are softened by
    SELF_LABEL_SMOOTHING (0.2, measured on MNIST), not one-hot."""
    seen = []
    cross_entropy = self_labelling.F.cross_entropy

    def recording(*args, **kwargs):
        seen.append(kwargs.get("label_smoothing", 0.0))
        return cross_entropy(*args, **kwargs)

    monkeypatch.setattr(self_labelling.F, "cross_entropy", recording)
    X, y = _shapes(300)
    self_label(X.reshape(len(X), -1), y, (16, 16), epochs=1)
    assert seen and set(seen) == {self_labelling.SELF_LABEL_SMOOTHING} and 0 < seen[0] < 1


def test_shift_moves_every_channel_of_an_image_by_at_most_max_shift():
    image = torch.zeros(2, 3, 9, 9)
    image[:, :, 4, 4] = torch.tensor([1.0, 2.0, 3.0])
    moved = _shift(image.reshape(2, -1), (3, 9, 9), torch.Generator().manual_seed(0))
    moved = moved.reshape(2, 3, 9, 9)
    for one in moved:
        where = one.nonzero()
        assert len(where) == 3 and (where[:, 1:] == where[0, 1:]).all()  # one place for all
        assert (abs(where[0, 1:] - 4) <= MAX_SHIFT).all()
        np.testing.assert_array_equal(one.sum((1, 2)), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("bad, message", [
    (dict(labels=np.zeros(5, dtype=np.int64)), "5 labels for 300 rows"),
    (dict(labels=np.full(300, 0.5)), "cluster numbers"),
    (dict(labels=np.full(300, -1)), "cluster numbers"),
    (dict(image_shape=(15, 16)), "image_shape"),
    (dict(epochs=0), "epochs"), (dict(epochs=2.5), "epochs"),
    (dict(inputs=np.full((300, 256), np.nan, dtype=np.float32)), "NaN")])
def test_self_label_refuses_arguments_that_do_not_fit(bad, message):
    X, y = _shapes(300)
    kwargs = {"inputs": X.reshape(len(X), -1), "labels": y, "image_shape": (16, 16), **bad}
    with pytest.raises(ValueError, match=message):
        self_label(**kwargs)


def test_image_shape_tells_images_from_tables():
    assert image_shape(np.zeros((4, 28, 28))) == (28, 28)
    assert image_shape(np.zeros((4, 3, 8, 8))) == (3, 8, 8)
    assert image_shape(np.zeros((4, 784))) is None and image_shape(None) is None


def test_only_ne_gmm_given_images_self_labels():
    images = np.zeros((4, 28, 28))
    assert can_self_label("ne-gmm", images) and can_self_label("ne-gmm", images[:, None])
    assert not can_self_label("ne-gmm", images.reshape(4, -1))
    assert not can_self_label("ne-gmm", None)
    assert not can_self_label("umap-gmm", images) and not can_self_label("kmeans", images)


def test_cluster_codes_self_labels_images_only_when_asked(few_steps):
    X, y = _shapes(300)
    codes = X.reshape(len(X), -1)[:, ::8] + 0  # any features of the same rows
    mixture = cluster_codes(codes, 3, "ne-gmm", inputs=X, random_state=0)
    relabelled = cluster_codes(codes, 3, "ne-gmm", inputs=X, self_labelling=True,
                               random_state=0)
    expected = self_label(X.reshape(len(X), -1), mixture, (16, 16), random_state=0)
    assert cluster_accuracy(expected, relabelled) == 1.0  # the same partition
    assert set(relabelled) == set(range(len(set(relabelled))))  # numbered 0 … c − 1
    # A table (the same rows flattened) keeps the mixture's labels.
    with pytest.warns(UserWarning, match="self-labelling was not done: it needs"):
        table = cluster_codes(codes, 3, "ne-gmm", inputs=X.reshape(len(X), -1),
                              self_labelling=True, random_state=0)
    np.testing.assert_array_equal(table, mixture)
    with pytest.warns(UserWarning, match="self-labelling was not done: it needs"):
        cluster_codes(codes, 3, "kmeans", self_labelling=True)
