"""The translation of estimator parameters into a recipe: ``optimizer="auto"`` and the
defaults each optimiser brings (batch, learning rate, length)."""

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.config import TrainingConfig
from autoencoders.params import MUON_MIN_SAMPLES, auto_epochs, preset, recipe_from_params


def _recipe(n, **params):
    return recipe_from_params(AutoEncoder(**params).get_params(), n)


def test_auto_is_muon_at_batch_512_for_a_dense_model_on_enough_rows():
    r = _recipe(60_000)
    assert (r.optimizer, r.batch_size, r.learning_rate, r.epochs) == ("muon", 512, 8e-3, 8)
    assert _recipe(MUON_MIN_SAMPLES).optimizer == "muon"
    assert _recipe(60_000, corruption="none").optimizer == "muon"  # the CLI's spelling


def test_the_cli_trains_the_demo_with_muon():
    from autoencoders.cli.fitting import _estimator
    from autoencoders.cli.parser import build_parser

    for argv in (["demo"], ["fit", "--dataset", "mnist"]):
        est = _estimator(build_parser().parse_args([*argv, "--out", "unused"]))
        assert recipe_from_params(est.get_params(), 60_000).optimizer == "muon"


@pytest.mark.parametrize("n,params", [
    (MUON_MIN_SAMPLES - 1, {}),                      # too few rows
    (60_000, {"architecture": "conv"}),              # no hidden dense layers by default
    (60_000, {"hidden_dims": ()}),                   # none at all
    (60_000, {"variational": True}),                 # measured with Adam only
    (60_000, {"corruption": "gaussian:0.3"}),
    (60_000, {"sparsity": 0.01}),
    (None, {}),                                      # rows not known yet
])
def test_auto_is_adam_at_batch_128_elsewhere(n, params):
    r = _recipe(n, **params)
    assert (r.optimizer, r.batch_size, r.learning_rate) == ("adam", 128, 4e-3)


def test_an_explicit_optimizer_brings_its_own_batch_learning_rate_and_length():
    muon = _recipe(600, optimizer="muon")          # 2 steps an epoch: 470 epochs, 940 steps
    assert (muon.batch_size, muon.learning_rate, muon.epochs) == (512, 8e-3, 470)
    assert _recipe(60_000, optimizer="adam").epochs == 8
    assert _recipe(60_000, optimizer="adam", batch_size=256).epochs == 16  # 3,750 steps
    sgd = _recipe(60_000, optimizer="sgd")
    assert (sgd.batch_size, sgd.learning_rate) == (128, 1.5)
    given = _recipe(60_000, batch_size=64, learning_rate=1e-3, epochs=3)
    assert (given.optimizer, given.batch_size, given.learning_rate, given.epochs) == \
        ("muon", 64, 1e-3, 3)
    assert auto_epochs(60_000, 512, "muon") == 8


def test_the_default_preset_leaves_the_optimizer_batch_and_length_to_the_data():
    assert preset("default") == {"optimizer": "auto", "learning_rate": None,
                                 "schedule": "cosine", "warmup": 0.15,
                                 "init_output_bias": True, "epochs": None, "batch_size": None,
                                 "precision": "float32"}
    assert AutoEncoder(**preset("default")).get_params() == AutoEncoder().get_params()


def test_the_fast_preset_is_the_default_for_3_epochs_in_bf16_only_where_the_hardware_has_it():
    params = AutoEncoder(**preset("fast")).get_params()
    assert (params["epochs"], params["precision"]) == (3, "auto")
    mnist = recipe_from_params(params, 60_000, native_bf16=True)
    assert (mnist.optimizer, mnist.batch_size, mnist.learning_rate, mnist.epochs,
            mnist.precision) == ("muon", 512, 8e-3, 3, "bfloat16")
    assert recipe_from_params(params, 60_000, native_bf16=False).precision == "float32"
    # Where the default would not use Muon, neither does "fast".
    conv = AutoEncoder(**preset("fast"), architecture="conv").get_params()
    assert recipe_from_params(conv, 60_000).optimizer == "adam"
    # The flag only decides "auto": a precision the user chose stands.
    chosen = AutoEncoder(precision="float32").get_params()
    assert recipe_from_params(chosen, 60_000, native_bf16=True).precision == "float32"


def test_fit_records_the_precision_auto_resolved_to(monkeypatch):
    import autoencoders.runtime as runtime

    X = np.random.default_rng(0).random((64, 12), dtype=np.float32)
    for native, expected in ((False, "float32"), (True, "bfloat16")):
        monkeypatch.setattr(runtime, "native_bf16", lambda device, n=native: n)
        est = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, precision="auto",
                          verbose=0, random_state=0).fit(X)
        assert est.recipe_.precision == expected
        assert est.get_params()["precision"] == "auto"  # the parameter stays as given


