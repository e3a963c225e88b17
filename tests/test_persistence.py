import json

import numpy as np
import pytest
import torch

from autoencoders import AutoEncoder
from autoencoders.persistence import CONFIG_FILE, MODEL_FILE


@pytest.fixture
def fitted(tiny_images):
    return AutoEncoder(hidden_dims=(16,), latent_dim=3, epochs=2, random_state=0, verbose=0,
                       device="cpu").fit(tiny_images)


def test_round_trip_gives_identical_codes_and_attributes(fitted, tiny_images, tmp_path):
    fitted.save(tmp_path / "m")
    loaded = AutoEncoder.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.transform(tiny_images), fitted.transform(tiny_images))
    np.testing.assert_array_equal(loaded.reconstruct(tiny_images), fitted.reconstruct(tiny_images))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.feature_shape_ == (8, 8) and loaded.n_features_in_ == 64
    assert loaded.history_["train_loss"] == pytest.approx(fitted.history_["train_loss"])
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    assert config["format_version"] == 1
    assert config["architecture"]["latent_dim"] == 3
    assert config["environment"]["torch"]


def test_minmax_statistics_are_saved(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32) * 9
    X[:, 1], X[:, 2] = 3.0, np.arange(50) % 2  # constant, and a range of exactly 1
    ae = AutoEncoder(hidden_dims=(4,), latent_dim=2, epochs=1, input_scaling="minmax",
                     verbose=0).fit(X)
    ae.save(tmp_path / "m")
    loaded = AutoEncoder.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.reconstruct(X), ae.reconstruct(X))
    np.testing.assert_array_equal(loaded.scaling_stats_["constant"], [0, 1, 0, 0])
    np.testing.assert_array_equal(loaded.input_spec_.ranged, [1, 0, 1, 1])

    from safetensors.torch import load_file, save_file

    weights = tmp_path / "m" / "model.safetensors"
    # A model saved before the constant features were recorded: those of scale 1 (the
    # range-1 one too) count as constant, as they did.
    header = json.loads(weights.read_bytes()[8:8 + int.from_bytes(
        weights.read_bytes()[:8], "little")])["__metadata__"]
    assert header["format_version"] == "4"  # older readers refuse it by its version
    header = {"format_version": "1",
              "config": header["config"].replace('"format_version": 4', '"format_version": 1')}
    save_file({k: v for k, v in load_file(str(weights)).items() if k != "scaling.constant"},
              str(weights), metadata=header)
    np.testing.assert_array_equal(AutoEncoder.load(tmp_path / "m").input_spec_.ranged,
                                  [1, 0, 0, 1])
    tensors = {k: v for k, v in load_file(str(weights)).items() if not k.startswith("scaling.")}
    save_file(tensors, str(weights), metadata={"format_version": "1"})
    with pytest.raises(ValueError, match="lacks the statistics"):
        AutoEncoder.load(tmp_path / "m")


def test_pickle_files_are_refused_with_the_reason(tmp_path, fitted):
    pt = tmp_path / "model.pt"
    torch.save(fitted.model_.state_dict(), pt)
    with pytest.raises(ValueError, match="refusing to load a pickle-based file"):
        AutoEncoder.load(pt)


def test_the_weights_header_is_the_configuration_and_legacy_folders_use_config_json(
        fitted, tiny_images, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = fitted.save(tmp_path / "m")
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["architecture"]["latent_dim"] = 4
    (folder / CONFIG_FILE).write_text(json.dumps(config))  # the readable copy is not used
    np.testing.assert_array_equal(AutoEncoder.load(folder).transform(tiny_images),
                                  fitted.transform(tiny_images))

    # A file from before the header carried the configuration: config.json is read.
    weights = folder / MODEL_FILE
    save_file(load_file(weights), weights, metadata={"format_version": "1"})
    with pytest.raises(ValueError, match="do not match the model's configuration"):
        AutoEncoder.load(folder)
    config["format_version"] = 99
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"{CONFIG_FILE}: format_version 99 is not supported"):
        AutoEncoder.load(folder)
    (folder / CONFIG_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=f"{CONFIG_FILE}: missing"):
        AutoEncoder.load(folder)


def test_a_crash_between_the_files_of_a_save_leaves_a_whole_model(fitted, tiny_images,
                                                                   tmp_path, monkeypatch):
    import autoencoders.persistence as persistence

    folder = fitted.save(tmp_path / "m")
    newer = AutoEncoder(hidden_dims=(16,), latent_dim=3, epochs=3, random_state=1, verbose=0,
                        device="cpu").fit(tiny_images)

    write = persistence.atomic_write

    def crash(path, data):
        if str(path).endswith(".safetensors"):
            return write(path, data)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence, "atomic_write", crash)  # after model.safetensors
    with pytest.raises(OSError):
        newer.save(folder)
    loaded = AutoEncoder.load(folder)  # the new weights with their own configuration
    np.testing.assert_array_equal(loaded.transform(tiny_images), newer.transform(tiny_images))
    assert loaded.history_["epoch"] == [1, 2, 3]


def test_an_estimators_unfitted_map_parameter_round_trips_and_reads_old_files_as_trained():
    from autoencoders.neighbours import NeighbourMap
    from autoencoders.persistence import params_from_json, params_to_json

    mapper = NeighbourMap(negatives=64, input_noise=0.3)
    saved = params_to_json({"neighbour_map": mapper})
    assert params_from_json(saved)["neighbour_map"].get_params() == mapper.get_params()
    # Written before the map had an activation or input noise: ReLU layers, no noise,
    # not today's GELU and 0.1.
    for name in ("activation", "input_noise"):
        del saved["neighbour_map"]["NeighbourMap"][name]
    old = params_from_json(saved)["neighbour_map"]
    assert (old.activation, old.input_noise, old.negatives) == ("relu", 0.0, 64)
