"""The classes of a set of labels in one order, each with one colour: every PNG figure
(``plotting``) and the HTML report (``report``) colour a class alike.

The order is the labels' sorted order (``numpy.unique``): class index order for the named
classes of a data set such as Fashion-MNIST (``datasets.class_names``), whose names would
sort otherwise. The colours are matplotlib's categorical ``tab10`` for the first ten
classes (two classes are blue and orange), then the light shades of ``tab20``, then again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .datasets import label_names

__all__ = ["PALETTE", "ClassColours", "class_colours", "colour_of"]

#: Categorical colours as hex strings: matplotlib's tab10, then tab20's light shades.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf",
           "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
           "#c7c7c7", "#dbdb8d", "#9edae5")


def colour_of(rank: int) -> str:
    """The colour of the class of rank ``rank`` (0 the first in order), hex ``#rrggbb``;
    past the palette's 20 colours they repeat."""
    return PALETTE[rank % len(PALETTE)]


@dataclass(frozen=True)
class ClassColours:
    """The classes of some labels, in order, with their names and colours.

    Attributes
    ----------
    values : ndarray, shape (k,)
        The distinct labels, sorted.
    names : list of str, length k
        Each class's name in legends (``datasets.label_names``).
    colours : list of str, length k
        Each class's colour, ``#rrggbb``.
    index : ndarray of int, shape (n,)
        Each label's class: its rank in ``values``.
    """

    values: np.ndarray
    names: list[str]
    colours: list[str]
    index: np.ndarray

    def point_colours(self) -> list[str]:
        """The colour of each label, ``#rrggbb``, in the labels' order (length n)."""
        return [self.colours[i] for i in self.index]


def class_colours(labels: Any, names: tuple[str, ...] | None = None) -> ClassColours:
    """The classes of ``labels`` in their sorted order, named and coloured.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Integers or text, none missing (``inputs.check_labels``).
    names : tuple of str, optional
        The name of each integer label (``datasets.class_names``); a data set's named
        classes keep their index order.

    Returns
    -------
    ClassColours
    """
    values, index = np.unique(np.asarray(labels), return_inverse=True)
    return ClassColours(values=values, names=label_names(values, names),
                        colours=[colour_of(k) for k in range(len(values))],
                        index=np.asarray(index).reshape(-1))
