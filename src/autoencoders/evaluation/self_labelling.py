"""Self-labelling: a classifier network trained on a clustering's labels of every row, whose
predictions then replace them.

A clustering of a neighbour embedding labels whole groups of rows by where the embedding
put them; a network trained on those labels, with images shifted by a pixel or two, learns
what the clusters' rows look like and relabels rows the embedding placed on the wrong side
(the last stage of SCAN: Van Gansbeke, Vandenhende, Georgoulis, Proesmans & Van Gool 2020,
"SCAN: learning to classify images without labels", ECCV). SCAN trains on its confident
rows only; here every row: on all 70,000 MNIST images (seed 0, 2026-12-03, clusters 0.9754
accurate, 10 passes) every row gave 0.9775, the rows of which 90 % of the graph's
neighbours share the cluster 0.9754, and two more rounds on the classifier's own
predictions of probability ≥ 0.99 fell to 0.9677 and 0.9655.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

from ..config import is_whole_number
from ..models.base import dense_stack

__all__ = ["self_label", "SELF_LABEL_EPOCHS", "SELF_LABEL_MIN_STEPS", "SELF_LABEL_HIDDEN",
           "SELF_LABEL_SMOOTHING", "MAX_SHIFT"]

#: Passes over the rows. On all 70,000 MNIST images (seed 0, 2026-12-03; labels of
#: ``ne-gmm`` with the pixels, 0.9780 accurate; without label smoothing): 10 passes gave
#: 0.9781, 20 gave 0.9800 (NMI 0.9394 → 0.9441), 30 gave 0.9792 and 40 0.9793: longer, the
#: classifier learns more of the clusters' mistakes; on another autoencoder's labels
#: (0.9754) 10 and 20 passes gave 0.9775 and 0.9780.
SELF_LABEL_EPOCHS = 20
#: Label smoothing of the classifier's cross-entropy (Szegedy et al. 2016): the clusters'
#: labels are noisy, and a softer target keeps the classifier from fitting their mistakes
#: (Lukasik et al. 2020, "Does label smoothing mitigate label noise?", ICML). On the two
#: label sets above (0.9780 and 0.9754 accurate; 20 passes, 2026-12-03): 0 gave 0.9800 and
#: 0.9780, 0.1 gave 0.9815 and 0.9805, 0.2 0.9818 and 0.9809, 0.3 0.9816 and 0.9809.
SELF_LABEL_SMOOTHING = 0.2
#: Steps at least, for small data: on scikit-learn's 1,797 8×8 digits (ne-gmm's clusters
#: 0.885 accurate, 2026-12-03, before label smoothing) 20 passes (140 steps) gave 0.50,
#: 150 passes (1,050 steps) 0.875 and 400 passes 0.884; with the floor and smoothing,
#: seeds 0–2 gave 0.882, 0.888, 0.883 from 0.885, 0.886, 0.886.
SELF_LABEL_MIN_STEPS = 1000
#: Hidden widths of the classifier (GELU after each).
SELF_LABEL_HIDDEN = (1000, 500)
#: Largest shift of an image, pixels along each axis. Without shifts the classifier learnt
#: the clusters' mistakes with them (MNIST, seed 0: 0.9691 from labels 0.9754 accurate, on
#: the rows where 90 % of the graph's neighbours agreed); 3 pixels gave 0.9753 against 2's
#: 0.9775.
MAX_SHIFT = 2
_BATCH = 256


def _shift(x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Rows ``x`` (B, prod(shape)) as images of ``shape`` (…, H, W), each moved by up to
    :data:`MAX_SHIFT` pixels along H and W (zeros come in at the edges)."""
    h, w = shape[-2:]
    s = MAX_SHIFT
    padded = F.pad(x.reshape(len(x), -1, h, w), (s, s, s, s))  # (B, C, H + 2s, W + 2s)
    dy = torch.randint(0, 2 * s + 1, (len(x),), generator=generator)
    dx = torch.randint(0, 2 * s + 1, (len(x),), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # (B, 1, 1, W)
    batch = torch.arange(len(x))[:, None, None, None]
    channel = torch.arange(padded.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols].reshape(len(x), -1)  # (B, C·H·W)


def self_label(inputs: Any, labels: Any, image_shape: tuple[int, ...] | None = None, *,
               epochs: int = SELF_LABEL_EPOCHS, random_state: int = 0) -> NDArray[np.int64]:
    """Relabel every row with a classifier trained on its cluster labels.

    An MLP (:data:`SELF_LABEL_HIDDEN`, GELU) learns ``labels`` from ``inputs`` with
    cross-entropy (labels smoothed by :data:`SELF_LABEL_SMOOTHING`; AdamW, learning rate 1e-3
    in a one-cycle schedule, weight decay 0.01, batches of 256), each image shifted at
    random by up to :data:`MAX_SHIFT` pixels, for ``epochs`` passes (and
    :data:`SELF_LABEL_MIN_STEPS` steps at least); its most probable class becomes each
    row's label.

    Parameters
    ----------
    inputs : array-like of float32, shape (n, n_features)
        The rows that were clustered (images in [0, 1] flattened; n_features is the
        product of ``image_shape``).
    labels : array-like of int, shape (n,)
        Their clusters, 0 … c − 1.
    image_shape : tuple of int, optional
        ``(H, W)`` or ``(C, H, W)``: the rows are images of that shape, shifted while
        training. Without it (tables) the classifier would learn the clusters as they are,
        and :func:`~autoencoders.evaluation.clustering.cluster_codes` does not call this.
    epochs : int, default :data:`SELF_LABEL_EPOCHS`
        Passes over the rows (more on small data: :data:`SELF_LABEL_MIN_STEPS`).
    random_state : int, default 0
        Seeds the weights, the order of rows and the shifts: the same seed gives the same
        labels on one machine.

    Returns
    -------
    ndarray of int64, shape (n,)
        Labels 0 … c − 1; a cluster that no row keeps is absent.

    Raises
    ------
    ValueError
        For inputs that are not finite, inputs and labels of different lengths, labels
        that are not whole numbers from 0, ``image_shape`` whose product is not
        n_features, or ``epochs`` that is not a positive whole number.

    References
    ----------
    Van Gansbeke et al. 2020 (above); McConville et al. 2020, "N2D: (not too) deep
    clustering via clustering the local manifold of an autoencoded embedding", ICPR, for
    the clustering it refines; Lukasik, Bhojanapalli, Menon & Kumar 2020, "Does label
    smoothing mitigate label noise?", ICML, for the smoothing.
    """
    X = torch.as_tensor(np.asarray(inputs, dtype=np.float32)).reshape(len(inputs), -1)
    given = np.asarray(labels).reshape(-1)
    n, d = X.shape
    if len(given) != n:
        raise ValueError(f"{len(given)} labels for {n} rows: pass a label for every row")
    if n and (given.dtype.kind not in "iu" or given.min() < 0):
        raise ValueError(f"labels must be cluster numbers 0, 1, …, got {given.dtype} values "
                         f"from {given.min()} to {given.max()}")
    y = torch.as_tensor(given.astype(np.int64))
    if image_shape is not None and int(np.prod(image_shape)) != d:
        raise ValueError(f"image_shape {tuple(image_shape)} holds {int(np.prod(image_shape))} "
                         f"values, the rows {d}: pass the shape of one image")
    if not is_whole_number(epochs) or epochs < 1:
        raise ValueError(f"epochs must be a positive whole number, got {epochs!r}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("the inputs hold NaN or infinite values: drop or impute those rows")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    classes = int(y.max()) + 1
    generator = torch.Generator().manual_seed(int(random_state))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(random_state))
        net = nn.Sequential(*dense_stack((d, *SELF_LABEL_HIDDEN, classes), "gelu", "linear"))
    batch = min(_BATCH, n)
    per_epoch = n // batch
    passes = max(int(epochs), -(-SELF_LABEL_MIN_STEPS // per_epoch))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-3, total_steps=passes * per_epoch)
    for _ in range(passes):
        order = torch.randperm(n, generator=generator)
        for start in range(0, per_epoch * batch, batch):
            rows = order[start:start + batch]
            x = X[rows]
            if image_shape is not None:
                x = _shift(x, tuple(image_shape), generator)
            loss = F.cross_entropy(net(x), y[rows], label_smoothing=SELF_LABEL_SMOOTHING)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            schedule.step()
    net.eval()
    with torch.no_grad():
        out = torch.cat([net(X[i:i + 16384]).argmax(1) for i in range(0, n, 16384)])
    result: NDArray[np.int64] = out.numpy().astype(np.int64)
    return result
