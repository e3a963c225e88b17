"""Batch order: every row once per epoch, bounded rounds, the same batches in memory and
streamed, and ranks' parts that add up to the whole batch."""

import math

import numpy as np
import pytest
import torch

from autoencoders import AutoEncoder, objective
from autoencoders.datasets import open_source
from autoencoders.training import batching
from autoencoders.training.batching import epoch_rounds, rank_part


def _batches(n, bs, buffer, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [list(r) for r in epoch_rounds(n, bs, buffer, gen)]


@pytest.mark.parametrize("n, bs, buffer", [(1000, 64, 4096), (1000, 64, 300), (1001, 7, 128),
                                           (50, 64, 16)])
def test_every_row_once_in_ceil_n_over_b_batches(monkeypatch, n, bs, buffer):
    monkeypatch.setattr(batching, "BLOCK_ROWS", 32)
    batches = [b for r in _batches(n, bs, buffer) for b in r]
    assert len(batches) == math.ceil(n / bs)
    assert all(len(b) == bs for b in batches[:-1])
    assert sorted(torch.cat(batches).tolist()) == list(range(n))


def test_small_data_gets_one_permutation_like_before():
    gen = torch.Generator().manual_seed(3)
    expected = list(torch.randperm(500, generator=gen).split(64))
    (only_round,) = _batches(500, 64, 500, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(only_round, expected, strict=True))


def test_rounds_read_a_bounded_number_of_blocks(monkeypatch):
    monkeypatch.setattr(batching, "BLOCK_ROWS", 32)
    rounds = _batches(10_000, 50, 320)  # 10 blocks of 32 rows per round
    assert len(rounds) > 20
    previous = set()
    for batches in rounds:
        rows = torch.cat(batches)
        assert len(rows) <= 320 + 50  # the round's rows and fewer than a batch carried
        blocks = set((rows // 32).tolist())
        own = blocks - previous
        assert len(own) <= 11  # 10 or 11 blocks per round (313 blocks in 31 rounds)
        previous = own
    first, second = (torch.cat(_batches(10_000, 50, 320, seed=s)[0]) for s in (0, 1))
    assert not torch.equal(first, second)  # the seed decides


def test_rank_parts_make_up_the_batch_and_weights_give_its_mean():
    batch = torch.arange(10)
    losses = torch.rand(10, dtype=torch.float64)
    for world in (1, 2, 3, 4):
        parts = [rank_part(batch, r, world) for r in range(world)]
        assert torch.equal(torch.cat([p for p, _ in parts]), batch)
        # DDP averages the ranks' gradients: mean over ranks of weight × local mean loss.
        ddp = sum(w * losses[p].mean() for p, w in parts) / world
        assert float(ddp) == pytest.approx(float(losses.mean()))
    part, weight = rank_part(torch.arange(2), 2, 3)  # more ranks than rows
    assert len(part) == 1 and weight == 0.0


@pytest.fixture
def mnist_files(mnist, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = mnist["test"][0][:1500].reshape(1500, 784)
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "shards").mkdir()
    for i, cut in enumerate(np.array_split(np.arange(1500), 4)):
        np.save(tmp_path / "shards" / f"{i}.npy", X[cut])
    pixels = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 784)
    pq.write_table(pa.table({"id": np.arange(1500), "pixels": pixels}), tmp_path / "x.parquet",
                   row_group_size=200)
    return X, tmp_path


def test_streamed_sources_train_on_the_same_batches_as_memory(mnist_files, monkeypatch):
    """Real MNIST in memory, as a memory-mapped .npy, .npy shards and Parquet (row groups
    that straddle the shuffle blocks): the same seed gives the same batches, so the same
    weights bit for bit, with several rounds of the block shuffle per epoch."""
    X, folder = mnist_files
    monkeypatch.setattr(batching, "BLOCK_ROWS", 64)
    seen: list[list[float]] = []
    original = objective.batch_objective

    def recording(model, xb, *args, **kwargs):
        seen[-1].append(float(xb.double().sum()))
        return original(model, xb, *args, **kwargs)

    monkeypatch.setattr(objective, "batch_objective", recording)
    params = dict(hidden_dims=(64,), latent_dim=8, epochs=2, batch_size=100, verbose=0,
                  shuffle_buffer=256, random_state=0)
    weights = []
    for data in (X, np.load(folder / "x.npy", mmap_mode="r"), open_source(folder / "shards"),
                 open_source(folder / "x.parquet")):
        seen.append([])
        ae = AutoEncoder(**params).fit(data)
        weights.append([v.clone() for v in ae.model_.state_dict().values()])
    assert len(seen[0]) == 2 * 15 + 1  # the sanity check's batch, then 15 per epoch
    assert all(s == seen[0] for s in seen[1:])
    assert all(torch.equal(a, b) for w in weights[1:] for a, b in zip(weights[0], w,
                                                                         strict=True))


def test_streamed_fit_checks_and_scales_like_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(5, 2, size=(300, 6))
    np.save(tmp_path / "x.npy", X)
    params = dict(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0, random_state=0)
    with pytest.raises(ValueError, match="'bce' loss needs \\[0, 1\\]"):
        AutoEncoder(input_scaling="none", **params).fit(open_source(tmp_path / "x.npy"))
    memory = AutoEncoder(input_scaling="minmax", **params).fit(X)
    streamed = AutoEncoder(input_scaling="minmax", **params).fit(open_source(tmp_path / "x.npy"))
    for key in ("offset", "scale"):
        np.testing.assert_array_equal(memory.scaling_stats_[key], streamed.scaling_stats_[key])
    np.testing.assert_array_equal(memory.transform(X),
                                  streamed.transform(open_source(tmp_path / "x.npy")))
    X[7, 2] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(ValueError, match="NaN or infinite values \\(first in sample 7, "):
        AutoEncoder(**params).fit(open_source(tmp_path / "nan.npy"))
    with pytest.raises(ValueError, match=r"has 7 features, .* got \(3, 7\)"):
        np.save(tmp_path / "wide.npy", np.zeros((3, 7)))
        memory.transform(open_source(tmp_path / "wide.npy"))


def test_early_stopping_holds_out_streamed_rows(tmp_path, blobs):
    X, _ = blobs
    np.save(tmp_path / "x.npy", X)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, early_stopping=True, verbose=0,
                     random_state=0).fit(open_source(tmp_path / "x.npy"))
    assert all(v is not None for v in ae.history_["val_loss"])


def test_streamed_validation_data_does_not_decide_the_output(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "train.npy", rng.uniform(0, 1, (200, 5)))
    np.save(tmp_path / "val.npy", rng.uniform(0, 2, (50, 5)))
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, loss="mse", verbose=0,
                     random_state=0).fit(open_source(tmp_path / "train.npy"),
                                         validation_data=open_source(tmp_path / "val.npy"))
    assert ae.architecture_.output_activation == "sigmoid"  # the training data is in [0, 1]
