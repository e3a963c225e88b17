"""The convolutional autoencoder: shapes for any image size, layout, parameter count."""

import pytest
import torch

from autoencoders.config import ArchitectureConfig
from autoencoders.models import ConvAutoEncoder, build_model


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (3, 7, 9), (2, 5, 5), (1, 1, 1)])
@pytest.mark.parametrize("channels", [(8,), (4, 8), (4, 8, 16)])
def test_codes_and_reconstructions_have_the_right_shapes_for_any_image_size(shape, channels):
    config = ArchitectureConfig(input_shape=shape, kind="conv", channels=channels,
                                hidden_dims=(12,), latent_dim=5)
    model = build_model(config)
    assert isinstance(model, ConvAutoEncoder)
    x = torch.rand(3, *shape)
    assert model.encode(x).shape == (3, 5)
    assert model(x).shape == (3, *shape)
    r = model.reconstruct(x)
    assert ((r >= 0) & (r <= 1)).all()


def test_mnist_conv_layers_halve_the_image_and_have_fewer_parameters_than_dense():
    conv = build_model(ArchitectureConfig(kind="conv", hidden_dims=()))
    dense = build_model(ArchitectureConfig())
    x = torch.rand(2, 28, 28)
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in conv.encoder if isinstance(m, torch.nn.Conv2d)]
    conv(x)
    for h in hooks:
        h.remove()
    assert shapes == [(16, 14, 14), (32, 7, 7)]
    n_conv = sum(p.numel() for p in conv.parameters())
    # 160 + 4,640 + 39,225 (encoder) + 40,768 + 4,624 + 145 (decoder)
    assert n_conv == 89_562
    assert n_conv < sum(p.numel() for p in dense.parameters())


def test_output_bias_is_per_channel_logit_of_the_mean():
    model = build_model(ArchitectureConfig(input_shape=(2, 4, 4), kind="conv", channels=(3,),
                                           hidden_dims=(), latent_dim=2))
    mean = torch.stack([torch.full((4, 4), 0.5), torch.full((4, 4), 0.25)])
    model.init_output_bias(mean)
    bias = model.decoder[-1].bias
    assert torch.allclose(bias, torch.tensor([0.0, torch.logit(torch.tensor(0.25))]))
