"""Compact summaries for Jupyter: a fitted ``AutoEncoder`` (mixed in) and, through
:func:`html_summary`, a run folder (``autoencoders.workflow.Run``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, cast

__all__ = ["html_summary", "map_summary", "SummaryMixin"]

_STYLE = ("font: 13px/1.4 system-ui, sans-serif; border-collapse: collapse; "
          "border: 1px solid #d1d9e0")


def html_summary(title: str, rows: Iterable[tuple[str, object]], note: str = "") -> str:
    """A two-column HTML table: ``title`` above ``(name, value)`` rows, ``note`` below.

    Every text is escaped, so names and values from user data show as text.

    Parameters
    ----------
    title : str
    rows : iterable of (str, object)
        Rows whose value is None are left out.
    note : str, optional

    Returns
    -------
    str
        An HTML fragment (no script, no external resource).
    """
    cells = "".join(
        f'<tr><th style="text-align: left; padding: 2px 12px 2px 6px; font-weight: 500; '
        f'color: #59636e">{escape(str(name))}</th><td style="padding: 2px 6px; '
        f'text-align: left">{escape(str(value))}</td></tr>'
        for name, value in rows if value is not None)
    foot = (f'<tr><td colspan="2" style="padding: 2px 6px; color: #59636e">'
            f'{escape(note)}</td></tr>' if note else "")
    return (f'<table style="{_STYLE}"><caption style="text-align: left; font-weight: 600; '
            f'padding: 4px 6px">{escape(title)}</caption>{cells}{foot}</table>')


def _shape(dims: Sequence[object]) -> str:
    return " → ".join(str(d) for d in dims)


def map_summary(mapping: Any, what: str) -> str:
    """A fitted :class:`~autoencoders.neighbours.NeighbourMap` in a line: what it embeds
    (``what``: "input" or "code"), its network's widths and parameters (the PCA projection,
    fitted before the network, counted apart).

    Raises
    ------
    AttributeError
        For a NeighbourMap not fitted (no ``network_``).
    """
    net = mapping.network_
    n_pca = net.projection.shape[1]
    n_params = sum(p.numel() for p in net.net.parameters())
    return (f"{mapping.n_components}-d neighbour embedding of the {what}: "
            f"{_shape([f'PCA-{n_pca}', *net.config.hidden, mapping.n_components])}, "
            f"{n_params:,} parameters (and a PCA projection of {net.projection.numel():,})")


class SummaryMixin:
    """``_repr_html_`` for a fitted ``AutoEncoder``: its layers, code, input, training and
    map in one table; before ``fit``, scikit-learn's own display of the parameters."""

    def summary_rows(self) -> list[tuple[str, object]]:
        """The fitted model as ``(name, value)`` rows: what ``_repr_html_`` shows.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        est: Any = self  # the host estimator (``AutoEncoder``): its fitted attributes
        arch, recipe, history = est.architecture_, est.recipe_, est.history_
        n_params = sum(p.numel() for p in est.model_.parameters())
        kind = f"{arch.kind}{' variational' if arch.variational else ''} autoencoder"
        layers = (arch.hidden_dims if arch.kind == "dense"
                  else [f"{c} filters" for c in arch.channels])
        val, train = history.get("val_loss") or [None], history.get("train_loss") or [None]
        loss = (f"{recipe.loss}, validation {val[-1]:.4g}" if val[-1] is not None else
                f"{recipe.loss}, training {train[-1]:.4g}" if train[-1] is not None else
                recipe.loss)
        mapping = getattr(self, "neighbour_map_", None)
        return [
            ("model", f"{kind}: {_shape([est.n_features_in_, *layers, arch.latent_dim])}"),
            ("parameters", f"{n_params:,}"),
            ("code", f"{arch.latent_dim} units, {arch.code_activation}"),
            ("input", est.input_spec_.describe()),
            ("loss per feature", loss),
            ("trained", f"{len(history.get('epoch', []))} epochs (weights of epoch "
                        f"{est.best_epoch_}), {est.train_seconds_:.1f} s"
                        # a loaded model does not know where it was trained
                        + (f" on {est.device_}" if hasattr(est, "device_") else "")),
            ("2-D map", None if mapping is None else map_summary(mapping, est.map_input)),
        ]

    def _repr_html_(self) -> str:
        if not hasattr(self, "model_"):
            base: Any = super()  # scikit-learn's BaseEstimator, later in the host's MRO
            return cast(str, base._repr_html_())
        return html_summary(type(self).__name__, self.summary_rows())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Jupyter asks for the bundle before _repr_html_, and scikit-learn's bundle holds
        # its own diagram: the fitted summary must replace it there too.
        if not hasattr(self, "model_"):
            base: Any = super()
            return cast(dict[str, Any], base._repr_mimebundle_(**kwargs))
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
