"""scikit-learn's own API checks, run against AutoEncoder with its default loss and scaling,
and the ordinary uses in pipelines, cross-validation and grid searches."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from autoencoders import AutoEncoder

# The defaults (BCE, input_scaling="auto") with a small, fast network: the checks feed
# negative and unbounded data, which "auto" maps to [0, 1] by min-max for the BCE loss.
ESTIMATOR = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, batch_size=16,
                        random_state=0, verbose=0, device="cpu")
MSE = AutoEncoder(hidden_dims=(8,), latent_dim=2, loss="mse", input_scaling="none", epochs=3,
                  batch_size=16, random_state=0, verbose=0, device="cpu")


@parametrize_with_checks([ESTIMATOR, MSE])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def small(**kw):
    return AutoEncoder(**{"hidden_dims": (16,), "latent_dim": 4, "epochs": 5, "batch_size": 64,
                          "random_state": 0, "verbose": 0, "device": "cpu", **kw})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600].astype(np.float64), y[:600]


def test_a_standard_scaler_before_the_autoencoder_works(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), small(), LogisticRegression(max_iter=500))
    assert pipe.fit(X, y).score(X, y) > 0.5


def test_cross_validation_after_min_max_scaling_scores_every_fold(digits):
    # Held-out folds scaled by the training fold's minimum and maximum reach beyond 1; the
    # model clips them instead of refusing them (the scores were NaN).
    X, y = digits
    pipe = make_pipeline(MinMaxScaler(), small(), LogisticRegression(max_iter=500))
    scores = cross_val_score(pipe, X, y, cv=3, error_score="raise")
    assert np.isfinite(scores).all() and scores.min() > 0.4


def test_grid_search_finds_a_finite_best_score_with_numpy_grids(digits):
    X, y = digits
    pipe = make_pipeline(MinMaxScaler(), small(), LogisticRegression(max_iter=500))
    grid = GridSearchCV(pipe, {"autoencoder__latent_dim": np.array([2, 8]),
                               "autoencoder__epochs": np.array([2, 6])}, cv=2,
                        error_score="raise").fit(X, y)
    assert np.isfinite(grid.best_score_)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_set_params_after_fit_keeps_transform_and_feature_names_consistent(digits):
    X, _ = digits
    ae = small().fit(X).set_output(transform="pandas")
    ae.set_params(latent_dim=3)  # takes effect at the next fit only
    codes = ae.transform(X[:5])
    assert codes.shape == (5, 4)
    assert list(codes.columns) == list(ae.get_feature_names_out()) == [
        f"autoencoder{i}" for i in range(4)]
    assert small(latent_dim=3).fit(X).set_output(transform="pandas").transform(X[:5]).shape \
        == (5, 3)


def test_renamed_or_reordered_columns_are_refused_like_scikit_learn(digits):
    X, _ = digits
    df = pd.DataFrame(X[:, :8], columns=[f"c{i}" for i in range(8)])
    ae = small().fit(df)
    with pytest.raises(ValueError, match="feature names should match .*unseen at fit time: "
                                         "'x0'.*missing: 'c0'.*in Python: "
                                         r"X\[model\.feature_names_in_\]"):
        ae.transform(df.rename(columns={"c0": "x0"}))
    # More than five missing: the count of the rest, not a list cut short without a word.
    with pytest.raises(ValueError, match=r"missing: 'c1', 'c2', 'c3', 'c4', 'c5', … \(2 more\)"):
        ae.transform(df.rename(columns={f"c{i}": f"x{i}" for i in range(1, 8)}))
    with pytest.raises(ValueError, match="same columns in another order"):
        ae.transform(df[df.columns[::-1]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        ae.transform(df.to_numpy())
    np.testing.assert_array_equal(ae.transform(df), ae.transform(df.to_numpy()))
