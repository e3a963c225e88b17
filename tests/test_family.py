"""The autoencoder family behind one estimator: denoising, convolutional, variational and
sparse models; their losses, corruptions, save/load and errors."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from autoencoders import AutoEncoder
from autoencoders.config import ArchitectureConfig, TrainingConfig, parse_corruption
from autoencoders.corruption import corrupt
from autoencoders.evaluation import near_zero_fraction
from autoencoders.losses import kl_divergence
from autoencoders.models import build_model
from autoencoders.objective import batch_objective
from autoencoders.params import architecture_from_params, recipe_from_params

KINDS = {
    "dense": {},
    "conv": {"architecture": "conv", "channels": (4, 8)},
    "denoising": {"corruption": "masking:0.3"},
    "variational": {"variational": True},
    "conv-variational-denoising": {"architecture": "conv", "channels": (4,),
                                   "variational": True, "corruption": "gaussian:0.2"},
    "sparse": {"sparsity": 0.05},
}


def _fit(X, **kw):
    params = dict(latent_dim=3, hidden_dims=None, epochs=2, batch_size=16, random_state=0,
                  verbose=0, device="cpu")
    return AutoEncoder(**{**params, **kw}).fit(X)


# ---------------------------------------------------------------- corruption
def test_gaussian_noise_has_the_requested_standard_deviation_and_leaves_input_alone():
    x = torch.full((200, 50), 0.5)
    noisy = corrupt(x, "gaussian:0.1", clip=False, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, torch.full((200, 50), 0.5))
    assert abs(float((noisy - x).std()) - 0.1) < 0.005
    clipped = corrupt(x, "gaussian:2", generator=torch.Generator().manual_seed(0))
    assert float(clipped.min()) == 0.0 and float(clipped.max()) == 1.0


def test_masking_zeroes_the_requested_fraction_and_nothing_else():
    x = torch.full((200, 50), 0.7)
    out = corrupt(x, ("masking", 0.25), generator=torch.Generator().manual_seed(0))
    zero = out == 0
    assert abs(float(zero.float().mean()) - 0.25) < 0.02
    assert torch.equal(out[~zero], x[~zero])


def test_salt_and_pepper_sets_the_fraction_to_zero_or_one_half_each():
    x = torch.full((200, 50), 0.5)
    out = corrupt(x, "salt-pepper:0.2", generator=torch.Generator().manual_seed(0))
    changed = out != 0.5
    assert abs(float(changed.float().mean()) - 0.2) < 0.02
    assert abs(float((out[changed] == 1).float().mean()) - 0.5) < 0.05
    assert set(out[changed].unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("spec", ["gaussian", "gaussian:-1", "masking:1.5", "blur:0.3",
                                  "gaussian:x", ("masking",), 3])
def test_bad_corruptions_are_refused_with_the_accepted_forms(spec):
    with pytest.raises(ValueError, match="corruption|standard deviation|fraction"):
        parse_corruption(spec)


def test_corruption_reaches_the_encoder_in_training_only():
    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(8,), latent_dim=2))
    seen = []
    model.encoder.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].clone()))
    x = torch.rand(16, 20)
    recipe = TrainingConfig(corruption="masking:0.5")
    batch_objective(model, x, recipe)
    assert not torch.equal(seen[-1], x)  # the encoder saw the corrupted batch
    model.reconstruct(x)
    assert torch.equal(seen[-1], x)  # and the clean one outside training


def test_the_target_of_a_denoising_objective_is_the_clean_batch():
    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(8,), latent_dim=2))
    x = torch.rand(16, 20)
    torch.manual_seed(0)
    noisy = corrupt(x, "gaussian:0.3")
    torch.manual_seed(0)
    loss = batch_objective(model, x, TrainingConfig(corruption="gaussian:0.3"))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(model(noisy), x)
    assert torch.allclose(loss, expected)


@pytest.mark.parametrize("kind", ["denoising", "variational"])
def test_the_same_seed_gives_the_same_weights_despite_random_noise(tiny_images, kind):
    a, b = (_fit(tiny_images, **KINDS[kind]) for _ in range(2))
    for (name, p), q in zip(a.model_.state_dict().items(), b.model_.state_dict().values(),
                            strict=True):
        assert torch.equal(p, q), name


def test_a_fitted_denoiser_gives_the_same_output_on_every_call(tiny_images):
    ae = _fit(tiny_images, corruption="gaussian:0.5")
    assert np.array_equal(ae.transform(tiny_images), ae.transform(tiny_images))
    assert np.array_equal(ae.reconstruct(tiny_images), ae.reconstruct(tiny_images))


# ---------------------------------------------------------------- variational
def test_kl_is_zero_when_the_posterior_is_the_prior_and_matches_torch_otherwise():
    zeros = torch.zeros(4, 3)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(4))
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    assert torch.allclose(kl_divergence(mean, log_var), expected, atol=1e-5)
    assert (kl_divergence(mean, log_var) > 0).all()


def test_variational_objective_adds_beta_times_kl_per_feature():
    model = build_model(ArchitectureConfig(input_shape=(20,), hidden_dims=(8,), latent_dim=2,
                                           variational=True, code_activation="linear"))
    x = torch.rand(16, 20)
    mean, log_var = model.encode_stats(x)
    kl = float(kl_divergence(mean, log_var).mean().detach()) / 20
    losses = {}
    for beta in (0.0, 2.0):
        torch.manual_seed(0)
        losses[beta] = float(batch_objective(model, x, TrainingConfig(beta=beta)).detach())
    assert losses[2.0] - losses[0.0] == pytest.approx(2 * kl, rel=1e-4)


def test_variational_transform_is_the_mean_and_samples_come_from_the_prior(tiny_images):
    ae = _fit(tiny_images, variational=True, code_activation=None)
    assert ae.architecture_.code_activation == "linear"
    codes = ae.transform(tiny_images)
    assert np.array_equal(codes, ae.transform(tiny_images))
    samples = ae.sample(5, random_state=0)
    assert samples.shape == (5, 8, 8) and samples.dtype == np.float32
    assert np.array_equal(samples, ae.sample(5, random_state=0))
    assert ((samples >= 0) & (samples <= 1)).all()
    elbo = ae.elbo(tiny_images)
    assert elbo.shape == (64,) and (elbo < 0).all()


def test_kl_settings_are_refused_without_a_variational_model_and_warmup_defaults_to_half(
        tiny_images):
    for kw in ({"beta": 4.0}, {"kl_warmup": 0.1}):
        with pytest.raises(ValueError, match="pass variational=True"):
            _fit(tiny_images, **kw)
    assert recipe_from_params(AutoEncoder(variational=True).get_params()).kl_warmup == 0.5
    assert recipe_from_params(AutoEncoder().get_params()).kl_warmup == 0.0


@pytest.mark.parametrize("corruption", ["gaussian:0.3", ("masking", 0.25)])
def test_a_reloaded_denoiser_keeps_its_corruption_and_refits(tmp_path, tiny_images, corruption):
    from sklearn.base import clone

    loaded = AutoEncoder.load(_fit(tiny_images, corruption=corruption).save(tmp_path / "m"))
    assert loaded.corruption == corruption
    assert clone(loaded).fit(tiny_images).recipe_.corruption == loaded.recipe_.corruption


def test_sample_and_elbo_need_a_variational_model(tiny_images):
    ae = _fit(tiny_images)
    for call in (lambda: ae.sample(3), lambda: ae.elbo(tiny_images)):
        with pytest.raises(ValueError, match="variational=True"):
            call()


def test_variational_needs_a_linear_code():
    with pytest.raises(ValueError, match="code_activation='linear'"):
        ArchitectureConfig(variational=True, code_activation="relu")


# ---------------------------------------------------------------- sparse, conv, all kinds
def test_an_l1_penalty_makes_the_code_sparser(blobs):
    X = blobs[0]
    dense = _fit(X, hidden_dims=(16,), latent_dim=8, epochs=30, code_activation="relu")
    sparse = _fit(X, hidden_dims=(16,), latent_dim=8, epochs=30, code_activation="relu",
                  sparsity=0.5)
    assert near_zero_fraction(sparse.transform(X)) > near_zero_fraction(dense.transform(X)) + 0.2


def test_near_zero_fraction_by_hand():
    Z = np.array([[0.0, 1.0], [0.005, -2.0]])
    assert near_zero_fraction(Z) == 0.5  # |z| ≤ 0.01 · 2
    assert near_zero_fraction(np.zeros((2, 2))) == 1.0


def test_conv_refuses_flat_rows_and_says_how_to_reshape(blobs):
    with pytest.raises(ValueError, match="reshape flat rows to images"):
        _fit(blobs[0], architecture="conv")


@pytest.mark.parametrize("kind", KINDS, ids=list(KINDS))
def test_every_kind_trains_saves_and_loads_with_identical_outputs(tmp_path, tiny_images, kind):
    ae = _fit(tiny_images, **KINDS[kind])
    assert ae.transform(tiny_images).shape == (64, 3)
    assert all(np.isfinite(ae.history_["train_loss"]))
    loaded = AutoEncoder.load(ae.save(tmp_path / kind))
    assert loaded.architecture_ == ae.architecture_ and loaded.recipe_ == ae.recipe_
    for method in ("transform", "reconstruct", "score_samples"):
        assert np.array_equal(getattr(ae, method)(tiny_images),
                              getattr(loaded, method)(tiny_images)), method
    row = loaded.interpolate(tiny_images[0], tiny_images[1], steps=4)
    assert row.shape == (4, 8, 8)
    assert np.allclose(row[0], ae.reconstruct(tiny_images[:1])[0], atol=1e-6)
    if ae.architecture_.variational:
        assert np.array_equal(ae.sample(4, random_state=1), loaded.sample(4, random_state=1))


@pytest.mark.parametrize("kind", KINDS, ids=list(KINDS))
def test_gradients_reach_every_parameter(kind):
    est = AutoEncoder(latent_dim=3, **KINDS[kind])
    arch = architecture_from_params(est.get_params(), (8, 8), in_unit=True)
    model = build_model(arch)
    x = torch.rand(16, 8, 8)
    batch_objective(model, x, recipe_from_params(est.get_params())).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def _rewrite_config(folder, change):
    path = folder / "model.safetensors"
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    config = json.loads(meta["config"])
    change(config)
    meta["config"] = json.dumps(config)
    save_file(load_file(str(path)), str(path), metadata=meta)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["architecture"].update(kind="capsule"), "architecture must be one of"),
    (lambda c: c["architecture"].update(attention_heads=4), "unknown fields"),
    (lambda c: c["recipe"].update(corruption="blur:2"), "corruption must be"),
])
def test_loading_refuses_a_configuration_it_does_not_know(tmp_path, tiny_images, change,
                                                          message):
    folder = _fit(tiny_images, epochs=1).save(tmp_path / "m")
    _rewrite_config(folder, change)
    with pytest.raises(ValueError, match=message):
        AutoEncoder.load(folder)
