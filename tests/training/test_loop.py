import functools

import numpy as np
import pytest
import torch

from autoencoders.callbacks import Callback
from autoencoders.config import ArchitectureConfig, TrainingConfig
from autoencoders.models import build_model
from autoencoders.runtime import cudnn_autotune, select_device
from autoencoders.training import (
    TrainingDivergedError,
    lr_factor,
    mean_loss,
    train,
)


def _setup(blobs, output_activation="sigmoid", **recipe):
    X = torch.from_numpy(blobs[0])
    torch.manual_seed(0)
    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(16,), latent_dim=2,
                                           code_activation="linear",
                                           output_activation=output_activation))
    return model, X, TrainingConfig(**{"epochs": 30, "batch_size": 32, **recipe})


def test_training_reduces_the_loss_well_below_the_untrained_model(blobs):
    model, X, recipe = _setup(blobs, learning_rate=1e-2, loss="mse")
    before = mean_loss(model, X, "mse", torch.device("cpu"))
    history = train(model, X, recipe, X_val=X, generator=torch.Generator().manual_seed(0))
    after = mean_loss(model, X, "mse", torch.device("cpu"))
    assert len(history) == 30
    assert after < 0.1 * before
    assert history[-1]["val_loss"] == pytest.approx(after, rel=1e-5)
    assert history[-1]["learning_rate"] == pytest.approx(0.0, abs=1e-12)  # cosine ends at 0


def test_same_seed_gives_identical_weights(blobs):
    states = []
    for _ in range(2):
        model, X, recipe = _setup(blobs, epochs=3)
        train(model, X, recipe, generator=torch.Generator().manual_seed(5))
        states.append(model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k])


def test_early_stopping_stops_and_restores_the_best_epoch(blobs):
    class Recorder(Callback):
        def __init__(self):
            self.snapshots = []

        def on_epoch_end(self, log):
            self.snapshots.append({k: v.clone() for k, v in model.state_dict().items()})

    model, X, recipe = _setup(blobs, epochs=200, learning_rate=5e-2, schedule="constant",
                              early_stopping=True, n_iter_no_change=3, tol=1e-3)
    rec = Recorder()
    history = train(model, X, recipe, X_val=X, callbacks=[rec],
                    generator=torch.Generator().manual_seed(0))
    assert len(history) < 200
    losses = [h["val_loss"] for h in history]
    best = int(np.argmin(losses))
    for k, v in model.state_dict().items():
        assert torch.equal(v, rec.snapshots[best][k])


def test_divergence_is_reported_with_advice(blobs):
    model, X, recipe = _setup(blobs, output_activation="linear", optimizer="sgd",
                              learning_rate=1e6, schedule="constant", loss="mse", epochs=5)
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        train(model, X * 1e3, recipe)


def test_callbacks_see_every_epoch_and_batch(blobs):
    class Count(Callback):
        def __init__(self):
            self.batches = self.epochs = 0

        def on_batch_end(self, batch, loss):
            self.batches += 1

        def on_epoch_end(self, log):
            self.epochs += 1

    model, X, recipe = _setup(blobs, epochs=2, batch_size=64)
    count = Count()
    train(model, X, recipe, callbacks=[count])
    assert (count.epochs, count.batches) == (2, 2 * 5)  # ceil(300 / 64) = 5


def test_a_callback_sees_the_estimator_and_model_and_can_stop_training(blobs):
    from autoencoders import AutoEncoder

    class StopAfter(Callback):
        """Stop after a number of epochs, as a Keras user sets model.stop_training."""

        def __init__(self, epochs):
            self.epochs, self.seen = epochs, []

        def on_epoch_end(self, log):
            self.seen.append((self.estimator, self.model))
            self.stop_training = log["epoch"] >= self.epochs

    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=50, verbose=0, random_state=0)
    stop = StopAfter(3)
    ae.fit(blobs[0], callbacks=[stop])
    assert ae.history_["epoch"] == [1, 2, 3] and ae.best_epoch_ == 3
    assert all(est is ae for est, _ in stop.seen) and len(stop.seen) == 3
    assert all(isinstance(model, torch.nn.Module) for _, model in stop.seen)
    # The weights are the third epoch's: the estimator's codes come from a trained model.
    assert np.isfinite(ae.transform(blobs[0])).all()


