import torch

from autoencoders.config import ArchitectureConfig
from autoencoders.models import build_model, layer_table
from autoencoders.models.summary import format_layer_table


def test_notebook_architecture_has_keras_parameter_count():
    model = build_model(ArchitectureConfig())
    assert sum(p.numel() for p in model.parameters()) == 842_009
    rows = layer_table(model, (28, 28))
    widths = [r["output_shape"][-1] for r in rows if r["type"].startswith("Linear")]
    assert widths == [400, 200, 100, 50, 25, 50, 100, 200, 400, 784]
    assert rows[-1]["output_shape"] == (None, 28, 28)
    assert "Total params: 842,009" in format_layer_table(rows)


def test_shapes_of_codes_and_reconstructions():
    model = build_model(ArchitectureConfig(input_shape=(3, 5), hidden_dims=(8,), latent_dim=2))
    x = torch.rand(4, 3, 5)
    z = model.encode(x)
    assert z.shape == (4, 2)
    assert model.decode(z).shape == (4, 3, 5)
    r = model.reconstruct(x)
    assert ((r >= 0) & (r <= 1)).all()


def test_init_is_glorot_uniform_with_zero_biases():
    torch.manual_seed(0)
    model = build_model(ArchitectureConfig())
    first = model.encoder[1]
    limit = (6 / (784 + 400)) ** 0.5
    assert first.weight.abs().max() <= limit
    assert first.weight.abs().max() > 0.95 * limit
    assert torch.count_nonzero(first.bias) == 0


def test_relu_code_is_non_negative_and_linear_code_is_signed():
    torch.manual_seed(0)
    x = torch.rand(64, 10)
    relu = build_model(ArchitectureConfig(input_shape=(10,), hidden_dims=(6,), latent_dim=3))
    assert (relu.encode(x) >= 0).all()
    lin = build_model(ArchitectureConfig(input_shape=(10,), hidden_dims=(6,), latent_dim=3,
                                         code_activation="linear"))
    assert (lin.encode(x) < 0).any()
