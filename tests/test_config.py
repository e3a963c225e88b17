import json

import pytest

from autoencoders.config import ArchitectureConfig, TrainingConfig
from autoencoders.params import PRESETS


def test_configs_round_trip_through_json():
    arch = ArchitectureConfig(input_shape=(28, 28), hidden_dims=(10, 5), latent_dim=3)
    back = ArchitectureConfig.from_dict(json.loads(json.dumps(arch.to_dict())))
    assert back == arch
    recipe = PRESETS["notebook"]
    assert TrainingConfig.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe


def test_notebook_preset_is_the_notebooks_recipe():
    r = PRESETS["notebook"]
    assert (r.optimizer, r.learning_rate, r.batch_size, r.epochs, r.schedule) == \
        ("sgd", 1.5, 32, 50, "constant")


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"learning_rate": -1}, "learning_rate must be a positive"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of"),
    ({"loss": "l1"}, "loss must be one of"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
])
def test_training_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingConfig(**kwargs)


def test_architecture_rejects_bad_values_and_unknown_fields():
    with pytest.raises(ValueError, match="latent_dim"):
        ArchitectureConfig(latent_dim=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        ArchitectureConfig(activation="swish")
    with pytest.raises(ValueError, match="unknown fields"):
        ArchitectureConfig.from_dict({"latent_dim": 2, "colour": "red"})