def test_the_cli_pins_the_precision_auto_resolved_to_for_resume(tmp_path, monkeypatch):
    import json

    import autoencoders.runtime as runtime
    from autoencoders.cli import main

    X = np.random.default_rng(0).random((200, 12), dtype=np.float32)
    np.save(tmp_path / "x.npy", X)
    for native, expected in ((False, "float32"), (True, "bfloat16")):
        monkeypatch.setattr(runtime, "native_bf16", lambda device, n=native: n)
        out = tmp_path / expected
        assert main(["fit", "--input", str(tmp_path / "x.npy"), "--out", str(out), "-q",
                     "--preset", "fast", "--hidden-dims", "8", "--latent-dim", "2",
                     "--maps", "none", "--no-report"]) == 0
        command = json.loads((out / "checkpoints" / "command.json").read_text())
        assert (command["precision"], command["epochs"], command["optimizer"]) == \
            (expected, 3, "adam")  # 180 training rows: too few for Muon
        # What was pinned for --resume is what the run trained with.
        assert json.loads((out / "metrics.json").read_text())["precision"] == expected
        assert json.loads((out / "config.json").read_text())["recipe"]["precision"] == expected


def test_weight_decay_reaches_the_recipe_from_the_estimator_and_the_cli(tmp_path):
    import json

    from autoencoders.cli import main

    X = np.random.default_rng(0).random((200, 12), dtype=np.float32)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, weight_decay=0.01, verbose=0,
                     random_state=0).fit(X)
    assert ae.recipe_.weight_decay == 0.01
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    assert main(["fit", "--input", str(tmp_path / "x.npy"), "--out", str(out), "-q",
                 "--epochs", "1", "--weight-decay", "0.02", "--hidden-dims", "8",
                 "--latent-dim", "2", "--maps", "none", "--no-report"]) == 0
    assert json.loads((out / "config.json").read_text())["recipe"]["weight_decay"] == 0.02
    # A recipe written before the field existed reads as no decay.
    recipe = json.loads((out / "config.json").read_text())["recipe"]
    del recipe["weight_decay"]
    assert TrainingConfig.from_dict(recipe).weight_decay == 0.0


def test_fit_trains_with_the_recipe_the_rows_call_for():
    X = np.random.default_rng(0).random((MUON_MIN_SAMPLES, 12), dtype=np.float32)
    big = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0,
                      random_state=0).fit(X)
    assert (big.recipe_.optimizer, big.recipe_.batch_size) == ("muon", 512)
    small = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0,
                        random_state=0).fit(X[:500])
    assert (small.recipe_.optimizer, small.recipe_.batch_size) == ("adam", 128)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", "0.01"), ("learning_rate", True), ("weight_decay", "0.1"),
    ("weight_decay", True), ("sparsity", "0.1"), ("warmup", False), ("tol", "1e-5"),
    ("validation_fraction", True), ("init_output_bias", "no"), ("early_stopping", 1),
    ("variational", "no"), ("neighbour_map", "no"), ("neighbour_map", 1),
    ("checkpoint_every", "5"), ("checkpoint_every", True), ("keep_checkpoints", True),
    ("keep_checkpoints", 2.5)])
def test_a_string_or_bool_where_a_number_or_a_switch_is_due_is_refused_by_name(
        tmp_path, name, value):
    # float("0.1"), float(True) and bool("no") would each have trained something the user
    # did not ask for; the check comes before any training.
    X = np.random.default_rng(0).random((32, 4), dtype=np.float32)
    ae = AutoEncoder(latent_dim=2, hidden_dims=(3,), epochs=1, verbose=0,
                     checkpoint_dir=tmp_path / "ck", **{name: value})
    pattern = "every_minutes" if name == "checkpoint_every" else (
        "keep" if name == "keep_checkpoints" else name)
    with pytest.raises(ValueError, match=rf"{pattern}.*{value!r}"):
        ae.fit(X)
    assert not hasattr(ae, "model_")


def test_numbers_of_any_numeric_type_are_taken_as_floats_and_numpy_bools_as_bools():
    recipe = _recipe(1000, learning_rate=np.float32(0.5), weight_decay=1, sparsity=np.int64(0),
                     early_stopping=np.bool_(True))
    assert (recipe.learning_rate, recipe.weight_decay, recipe.sparsity) == (0.5, 1.0, 0.0)
    assert all(type(v) is float for v in (recipe.learning_rate, recipe.weight_decay))
    assert recipe.early_stopping is True