def test_the_progress_bar_draws_in_jupyter_as_on_a_terminal():
    import io

    from autoencoders.callbacks import ProgressBar

    class OutStream(io.StringIO):  # what ipykernel gives a notebook for sys.stderr
        pass

    OutStream.__module__ = "ipykernel.iostream"
    assert ProgressBar(OutStream())._draw
    assert not ProgressBar(io.StringIO())._draw  # a log file gets the epoch lines only


def test_resuming_a_finished_training_says_so_instead_of_an_epoch_past_the_last():
    import io

    from autoencoders.callbacks import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(out)
    bar.on_train_begin(3, 118)
    bar.on_resume([], 2, 40)
    bar.on_resume([], 4, 0)  # the checkpoint written at the last epoch's end
    assert out.getvalue().splitlines() == [
        "resuming at epoch 2/3, batch 40/118",
        "training had finished (3/3 epochs): nothing left to train"]


def test_a_long_training_logs_about_fifty_epoch_lines_first_and_last_included():
    import io

    from autoencoders.callbacks import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(out)
    bar.on_train_begin(500, 2)  # the 500 epochs of a small table printed 500 lines
    for epoch in range(1, 501):
        bar.on_epoch_begin(epoch)
        bar.on_epoch_end({"epoch": epoch, "train_loss": 0.5, "val_loss": None, "seconds": 0.1})
    epochs = [int(line.split()[1].split("/")[0]) for line in out.getvalue().splitlines()]
    assert epochs == [1, *range(10, 501, 10)]


def test_select_device():
    assert select_device("auto").type in ("cpu", "cuda", "mps")
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            select_device("cuda")


def test_cudnn_autotune_is_on_only_while_training_on_cuda_and_is_put_back():
    before = torch.backends.cudnn.benchmark
    with cudnn_autotune(torch.device("cpu")):
        assert torch.backends.cudnn.benchmark == before
    with cudnn_autotune(torch.device("cuda"), enabled=False):
        assert torch.backends.cudnn.benchmark == before
    # Setting the flag needs no GPU: the CUDA branch is checked here too.
    with pytest.raises(RuntimeError), cudnn_autotune(torch.device("cuda", 0)):
        assert torch.backends.cudnn.benchmark is True
        raise RuntimeError("training failed")
    assert torch.backends.cudnn.benchmark == before


def test_lr_factor_warms_up_linearly_then_decays_to_zero():
    factors = [lr_factor(s, 100, "cosine", 0.1) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:], strict=False))
    assert lr_factor(100, 100, "cosine", 0.1) == pytest.approx(0.0)
    assert lr_factor(50, 100, "constant", 0.0) == 1.0


def test_output_bias_starts_at_the_logit_of_the_mean(blobs):
    model, X, recipe = _setup(blobs, epochs=1, init_output_bias=True, learning_rate=1e-12)
    train(model, X, recipe)
    with torch.no_grad():
        recon = model.decode(torch.zeros(1, 2))[0]
    # a zero code reconstructs the mean (the tiny learning rate leaves the bias in place)
    np.testing.assert_allclose(recon.numpy(), X.mean(0).numpy(), atol=1e-4)


