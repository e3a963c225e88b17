"""2-D maps of latent codes: PCA, t-SNE, UMAP, and a parametric map that places new points
at network speed."""

from __future__ import annotations

import numpy as np

from .reducers import make_reducer

__all__ = ["map_2d", "MAP_METHODS", "ParametricMap"]

MAP_METHODS = ("pca", "tsne", "umap")


def map_2d(codes: np.ndarray, method: str = "pca", random_state: int = 0) -> np.ndarray:
    """Project codes to two dimensions.

    Parameters
    ----------
    codes : ndarray, shape (n, d)
        Latent codes (or any features).
    method : {"pca", "tsne", "umap"}
        See :func:`autoencoders.evaluation.reducers.make_reducer`.
    random_state : int
        Seed of the t-SNE or UMAP optimisation.

    Returns
    -------
    ndarray of float32, shape (n, 2)

    Raises
    ------
    ValueError
        For an unknown method, or fewer than 2 points (PCA) or 4 points (t-SNE).
    ImportError
        For "umap" without umap-learn.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if method == "pca":
        if len(codes) < 2:
            raise ValueError("a PCA map needs at least 2 points")
        if codes.shape[1] < 2:  # 1-D codes: put them on a line
            return np.column_stack([codes[:, 0] - codes[:, 0].mean(),
                                    np.zeros(len(codes))]).astype(np.float32)
    if np.ptp(codes, axis=0).max(initial=0.0) == 0:  # constant codes (dead units): a dot
        return np.zeros((len(codes), 2), np.float32)
    out = make_reducer(method, 2, random_state).fit_transform(codes)
    return np.asarray(out, dtype=np.float32)


class ParametricMap:
    """A 2-D map of codes that places new points with a small network instead of an
    optimisation.

    ``fit_transform`` embeds the training codes with t-SNE or UMAP, then fits a multilayer
    perceptron (codes standardised → 256 → 256 → 2, ReLU, mean squared error, Adam) to
    reproduce that embedding, as kernel t-SNE does with a kernel regression (Gisbrecht,
    Schulz & Hammer 2015, "Parametric nonlinear dimensionality reduction using kernel
    t-SNE", Neurocomputing 147). ``transform`` is then one forward pass: UMAP's
    ``transform`` optimises every new point against the training graph instead.

    Parameters
    ----------
    method : {"umap", "tsne"}, default "umap"
        The non-parametric map to reproduce.
    epochs : int, default 60
        Passes of the regression over the training codes (batches of 256).
    random_state : int, default 0

    Attributes
    ----------
    target_ : ndarray of float32, shape (n, 2)
        The non-parametric embedding of the training codes.
    """

    def __init__(self, method: str = "umap", epochs: int = 60, random_state: int = 0):
        self.method, self.epochs, self.random_state = method, epochs, random_state

    def fit_transform(self, Z: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Fit on codes ``Z`` (n, d); return the network's map of them, float32 (n, 2).

        ``target`` (n, 2), when given, is the embedding to reproduce instead of computing
        one (to reuse a t-SNE or UMAP map already made of the same codes)."""
        import torch
        from torch import nn

        Z = np.asarray(Z, dtype=np.float32)
        if target is None:
            target = make_reducer(self.method, 2, self.random_state).fit_transform(Z)
        self.target_ = np.asarray(target, dtype=np.float32)
        self._z_mean, self._z_std = Z.mean(0), Z.std(0) + 1e-6
        self._y_mean, self._y_std = self.target_.mean(0), self.target_.std(0) + 1e-6
        gen = torch.Generator().manual_seed(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.net_ = nn.Sequential(nn.Linear(Z.shape[1], 256), nn.ReLU(),
                                      nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))
        x = torch.from_numpy((Z - self._z_mean) / self._z_std)
        y = torch.from_numpy((self.target_ - self._y_mean) / self._y_std)
        steps_per_epoch = -(-len(x) // 256)
        opt = torch.optim.Adam(self.net_.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3,
                                                    total_steps=self.epochs * steps_per_epoch)
        for _ in range(self.epochs):
            perm = torch.randperm(len(x), generator=gen)
            for b in range(steps_per_epoch):
                idx = perm[b * 256:(b + 1) * 256]
                loss = nn.functional.mse_loss(self.net_(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        self.net_.eval()
        return self.transform(Z)

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """Map new codes (m, d) to float32 (m, 2) in one forward pass."""
        import torch

        z = torch.from_numpy((np.asarray(Z, dtype=np.float32) - self._z_mean) / self._z_std)
        with torch.inference_mode():
            out = self.net_(z).numpy()
        return (out * self._y_std + self._y_mean).astype(np.float32)
