"""Training a map: PCA of the inputs, their k-NN graph, a short start from the PCA
picture, then the contrastive loss over the graph's edges."""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from .graph import NoSharedNeighbours, knn_indices, symmetric_edges
from .loss import infonce_cauchy
from .network import MapConfig, MapNetwork

__all__ = ["fit_map"]


#: Above this many features the principal axes come from a randomised SVD of the data
#: (``torch.svd_lowrank``) instead of the eigenvectors of the d × d covariance, whose cost
#: grows as d³ (6,000 features: 74 s and 1.5 GB for 300 rows, 2026-12-02).
EXACT_PCA_FEATURES = 2048


def _unit(X: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(X / f, f)``: ``X`` divided by its largest magnitude f when that is far from 1,
    where float32 squares overflow (values of 1e19: the covariance's eigh failed) or
    underflow (1e-30: every point in one cluster); else ``(X, 1)``. Neither principal axes
    nor neighbours change with a common factor."""
    size = float(X.abs().max()) if X.numel() else 1.0
    return (X / size, size) if size > 0 and not 1e-6 <= size <= 1e6 else (X, 1.0)


def _pca(X: torch.Tensor, n_inputs: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean (d,), projection (d, p)): the top ``n_inputs`` principal axes with signs fixed
    (largest loading positive, so that a seed gives one map), divided by the standard
    deviation along the first, so that inputs have about unit scale whatever the data's."""
    mean = X.mean(0, dtype=torch.float64).float()  # float32 sums of 1e37 overflow
    Xc, unit = _unit(X - mean)
    if X.shape[1] <= EXACT_PCA_FEATURES:
        cov = (Xc.T @ Xc).double() / max(len(X) - 1, 1)  # (d, d)
        values, vectors = torch.linalg.eigh(cov)
        order = torch.argsort(values, descending=True)[:n_inputs]
        axes, top = vectors[:, order], float(values[order[0]])
    else:
        with torch.random.fork_rng(devices=[]):  # the sketch's random matrix: seeded
            torch.manual_seed(seed)
            _, S, V = torch.svd_lowrank(Xc, q=min(n_inputs + 10, *Xc.shape), niter=4)
        axes, top = V[:, :n_inputs].double(), float(S[0]) ** 2 / max(len(X) - 1, 1)
    signs = torch.sign(axes[axes.abs().argmax(0), torch.arange(axes.shape[1])])
    signs[signs == 0] = 1
    scale = math.sqrt(max(top, 1e-12)) * unit
    return mean, (axes * signs / scale).float()


def fit_map(X: torch.Tensor, config: MapConfig, seed: int = 0,
            log: Callable[[str], object] | None = None,
            agree_with: torch.Tensor | None = None
            ) -> tuple[MapNetwork, dict[str, Any], tuple[torch.Tensor, torch.Tensor]]:
    """Train a parametric neighbour embedding of ``X``.

    1. The network's inputs: the first ``config.n_pca`` principal components of ``X``.
    2. The graph: exact ``config.n_neighbors``-nearest neighbours of the inputs,
       symmetrised; with ``agree_with``, the pairs (i, j) where j is among i's
       2 × ``n_neighbors`` nearest in both views (about as many edges, fewer false ones:
       :func:`~autoencoders.neighbours.graph.symmetric_edges`).
    3. ``config.pca_init_steps`` steps regress the output onto the first principal
       coordinates (× ``out_scale``), so that training starts from the PCA picture.
    4. Adam on :func:`~autoencoders.neighbours.loss.infonce_cauchy` of batches of edges
       drawn without replacement, the inputs of both ends jittered by Gaussian noise of
       standard deviation ``config.input_noise``, ``config.epochs`` passes over them (at least
       ``config.min_steps`` steps), learning rate warmed up then cosine-decayed to 5 %.
       When a window of steps' mean loss climbs above 1.5× the best window's or stops
       being finite (Adam diverging), training goes back to the best window's weights
       and goes on at half the learning rate, at most 3 times.

    Parameters
    ----------
    X : Tensor of float32, shape (n, n_features)
    config : MapConfig
    seed : int, default 0
        Seeds the weights and the order of the edges: on the CPU the same seed gives the
        same map bit for bit.
    log : callable, optional
        Receives a line of progress now and then.
    agree_with : Tensor of float32, shape (n, d2), optional
        A second view of the same rows (the autoencoder's codes of ``X``), compared by
        Euclidean distance.

    Returns
    -------
    network : MapNetwork
        Trained, in eval mode, on the CPU.
    info : dict
        ``edges``, ``steps``, ``seconds`` (by phase: ``pca``, ``graph``, ``train``),
        ``loss`` (the mean loss of the last tenth of the steps, nats per edge) and
        ``rollbacks`` (returns to the best weights after a divergence).
    edges : (Tensor, Tensor) of int64, each shape (m,)
        The graph it trained on: heads and tails, every pair in both directions.

    Raises
    ------
    ValueError
        For fewer than 3 samples, ``n_neighbors`` ≥ n_samples, or ``agree_with`` of
        another number of rows; :class:`~autoencoders.neighbours.graph.NoSharedNeighbours`
        when the two views share no neighbours.
    """
    n, d = X.shape
    if n < 3:
        raise ValueError(f"a neighbour embedding needs at least 3 samples, got {n}")
    if config.n_neighbors >= n:
        raise ValueError(f"n_neighbors={config.n_neighbors} must be smaller than the "
                         f"{n} samples; pass fewer neighbours or more samples")
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = MapNetwork(d, min(config.n_pca, d, n), config)
    mean, projection = _pca(X, min(config.n_pca, d, n), seed)
    net.mean.copy_(mean)
    net.projection.copy_(projection)
    with torch.no_grad():
        Z = net.inputs(X)  # (n, p)
    seconds["pca"] = time.perf_counter() - start
    start = time.perf_counter()
    if agree_with is None:
        heads, tails = symmetric_edges(knn_indices(Z, config.n_neighbors))
    else:
        if len(agree_with) != n:
            raise ValueError(f"agree_with has {len(agree_with)} rows and X {n}: pass a "
                             "second view of the same rows")
        k = min(2 * config.n_neighbors, n - 1)
        heads, tails = symmetric_edges(knn_indices(Z, k),
                                       knn_indices(_unit(agree_with.reshape(n, -1).float())[0], k))
        if len(heads) == 0:
            raise NoSharedNeighbours(f"X and agree_with share no neighbours among each row's "
                                     f"{k} nearest: the two views disagree everywhere; fit "
                                     "on X alone")
    seconds["graph"] = time.perf_counter() - start
    start = time.perf_counter()
    _start_from_pca(net, Z, config, generator)
    steps, losses, rollbacks = _train(net, Z, heads, tails, config, generator, log)
    seconds["train"] = time.perf_counter() - start
    net.eval()
    tail = losses[-max(1, len(losses) // 10):]
    return net, {"edges": len(heads), "steps": steps, "seconds": seconds,
                 "loss": sum(tail) / len(tail), "rollbacks": rollbacks}, (heads, tails)


def _start_from_pca(net: MapNetwork, Z: torch.Tensor, config: MapConfig,
                    generator: torch.Generator) -> None:
    """Regress the output onto the first ``n_components`` PCA coordinates."""
    target = Z[:, :config.n_components]
    if target.shape[1] < config.n_components:  # fewer inputs than outputs: pad with 0
        target = torch.nn.functional.pad(target, (0, config.n_components - target.shape[1]))
    target = target * config.out_scale
    opt = torch.optim.Adam(net.net.parameters(), lr=1e-3)
    batch = min(config.batch_size, len(Z))
    for _ in range(config.pca_init_steps):
        rows = torch.randint(0, len(Z), (batch,), generator=generator)
        loss = (net.head(Z[rows]) - target[rows]).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()


def _train(net: MapNetwork, Z: torch.Tensor, heads: torch.Tensor, tails: torch.Tensor,
           config: MapConfig, generator: torch.Generator,
           log: Callable[[str], object] | None) -> tuple[int, list[float], int]:
    m = len(heads)
    batch = min(config.batch_size, m)
    total = max(config.min_steps, round(config.epochs * m / batch))
    warm = max(1, round(config.warmup * total))
    low = 0.05 * config.learning_rate
    opt = torch.optim.Adam(net.net.parameters(), lr=config.learning_rate)
    order, at, losses = torch.randperm(m, generator=generator), 0, []
    # Adam can leave a good map and not come back: the scale of the coordinates grows,
    # the Cauchy kernel's pull on neighbours fades with distance, and the loss climbs
    # (2026-12-02, full MNIST: seed 1 at 0.01 ended at 9.5 nats against a best of 3.4; a
    # 10-d clustering on a sparser graph at 0.005 at 11.2 against 2.9). Going back to the
    # best window's weights at half the rate keeps what was learnt.
    window, best, saved, rollbacks, slow = max(25, total // 20), math.inf, None, 0, 1.0
    for step in range(total):
        if at + batch > m:
            order, at = torch.randperm(m, generator=generator), 0
        edges = order[at:at + batch]
        at += batch
        lr = (config.learning_rate * (step + 1) / warm if step < warm else
              low + 0.5 * (config.learning_rate - low)
              * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))
        for group in opt.param_groups:
            group["lr"] = lr * slow
        with torch.autocast("cpu", dtype=torch.bfloat16,
                            enabled=config.precision == "bfloat16"):
            z = torch.cat([Z[heads[edges]], Z[tails[edges]]])  # (2B, p)
            if config.input_noise > 0:
                z = z + config.input_noise * torch.randn(z.shape, generator=generator)
            y = net.head(z)  # (2B, c)
        y = y.float()
        loss = infonce_cauchy(y[:batch], y[batch:], config.exaggeration, config.negatives)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if config.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(net.net.parameters(), config.clip_grad)
        opt.step()
        losses.append(loss.item())
        if (step + 1) % window == 0:
            mean = sum(losses[-window:]) / window
            if mean < best:
                best = mean
                saved = copy.deepcopy((net.net.state_dict(), opt.state_dict()))
            elif not mean <= 1.5 * best and saved is not None and rollbacks < 3:  # or NaN
                net.net.load_state_dict(saved[0])
                opt.load_state_dict(saved[1])
                rollbacks, slow = rollbacks + 1, slow / 2
                if log is not None:
                    log(f"map: loss {mean:.2f} against a best of {best:.2f} at step "
                        f"{step + 1}: back to the best weights, learning rate halved")
        if log is not None and (step + 1) % max(1, total // 10) == 0:
            log(f"map: step {step + 1}/{total}, loss {sum(losses[-50:]) / len(losses[-50:]):.3f}")
    if not all(map(math.isfinite, losses[-10:])):
        raise RuntimeError("the map's training diverged (its loss is not finite); lower "
                           "its learning rate")
    warn_if_diverged(losses)
    return total, losses, rollbacks


def warn_if_diverged(losses: list[float]) -> None:
    """Warn when the mean loss of the last tenth of the steps is above 1.5× that of the
    best tenth: a finite divergence, where the map's scale blows up and the loss climbs
    back (measured 2026-12-02, seed 1 on full MNIST at learning rate 0.01: 3.36 nats per
    edge at step 250, 9.47 at the end, trustworthiness 0.81).

    Parameters
    ----------
    losses : list of float
        The loss of every training step, nats per edge, in order.

    Warns
    -----
    RuntimeWarning
        Naming the best and the final mean loss, and what to do.
    """
    tenth = max(1, len(losses) // 10)
    means = [sum(losses[i:i + tenth]) / len(losses[i:i + tenth])
             for i in range(0, len(losses), tenth)]
    if means and means[-1] > 1.5 * min(means):
        warnings.warn(f"the map's training diverged: its loss rose from {min(means):.2f} to "
                      f"{means[-1]:.2f} nats per edge, and the map is unreliable; fit it "
                      "again with a lower learning_rate", RuntimeWarning, stacklevel=4)
