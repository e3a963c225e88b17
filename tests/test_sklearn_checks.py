"""scikit-learn's own API checks, run against a small AutoEncoder."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from autoencoders import AutoEncoder

# MSE with unscaled input takes any real-valued data, as the generic checks feed it.
ESTIMATOR = AutoEncoder(hidden_dims=(8,), latent_dim=2, loss="mse", input_scaling="none",
                        epochs=3, batch_size=16, random_state=0, verbose=0, device="cpu")


# Our contract is a ValueError for every bad input; scikit-learn wants a TypeError here.
EXPECTED_FAILURES = {
    "check_dtype_object": "strings in X raise ValueError (our contract), not TypeError",
}


@parametrize_with_checks([ESTIMATOR], expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
