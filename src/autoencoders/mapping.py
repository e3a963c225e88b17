"""The ``AutoEncoder``'s 2-D map (``neighbour_map``): trained after the autoencoder on its
training rows, saved with it, placing new points with one forward pass. Mixed into
``AutoEncoder``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .datasets.source import Source
from .inputs import pixels_to_unit, split
from .neighbours import NeighbourMap

if TYPE_CHECKING:
    import torch

    from .models import AutoEncoderModule

__all__ = ["MapMixin", "MAP_INPUTS", "MAP_MAX_ROWS"]

#: What the map may see.
MAP_INPUTS = ("input", "code")
#: The map's graph is exact and held in memory: larger training data trains it on a random
#: subset of this many rows (its k-NN search costs O(n²): a few seconds for 60,000 MNIST
#: images in PCA-50).
MAP_MAX_ROWS = 100_000


class MapMixin:
    """:meth:`map` and the fitting of ``neighbour_map_`` for a fitted estimator with
    ``neighbour_map``, ``map_input``, ``model_``, ``_prepare`` and ``_run``
    (``AutoEncoder``)."""

    # What the host estimator (``AutoEncoder``) provides.
    neighbour_map: bool | NeighbourMap | None
    map_input: str
    verbose: int
    model_: AutoEncoderModule
    neighbour_map_: NeighbourMap
    if TYPE_CHECKING:
        def _prepare(self, X: Any, what: str = "X") -> NDArray[Any] | Source: ...

        def _run(self, fn: Callable[[torch.Tensor], torch.Tensor],
                 X_prepared: NDArray[Any] | Source) -> NDArray[np.float32]: ...

    def _map_wanted(self, n_rows: int | None = None) -> bool:
        """Whether ``fit`` trains a map, its parameters checked before the autoencoder
        trains (a bad value must not cost the user the training first); with ``n_rows``,
        the training rows, also whether they are enough for the map's graph.

        Raises
        ------
        ValueError
            For ``neighbour_map`` other than True, False, None or a ``NeighbourMap`` (a
            string such as "no" is not False), ``map_input`` not in ``MAP_INPUTS``, invalid
            parameters of the ``NeighbourMap``, or ``n_rows`` of at most its
            ``n_neighbors`` (or fewer than 3).
        """
        if not isinstance(self.neighbour_map, (bool, type(None), NeighbourMap)):
            raise ValueError("neighbour_map must be True, False, None or a NeighbourMap, got "
                             f"{self.neighbour_map!r} ({type(self.neighbour_map).__name__})")
        if self.map_input not in MAP_INPUTS:
            raise ValueError(f"map_input must be one of {MAP_INPUTS}, got {self.map_input!r}")
        wanted = self.neighbour_map is not None and self.neighbour_map is not False
        if wanted:
            mapper = self._new_map()
            mapper._config()  # its parameters' checks
            n = min(n_rows, MAP_MAX_ROWS) if n_rows is not None else None
            if n is not None and (n < 3 or mapper.n_neighbors >= n):
                raise ValueError(f"the 2-D map (neighbour_map) needs more training rows than "
                                 f"its n_neighbors={mapper.n_neighbors} (and at least 3), got "
                                 f"{n}: pass neighbour_map=NeighbourMap(n_neighbors=...) with "
                                 "fewer, more rows, or no map (neighbour_map=False; on the "
                                 "command line leave out --map, or give --no-map)")
        return wanted

    def _new_map(self) -> NeighbourMap:
        return (clone(self.neighbour_map) if isinstance(self.neighbour_map, NeighbourMap)
                else NeighbourMap())

    def _fit_map(self, X_train: NDArray[Any] | Source, rng: np.random.RandomState
                 ) -> NeighbourMap:
        """The map of (a subset of at most ``MAP_MAX_ROWS``) training rows."""
        mapper = self._new_map()
        if self.neighbour_map is True:  # its steps in the log: it can take longer than the
            mapper.set_params(verbose=self.verbose)  # model (5 silent minutes, a new user)
        if mapper.random_state is None:
            mapper.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        if len(X_train) > MAP_MAX_ROWS:
            X_train = split(X_train, np.sort(rng.choice(len(X_train), MAP_MAX_ROWS,
                                                        replace=False)))[0]
        if isinstance(X_train, Source):
            X_train = X_train.to_numpy()
        return mapper.fit(self._map_features(X_train))

    def _map_features(self, X_prepared: NDArray[Any] | Source) -> NDArray[np.float32]:
        """Model inputs → what the map sees, float32 (n, features)."""
        if self.map_input == "code":
            return self._run(self.model_.encode, X_prepared)
        if isinstance(X_prepared, Source):
            X_prepared = X_prepared.to_numpy()
        return pixels_to_unit(X_prepared).reshape(len(X_prepared), -1)

    def map(self, X: Any) -> NDArray[np.float32]:
        """Place ``X`` on the model's 2-D map (``neighbour_map``): one forward pass.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)

        Returns
        -------
        ndarray of float32, shape (n_samples, 2)
            (n_samples, n_components) for a map of other dimension.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For a model fitted without a map, or input that :meth:`transform` refuses.
        """
        check_is_fitted(self, "model_")
        if not hasattr(self, "neighbour_map_"):
            raise ValueError("this model has no 2-D map: fit it with neighbour_map=True "
                             "(autoencoders fit --map)")
        return self.neighbour_map_.transform(self._map_features(self._prepare(X)))
