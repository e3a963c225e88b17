"""What a fitted autoencoder's decoder gives: reconstructions and their loss (anomaly
scores, ``score``), decoded points between two codes, samples from a variational model's
prior, posterior draws and the evidence lower bound. Mixed into ``AutoEncoder``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import objective
from .config import is_whole_number
from .datasets.source import Source
from .inputs import named
from .losses import per_sample_excess, per_sample_loss
from .runtime import select_device

if TYPE_CHECKING:
    from .config import ArchitectureConfig, TrainingConfig
    from .inputs import InputSpec
    from .models import AutoEncoderModule

__all__ = ["DecoderMixin"]

_F32 = NDArray[np.float32]
_Seed = int | np.random.RandomState | None
#: A variational model's (mean, log-variance): the log-variance is never None there.
_Stats = tuple[torch.Tensor, torch.Tensor]


class DecoderMixin:
    """:meth:`reconstruct`, :meth:`scale_input`, :meth:`score_samples`, :meth:`score`,
    :meth:`interpolate`, :meth:`sample` and :meth:`elbo` for a fitted estimator with
    ``model_``, ``architecture_``, ``recipe_``, ``input_spec_``, ``transform``,
    ``_decode``, ``_prepare`` and ``_run`` (``AutoEncoder``)."""

    # What the host estimator (``AutoEncoder``) provides.
    model_: AutoEncoderModule
    architecture_: ArchitectureConfig
    recipe_: TrainingConfig
    input_spec_: InputSpec
    feature_shape_: tuple[int, ...]
    n_features_in_: int
    device: str
    if TYPE_CHECKING:
        def transform(self, X: Any, *, sample: bool = False, random_state: _Seed = None
                      ) -> _F32: ...

        def _decode(self, Z: Any, scaled: bool = False) -> _F32: ...

        def _prepare(self, X: Any, what: str = "X") -> NDArray[Any] | Source: ...

        def _run(self, fn: Callable[[torch.Tensor], torch.Tensor],
                 X_prepared: NDArray[Any] | Source) -> _F32: ...

    def reconstruct(self, X: Any, *, scaled: bool = False) -> _F32:
        """Encode and decode ``X`` in one pass: ``inverse_transform(transform(X))``.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)
        scaled : bool, default False
            Return reconstructions in the model's scaled units (as :meth:`scale_input`),
            not the input's; they differ only for ``input_scaling="minmax"``.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            Same units as :meth:`inverse_transform` unless ``scaled``.

        Raises
        ------
        ValueError
            As :meth:`transform`.
        """
        check_is_fitted(self, "model_")
        R = self._run(self.model_.reconstruct, self._prepare(X))
        return R if scaled else self.input_spec_.unscale(R)

    def scale_input(self, X: Any) -> _F32:
        """Validate ``X`` and scale it as the model sees it.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            uint8 divided by 255 (``input_scaling="auto"``), min-max scaled, or unchanged.

        Raises
        ------
        ValueError
            As :meth:`transform`.
        """
        check_is_fitted(self, "model_")
        rows = self.input_spec_.check(X)
        data = rows.data.to_numpy() if isinstance(rows.data, Source) else rows.data
        return self.input_spec_.scaled(data, clip=not rows.in_range)

    def score_samples(self, X: Any) -> _F32:
        """How badly each sample is reconstructed: an anomaly score.

        Values beyond the model's [0, 1] range (new data beyond the training range of a
        min-max scaled model, within the tolerance that :meth:`transform` accepts) are
        clipped before the model sees them; the score adds what clipping removed, so that
        such a row ranks as anomalous instead of scoring as its clipped copy.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)

        Returns
        -------
        ndarray of float32, shape (n_samples,)
            The clipped sample's reconstruction loss above the least it can be for that
            sample (:func:`autoencoders.losses.per_sample_excess`: the BCE less the
            sample's own binary entropy, i.e. KL(x ‖ x̂) in nats, or the squared error)
            averaged over its features, plus the mean over its features of the squared
            distance beyond [0, 1] (0 for values within, and for features constant in
            training), both in the model's scaled units; 0 for a perfect reconstruction.
            Higher means worse reconstructed, i.e. more anomalous. (Unlike scikit-learn's
            outlier detectors, higher is *less* normal.)

        Raises
        ------
        ValueError
            As :meth:`transform`.
        """
        return self._scored(X, per_sample_excess)

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean reconstruction loss per pixel (the training loss: BCE in nats, or
        squared error, plus what clipping to the training range removed, as in
        :meth:`score_samples`), a float (higher is better), as scikit-learn's model
        selection expects of a score; on validation data, −``history_["val_loss"]``.
        Raises as :meth:`transform`."""
        return -float(self._scored(X, per_sample_loss).mean())

    def _scored(self, X: Any, per_sample: Callable[..., torch.Tensor]) -> _F32:
        """``per_sample(logits, x, loss, output_activation)`` of the clipped rows, plus the
        mean squared distance of their features beyond [0, 1]: shape (n,)."""
        check_is_fitted(self, "model_")
        loss, out_act = self.recipe_.loss, self.architecture_.output_activation
        rows = self.input_spec_.check(X)
        if rows.in_range:
            return self._run(lambda xb: per_sample(self.model_(xb), xb, loss, out_act),
                             self.input_spec_.model_input(rows))

        # A feature constant in training has no range to measure a distance in: only its
        # clipped value counts. Counted in raw units, one lit pixel that was 0 in every
        # training image scored 1,009 against a digit's 0.40.
        ranged = self.input_spec_.ranged
        counted = None if ranged is None else torch.from_numpy(ranged)

        def scored(xb: torch.Tensor) -> torch.Tensor:
            inside = xb.clamp(0.0, 1.0)
            gap = (xb - inside).square()  # (n, *feature_shape)
            if counted is not None:
                gap = gap * counted.to(gap.device)
            beyond = gap.flatten(1).mean(1)  # (n,): 0 for in-range rows
            return per_sample(self.model_(inside), inside, loss, out_act) + beyond

        return self._run(scored, self.input_spec_.model_input(rows, clip=False))

    def interpolate(self, x_from: Any, x_to: Any, steps: int = 10, *,
                    scaled: bool = False) -> _F32:
        """Decode evenly spaced points on the line between two samples' codes.

        Parameters
        ----------
        x_from, x_to : array-like, shape feature_shape_ (or (1, *feature_shape_))
            Two samples (e.g. two test images).
        steps : int, default 10
            Points on the line, both ends included (at least 2).
        scaled : bool, default False
            In the model's scaled units ([0, 1] for a sigmoid output, as pictures take
            them) instead of the input's (they differ only for min-max scaling).

        Returns
        -------
        ndarray of float32, shape (steps, *feature_shape_)
            ``inverse_transform((1 − t) · z_from + t · z_to)`` for t = 0, 1/(steps−1), …, 1.

        Raises
        ------
        ValueError
            For steps that is not a whole number of at least 2, or samples of the wrong shape.
        """
        check_is_fitted(self, "model_")
        if not is_whole_number(steps) or steps < 2:
            raise ValueError(f"steps must be an integer of at least 2, got {steps!r}")
        ends: list[_F32] = []
        for name, x in (("x_from", x_from), ("x_to", x_to)):
            x = np.asarray(x)
            if x.shape == self.feature_shape_ or x.shape == (self.n_features_in_,):
                x = x[None]
            if x.ndim < 2 or len(x) != 1:
                raise ValueError(f"{name} must be one sample of shape {self.feature_shape_}, "
                                 f"got an array of shape {x.shape}")
            # One sample has no column names: it is taken in the order of fit's columns.
            names = getattr(self, "feature_names_in_", None)
            ends.append(self.transform(named(x, name, feature_names=names)))
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self._decode((1 - t) * ends[0] + t * ends[1], scaled)

    def _check_variational(self, what: str) -> None:
        check_is_fitted(self, "model_")
        if not self.architecture_.variational:
            raise ValueError(f"{what} needs a variational autoencoder; this one was fitted "
                             "without (refit with variational=True, or fit --variational)")

    def sample(self, n_samples: int = 1, random_state: _Seed = None, *,
               scaled: bool = False) -> _F32:
        """Draw new data from a variational autoencoder: decode codes drawn from the prior
        N(0, I).

        Parameters
        ----------
        n_samples : int, default 1
        random_state : int, RandomState or None
            Seeds the codes drawn.
        scaled : bool, default False
            As in :meth:`interpolate`.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            The decoder's mean output (pixel intensities in [0, 1] for a sigmoid output), in
            the input's units as :meth:`inverse_transform` gives them (unless ``scaled``).

        Raises
        ------
        ValueError
            For a model that is not variational, or n_samples that is not a whole number ≥ 1.
        """
        self._check_variational("sample")
        if not is_whole_number(n_samples) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.architecture_.latent_dim))
        return self._decode(Z.astype(np.float32), scaled)

    def _posterior_draws(self, X: Any, random_state: _Seed = None) -> _F32:
        """``transform(X, sample=True)``: one code per sample drawn from a variational
        model's posterior, ``mean + σ · ε`` (Kingma & Welling 2014); float32 (n, latent)."""
        self._check_variational("transform(sample=True)")
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        gen = torch.Generator(device=select_device(self.device)).manual_seed(seed)
        model = self.model_
        return self._run(lambda xb: model.sample_code(*cast(_Stats, model.encode_stats(xb)), gen),
                         self._prepare(X))

    def elbo(self, X: Any, random_state: int = 0) -> _F32:
        """The evidence lower bound of each sample under a variational autoencoder, in nats.

        ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I)), with the Bernoulli likelihood of
        the BCE loss summed over the features and one code drawn from q per sample (an
        unbiased estimate; Kingma & Welling 2014, eq. 10). The ELBO is at most log p(x), so
        it is negative; −ELBO per image is the number VAE papers report on binarised MNIST
        (for grey-level pixels, as here, it is a bound for the continuous targets' BCE).

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_)
        random_state : int, default 0
            Seeds the codes drawn, so the same call gives the same numbers.

        Returns
        -------
        ndarray of float32, shape (n_samples,)
            Nats per sample.

        Raises
        ------
        ValueError
            For a model that is not variational or not trained with loss="bce".
        """
        self._check_variational("elbo")
        if self.recipe_.loss != "bce":
            raise ValueError("elbo needs the Bernoulli likelihood of loss='bce'; this model "
                             f"was trained with loss={self.recipe_.loss!r}")
        gen = torch.Generator(device=select_device(self.device)).manual_seed(int(random_state))
        return self._run(lambda xb: objective.elbo(self.model_, xb, gen), self._prepare(X))
