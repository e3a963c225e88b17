"""``precision="bfloat16"``: the forward pass under bf16 autocast, everything else in float32."""

import numpy as np
import pytest
import torch

from autoencoders import AutoEncoder
from autoencoders.config import ArchitectureConfig, TrainingConfig
from autoencoders.models import build_model
from autoencoders.objective import batch_objective


@pytest.mark.parametrize("arch", [
    ArchitectureConfig(input_shape=(20,), hidden_dims=(16, 8), latent_dim=2),
    ArchitectureConfig(input_shape=(8, 8), kind="conv", channels=(4, 8), hidden_dims=(),
                       latent_dim=2),
])
def test_bfloat16_runs_the_layers_in_bf16_and_the_loss_in_float32(arch):
    torch.manual_seed(0)
    model = build_model(arch)
    x = torch.rand(32, *arch.input_shape)
    dtypes = []
    hooks = [m.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
             for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    low = batch_objective(model, x, TrainingConfig(precision="bfloat16"))
    assert dtypes and set(dtypes) == {torch.bfloat16}
    dtypes.clear()
    full = batch_objective(model, x, TrainingConfig())
    for h in hooks:
        h.remove()
    assert set(dtypes) == {torch.float32}
    assert low.dtype == torch.float32
    assert abs(low.item() - full.item()) < 0.01 * full.item()  # bf16: ~3 significant digits
    low.backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32
               for p in model.parameters())


@pytest.mark.parametrize("params", [{}, {"architecture": "conv", "channels": (4, 8)}])
def test_bfloat16_training_learns_as_float32_does(tiny_images, params):
    fits = {p: AutoEncoder(latent_dim=3, epochs=20, batch_size=16, random_state=0,
                           verbose=0, device="cpu", precision=p, **params).fit(tiny_images)
            for p in ("float32", "bfloat16")}
    losses = {p: fit.history_["train_loss"] for p, fit in fits.items()}
    assert losses["bfloat16"][-1] < 0.8 * losses["bfloat16"][0]
    # On these 64 images: dense 0.0140 against 0.0166, conv 0.3183 against 0.3177.
    assert abs(losses["bfloat16"][-1] - losses["float32"][-1]) < 0.25 * losses["float32"][-1]
    assert fits["bfloat16"].recipe_.precision == "bfloat16"
    assert fits["bfloat16"].transform(tiny_images).dtype == "float32"


def test_an_unknown_precision_is_refused_with_the_choices(tiny_images):
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainingConfig(precision="float16")
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16, auto; "
                                         "got 'AUTO'"):
        AutoEncoder(precision="AUTO", verbose=0).fit(tiny_images)


def test_a_refit_with_bad_parameters_or_data_keeps_the_fitted_model(tiny_images):
    est = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0,
                      random_state=0).fit(tiny_images)
    codes, recipe = est.transform(tiny_images), est.recipe_
    est.set_params(precision="half")
    with pytest.raises(ValueError, match="precision must be one of"):
        est.fit(tiny_images)
    est.set_params(precision="float32", hidden_dims=(0,))
    with pytest.raises(ValueError):
        est.fit(tiny_images)
    with pytest.raises(ValueError):
        est.set_params(hidden_dims=(8,)).fit(np.full_like(tiny_images, np.nan, dtype=float))
    # The earlier fit is whole: same model, same recipe, same input contract.
    assert est.recipe_ is recipe and est.feature_shape_ == tiny_images.shape[1:]
    np.testing.assert_array_equal(est.transform(tiny_images), codes)


def test_the_cli_passes_precision_to_the_estimator():
    from autoencoders.cli.fitting import _estimator
    from autoencoders.cli.parser import build_parser

    args = build_parser().parse_args(["fit", "--dataset", "mnist", "--out", "unused",
                                      "--precision", "bfloat16"])
    assert _estimator(args).precision == "bfloat16"