def test_muon_takes_the_hidden_weight_matrices_and_adam_the_rest():
    from autoencoders.config import ArchitectureConfig
    from autoencoders.models import build_model
    from autoencoders.training.optim import MuonAdam

    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(16, 8),
                                           latent_dim=3))
    opt = MuonAdam(model, 4e-3, 0.99)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert opt.muon is not None
    assert {id(p) for g in opt.muon.param_groups for p in g["params"]} == {
        id(m.weight) for m in linears[1:-1]}
    assert len(opt.param_groups) == 2 and all(g["lr"] == 4e-3 for g in opt.param_groups)
    # A model without hidden dense layers (conv, code straight from the convolutions) is Adam.
    conv = build_model(ArchitectureConfig(kind="conv", input_shape=(8, 8), hidden_dims=(),
                                          channels=(4,), latent_dim=2))
    assert MuonAdam(conv, 1e-3, 0.99).muon is None


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "muon"])
def test_weight_decay_scales_every_parameter_by_one_minus_lr_times_decay(optimizer):
    # With zero gradients every update but the decay is zero: a known answer.
    from autoencoders.training.optim import make_optimizer

    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(16, 8),
                                           latent_dim=3))
    before = [p.detach().clone() for p in model.parameters()]
    recipe = TrainingConfig(optimizer=optimizer, learning_rate=0.1, weight_decay=0.5)
    opt = make_optimizer(model, recipe)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for b, p in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), b * (1 - 0.1 * 0.5))
    # Without decay the same zero-gradient step leaves every parameter where it was.
    plain = make_optimizer(model, TrainingConfig(optimizer=optimizer, learning_rate=0.1))
    kept = [p.detach().clone() for p in model.parameters()]
    plain.step()
    assert all(torch.equal(k, p) for k, p in zip(kept, model.parameters(), strict=True))


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_a_negative_or_non_finite_weight_decay_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="weight_decay must be a non-negative number"):
        TrainingConfig(weight_decay=bad)


def test_batched_muon_updates_equal_torch_muon():
    # The mirrored hidden layers' Newton–Schulz iterations run batched; the numbers must
    # stay PyTorch's, step after step, for tall, wide and lone matrices, whatever the
    # group's learning-rate scaling, and a closure is evaluated as torch's is.
    from autoencoders.training.optim import BatchedMuon

    shapes = [(40, 20), (20, 40), (20, 10), (10, 20), (7, 3), (1, 5)]
    for adjust in ("match_rms_adamw", "original"):
        gen = torch.Generator().manual_seed(0)
        ours = [torch.nn.Parameter(torch.randn(*s, generator=gen)) for s in shapes]
        theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
        opt_ours = BatchedMuon(ours, lr=0.01)
        opt_ours.param_groups[0]["adjust_lr_fn"] = adjust
        opt_theirs = torch.optim.Muon(theirs, lr=0.01, weight_decay=0.0, adjust_lr_fn=adjust)
        for _ in range(3):
            grads = [torch.randn(*s, generator=gen) for s in shapes]

            def closure(params, grads=grads):
                for p, g in zip(params, grads, strict=True):
                    p.grad = g.clone()
                return torch.tensor(1.5)

            loss_ours = opt_ours.step(functools.partial(closure, ours))
            assert loss_ours == opt_theirs.step(functools.partial(closure, theirs)) == 1.5
        for p, q in zip(ours, theirs, strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        assert opt_ours.state_dict()["state"].keys() == opt_theirs.state_dict()["state"].keys()


def test_batched_muon_matches_torch_to_bf16_rounding_on_a_large_tall_matrix():
    # torch multiplies the transposed view of a tall matrix, we a copy: bf16 rounding may
    # differ (measured: 1.5e-3 at most on 1,500 x 500), never more than that.
    from autoencoders.training.optim import BatchedMuon

    weight = torch.randn(1500, 500, generator=torch.Generator().manual_seed(0))
    ours, theirs = torch.nn.Parameter(weight.clone()), torch.nn.Parameter(weight.clone())
    grad = torch.randn(1500, 500, generator=torch.Generator().manual_seed(1))
    ours.grad, theirs.grad = grad.clone(), grad.clone()
    BatchedMuon([ours], lr=1.0).step()
    torch.optim.Muon([theirs], lr=1.0, weight_decay=0.0, adjust_lr_fn="match_rms_adamw").step()
    step = 0.2 * 1500 ** 0.5  # the learning-rate factor: compare the updates themselves
    assert ((ours - theirs).abs().max() / step) < 3e-3
