"""Measuring a representation: metrics, baselines (PCA, t-SNE, UMAP), 2-D maps, clustering."""

from .clustering import CLUSTER_METHODS, cluster_codes
from .compare import Comparison, compare_representations
from .maps import MAP_METHODS, map_2d
from .metrics import (
    InputNeighbourhoods,
    cluster_accuracy,
    clustering_scores,
    continuity,
    knn_accuracy,
    knn_recall,
    linear_probe_accuracy,
    near_zero_fraction,
    reconstruction_metrics,
    trustworthiness,
)
from .reducers import REDUCERS, make_reducer
from .self_labelling import self_label

__all__ = ["reconstruction_metrics", "trustworthiness", "continuity", "knn_recall",
           "InputNeighbourhoods",
           "knn_accuracy", "linear_probe_accuracy", "near_zero_fraction", "cluster_accuracy",
           "clustering_scores", "self_label",
           "compare_representations", "Comparison", "cluster_codes", "CLUSTER_METHODS",
           "map_2d", "MAP_METHODS", "make_reducer", "REDUCERS"]
