"""``NeighbourMap``: a parametric neighbour embedding as a scikit-learn transformer."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._io import atomic_write, writable_folder
from ..config import int_tuple
from ..inputs import as_rows, check_feature_names
from ..inputs.scan import check_fits_float32, scan
from ..runtime import native_bf16
from .fit import fit_map
from .network import BEFORE_FIELDS, MapConfig, MapNetwork

__all__ = ["NeighbourMap", "MAP_FILE"]

MAP_FILE = "map.safetensors"
#: Rows per forward pass when placing points: 2,048 rows' activations (1 MB a layer) stay
#: in cache; 10,000 MNIST test images took 20.0 ms (best of 7) against 21.5 ms in one pass
#: of 10,000 rows (2026-12-03, 2 cores).
_CHUNK = 2048


class NeighbourMap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A 2-D map of data (or more dimensions) that places new points with one forward pass.

    A parametric neighbour embedding (van der Maaten 2009, "Learning a parametric
    embedding by preserving local structure", AISTATS): a network trained with a
    neighbour-embedding objective on the k-nearest-neighbour graph of the training data —
    here the contrastive InfoNCE loss with t-SNE's Cauchy kernel and in-batch negatives
    (Damrich, Böhm, Hamprecht & Kobak 2023, "From t-SNE to UMAP with contrastive learning",
    ICLR) — not a regression onto a precomputed picture. The network sees the data's first
    ``n_pca`` principal components; ``transform`` is then PCA and one forward pass, where
    UMAP's and openTSNE's ``transform`` optimise every new point against the training map.
    Like them it does not scale columns: the distances are the data's own, so a table whose
    columns differ in scale (incomes beside ratios) should be standardised first
    (``sklearn.preprocessing.StandardScaler`` in a pipeline). Details:
    :func:`autoencoders.neighbours.fit.fit_map`; measured against UMAP and openTSNE on MNIST
    in ``benchmarks/results/quality.md``.

    Parameters
    ----------
    n_components : int, default 2
    n_neighbors : int, default 15
        Neighbours of each point in the graph.
    n_pca : int, default 50
        Principal components the network sees.
    hidden : tuple of int, default (128,) * 6
        Widths of the network's hidden layers. On full MNIST
        (``benchmarks/results/map_study.md``, bf16, seed 0, learning rate 0.01, ReLU)
        ``(256,) * 6`` gave trustworthiness 0.9578 against 0.9562 and 5-NN 0.9684 against
        0.9646, but placed 123,000 new points a second against 194,000 (the default keeps
        100× UMAP's ``transform``); ``(256,) * 4`` was no better than the default.
    activation : str, default "gelu"
        After each hidden layer, one of ``autoencoders.config.ACTIVATIONS``. GELU, t-SNE's
        exaggeration of 1 and 8 epochs are the defaults since 2026-12-03: on full MNIST
        (seed 0, bf16, all 10,000 test points; ``benchmarks/results/map_study_gelu.md``)
        they lifted trustworthiness from 0.9529 to 0.9633 (ReLU, 1.5 and 4 epochs before),
        GELU alone to 0.9581, exaggeration 1 alone to 0.9557, and both at 4 epochs to
        0.9601; ReLU was the default before, and maps saved then load with it.
    epochs : float, default 8.0
        Passes over the graph's edges (at least ``min_steps`` steps). With GELU,
        exaggeration 1, 512 negatives and no input noise on full MNIST
        (``map_study_gelu.md``): trustworthiness 0.9601 after
        4 epochs (fit 60 s), 0.9633 after 8 (115 s), 0.9658 after 16 (198 s; 5-NN 0.9652
        against 0.9637); 12 gave 0.9631 in an exploration run. With this version's
        defaults (``negatives``): 0.9655 after 8 (118 s), 0.9663 after 16 (218 s;
        ``benchmarks/results/quality.md``, part 1). The default stays at 8 so that
        ``fit --map`` and the demo wait for the map about 1.6× as long as UMAP takes (74 s
        there), and the fit stays below openTSNE's (145 s).
    min_steps : int, default 500
        Training steps at least, for small data: on scikit-learn's 1,797 digits 150 steps
        gave trustworthiness 0.985 against 0.989 with 500 (2026-12-01).
    batch_size : int, default 2048
        Edges per step.
    negatives : int, default 1024
        Tails each edge's head is contrasted with (InfoNCE's normaliser: more negatives
        bring the loss closer to t-SNE's). 1,024 and ``input_noise`` 0.1 are the defaults
        since 2026-12-03: on full MNIST (``benchmarks/results/map_study_noise.md``, seed 0,
        8 epochs) trustworthiness 0.9655 and 5-NN 0.9664 against 0.9634 and 0.9616 with 512
        and no noise (fit 127 s against 110 s), noise alone 0.9646 and 0.9655; seed 1 (an
        exploration run) 0.9645 and 0.9689 against 0.9623 and 0.9646. 2,048 negatives
        scored below 1,024 at 4 epochs (0.9612 against 0.9624, with noise, in 1.4× the
        time) and the same at 8 (0.9657, 5-NN 0.9676, in 140 s; exploration runs).
    learning_rate : float, default 0.005
        Adam's peak rate. At 0.01 (the default before 2026-12-02) seed 1 diverged on full
        MNIST in float32 (the map's scale blew up to thousands of units: trustworthiness
        0.806, 5-NN 0.596, ``benchmarks/results/map_study_seed1.md``); at 0.005 it gave
        0.9566 and 0.9636, and 0.9539 and 0.9627 in bf16 (``map_study_lr.md``). A fit
        whose loss climbs back warns (RuntimeWarning).
    exaggeration : float, default 1.0
        Weight of attraction (t-SNE's exaggeration), at least 1: above 1, tighter clusters
        (UMAP-like; 1.5 was the default before 2026-12-03, ``activation`` has the numbers);
        below 1 the loss has no minimum and the points drift apart.
    input_noise : float, default 0.1
        Standard deviation of Gaussian noise added to the network's inputs while training
        (data augmentation), in units of the first principal component's standard
        deviation; 0 adds none. New points are placed by the network alone, and noise
        narrows the gap between its training and its new points: on full MNIST at 4 epochs
        (seed 0, exploration runs) trustworthiness of 10,000 training points 0.9667 and of
        the 10,000 test points 0.9601 without it, 0.9646 and 0.9613 with 0.1; 0.05 and
        0.2 gave the same 0.9614 and 0.9612 (``negatives`` has the 8-epoch numbers).
    precision : {"auto", "float32", "bfloat16"}, default "auto"
        The network's arithmetic while training (bf16 autocast, the loss in float32);
        "auto" is bfloat16 on a CPU that multiplies it in hardware
        (:func:`autoencoders.runtime.native_bf16`: AMX or AVX512-BF16), float32 elsewhere.
        Placing points is float32 either way. On full MNIST (``map_study.md``, seed 0)
        bf16 training fitted in 89 s against 118 s; its scores differ from float32's by no
        more than seeds do (trustworthiness 0.9562 against 0.9519, 5-NN 0.9646 against
        0.9639; seed 1 at learning rate 0.005: 0.9539 against 0.9566, 0.9627 against
        0.9636).
    random_state : int, RandomState or None
        Seeds the weights and the order of edges: the same seed gives the same map on CPU.
    verbose : int, default 0
        1 prints progress on standard error.

    Attributes
    ----------
    network_ : MapNetwork
        PCA projection and network; ``network_(x)`` places rows (n, n_features_in_).
    config_ : MapConfig
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects, shape (n_features_in_,)
        The column names of a DataFrame given to ``fit`` (then ``transform`` refuses
        other or reordered columns, as scikit-learn's estimators do); saved with the map.
    fit_info_ : dict
        ``edges``, ``steps``, ``seconds`` by phase, final ``loss``.
    embedding_ : ndarray of float32, shape (n_samples, n_components)
        The training points' coordinates.
    graph_ : (ndarray, ndarray) of int64, each shape (m,)
        The k-nearest-neighbour graph it trained on, as heads and tails (each pair both
        ways; clustering merges over-split clusters along it). Not saved with a model: a
        loaded map lacks it.

    Examples
    --------
    >>> from autoencoders.neighbours import NeighbourMap
    >>> xy = NeighbourMap(random_state=0).fit_transform(X)       # doctest: +SKIP
    >>> new_xy = mapper.transform(X_new)                          # doctest: +SKIP
    """

    def __init__(self, n_components: int = 2, n_neighbors: int = 15, n_pca: int = 50,
                 hidden: tuple[int, ...] = (128, 128, 128, 128, 128, 128),
                 activation: str = "gelu", epochs: float = 8.0, min_steps: int = 500,
                 batch_size: int = 2048, negatives: int = 1024, learning_rate: float = 0.005,
                 exaggeration: float = 1.0, input_noise: float = 0.1,
                 precision: str = "auto",
                 random_state: int | np.random.RandomState | None = None,
                 verbose: int = 0) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.n_pca = n_pca
        self.hidden = hidden
        self.activation = activation
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.negatives = negatives
        self.learning_rate = learning_rate
        self.exaggeration = exaggeration
        self.input_noise = input_noise
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    def _config(self) -> MapConfig:
        precision = self.precision
        if precision == "auto":  # bf16 only where the CPU multiplies it in hardware
            precision = "bfloat16" if native_bf16(torch.device("cpu")) else "float32"
        # MapConfig checks each value's type (no silent int(2.7) or float("1")) and range.
        return MapConfig(n_components=self.n_components, n_neighbors=self.n_neighbors,
                         n_pca=self.n_pca, hidden=int_tuple(self.hidden, "hidden"),
                         activation=self.activation, epochs=self.epochs, min_steps=self.min_steps,
                         batch_size=self.batch_size, negatives=self.negatives,
                         learning_rate=self.learning_rate, exaggeration=self.exaggeration,
                         input_noise=self.input_noise,
                         precision=precision)

    def fit(self, X: Any, y: object = None, *, agree_with: Any = None) -> Self:
        """Train the map on ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_samples, *feature_shape)
            Real numbers, scaled as they should be compared (images in [0, 1]; tables
            standardised, e.g. by ``StandardScaler``): distances decide the neighbours.
        y : ignored
        agree_with : array-like, shape (n_samples, d), optional
            A second view of the same rows, such as an autoencoder's codes of ``X``: the
            graph keeps the pairs (i, j) where j is among i's 2 × ``n_neighbors``
            nearest in both views (:func:`~autoencoders.neighbours.fit_map`). The map
            still takes ``X`` alone to place points.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters; empty, non-numeric, NaN or infinite input (``X`` or
            ``agree_with``), values beyond float32's range (or all below its smallest normal
            number); fewer than 3 samples, ``n_neighbors`` ≥ n_samples, or an
            ``agree_with`` of another number of rows.
        RuntimeError
            When training's loss becomes infinite or NaN.

        Warns
        -----
        RuntimeWarning
            When training's loss climbs back well above its best (a divergence: the map
            is unreliable; fit again with a lower ``learning_rate``).
        """
        config = self._config()
        data, names = _checked(X)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        log = (lambda m: print(m, file=sys.stderr)) if self.verbose else None
        start = time.perf_counter()
        other = (None if agree_with is None
                 else torch.from_numpy(_checked(agree_with, "agree_with")[0]))
        network, info, edges = fit_map(torch.from_numpy(data), config, seed, log,
                                       agree_with=other)
        # Only a map that trained replaces an earlier fit: bad input leaves it whole.
        self.config_, self.n_features_in_ = config, data.shape[1]
        self._set_feature_names(names)
        self.network_, self.fit_info_ = network, info
        self.graph_ = (edges[0].numpy(), edges[1].numpy())
        self.embedding_ = self._place(data)
        self.fit_info_["seconds"]["total"] = time.perf_counter() - start
        return self

    def fit_transform(self, X: Any, y: object = None,
                      **fit_params: Any) -> NDArray[np.float32]:
        """:meth:`fit` (with its ``agree_with``), then the training points' coordinates
        (``embedding_``)."""
        return self.fit(X, y, **fit_params).embedding_

    def transform(self, X: Any) -> NDArray[np.float32]:
        """Place points on the map: PCA and one forward pass.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of float32, shape (n_samples, n_components)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For another number of features, other or reordered DataFrame columns than
            fit's, or input that ``fit`` refuses.
        """
        check_is_fitted(self, "network_")
        data, names = _checked(X)
        fitted = getattr(self, "feature_names_in_", None)
        check_feature_names(None if fitted is None else tuple(fitted), names, "X",
                            "NeighbourMap")
        if data.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {data.shape[1]} features, but NeighbourMap is expecting "
                             f"{self.n_features_in_} features as input")
        return self._place(data)

    def _set_feature_names(self, names: Any) -> None:
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = np.asarray(list(names), dtype=object)

    def _place(self, data: NDArray[np.float32]) -> NDArray[np.float32]:
        with torch.inference_mode():
            x = torch.from_numpy(data)
            return torch.cat([self.network_(x[i:i + _CHUNK])
                              for i in range(0, len(x), _CHUNK)]).numpy()

    @property
    def _n_features_out(self) -> int:
        return self.config_.n_components

    # ------------------------------------------------------------------ persistence
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """``(tensors, facts)``: the network's tensors and the JSON that rebuilds it."""
        check_is_fitted(self, "network_")
        tensors = {k: v.detach().contiguous() for k, v in self.network_.state_dict().items()}
        facts = {"params": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in self.get_params().items()
                            if not isinstance(v, np.random.RandomState)},
                 "config": self.config_.to_dict(), "n_features": self.n_features_in_,
                 "fit_info": self.fit_info_}
        if hasattr(self, "feature_names_in_"):
            facts["feature_names"] = [str(n) for n in self.feature_names_in_]
        return tensors, facts

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], facts: dict[str, Any]) -> Self:
        """A fitted map from :meth:`state`'s output.

        Raises
        ------
        ValueError
            When the tensors do not match the configuration, or hold NaN.
        """
        try:
            config = MapConfig.from_dict(facts["config"])
            # A map saved before one of these was a parameter: what its network used.
            params: dict[str, Any] = {**{k: getattr(config, k) for k in BEFORE_FIELDS},
                                      **{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in facts["params"].items()}}
            est = cls(**params)
            n_features = int(facts["n_features"])
            n_inputs = int(tensors["projection"].shape[1])
            names = facts.get("feature_names")
            if names is not None and not (isinstance(names, list)
                                          and all(isinstance(n, str) for n in names)):
                raise TypeError(f"feature_names {names!r} is not a list of names")
            with torch.device("meta"):  # shapes only: a damaged size allocates nothing
                expected = {k: tuple(v.shape) for k, v in
                            MapNetwork(n_features, n_inputs, config).state_dict().items()}
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"the map's configuration is damaged ({exc})") from None
        found = {k: tuple(v.shape) for k, v in tensors.items()}
        if expected != found:
            raise ValueError(f"the map's tensors {found} do not match its configuration "
                             f"{expected}")
        if not all(bool(v.isfinite().all()) for v in tensors.values()):
            raise ValueError("the map's weights hold NaN or infinite values")
        net = MapNetwork(n_features, n_inputs, config)
        net.load_state_dict(tensors)
        net.eval()
        info = facts.get("fit_info", {})
        est.network_, est.config_, est.n_features_in_ = net, config, n_features
        est.fit_info_ = info if isinstance(info, dict) else {}
        est._set_feature_names(names)
        return est

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path/map.safetensors`` (atomically; the configuration in its header).

        Raises
        ------
        OSError
            When the folder cannot be written; ``NotADirectoryError`` when ``path`` or a
            parent is a file; ``FileExistsError`` (nothing written) when its
            map.safetensors is not a saved map, or the folder holds other ``.safetensors``
            files (a model, run or checkpoint folder, whose own map is in its model file).
        ValueError
            For an empty ``path``.
        """
        from safetensors.torch import save

        tensors, facts = self.state()
        folder = writable_folder(path, "the map")
        _refuse_others_files(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / MAP_FILE, save(tensors, metadata={"map": json.dumps(facts)}))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a map saved by :meth:`save` (a folder, or the file itself), on the CPU.

        Raises
        ------
        FileNotFoundError
            When there is no map file.
        ValueError
            When it is unreadable or damaged.
        """
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        file = Path(path)
        file = file / MAP_FILE if file.is_dir() else file
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such map file")
        try:
            with safe_open(str(file), framework="pt") as f:
                facts = json.loads((f.metadata() or {})["map"])
            tensors = load_file(str(file))
        except (SafetensorError, OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{file}: not a readable map ({exc})") from None
        try:
            return cls.from_state(tensors, facts)
        except ValueError as exc:
            raise ValueError(f"{file}: {exc}") from None


def _refuse_others_files(folder: Path) -> None:
    """Raise before anything is written when saving a map into ``folder`` would replace a
    file that is not a saved map (a user's map.safetensors), or put a second map into a
    model, run or checkpoint folder (a hostile trial, 2026-12-04: both went ahead)."""
    from safetensors import SafetensorError, safe_open

    if not folder.is_dir():
        return
    others = sorted(p.name for p in folder.glob("*") if p.suffix.lower() == ".safetensors"
                    and p.name != MAP_FILE)
    why = ""
    if others:
        why = (f"it holds {', '.join(others[:3])}{', …' if len(others) > 3 else ''} (a model, "
               "run or checkpoint folder, whose map is saved in its model file)")
    elif os.path.lexists(file := folder / MAP_FILE):
        try:
            with safe_open(str(file), framework="pt") as f:
                ours = "map" in (f.metadata() or {})
        except (SafetensorError, OSError, ValueError):
            ours = False
        why = "" if ours else f"its {MAP_FILE} is not a saved map"
    if why:
        raise FileExistsError(f"cannot save the map into {folder}: {why}; nothing was "
                              "written: save into another folder")


def _checked(X: Any, name: str = "X") -> tuple[NDArray[np.float32], tuple[str, ...] | None]:
    """Rows as C-contiguous float32 (n, features) and their column names (None when
    unnamed), refused when empty, non-numeric, holding NaN or infinite values, or beyond
    float32's range, where the network computes (errors call them ``name``)."""
    rows = as_rows(X, name)
    data = rows.data.to_numpy() if hasattr(rows.data, "to_numpy") else rows.data
    found = scan(rows)
    check_fits_float32(found, rows.name)
    size = max(-found.low, found.high)
    if 0 < size < float(np.finfo(np.float32).tiny):
        raise ValueError(f"{rows.name} holds values no larger than {size:.3g}, below "
                         "float32's smallest normal number (1.2e-38), where the network "
                         "computes; rescale it first")
    return (np.ascontiguousarray(data.reshape(len(data), -1), dtype=np.float32),
            rows.feature_names)
