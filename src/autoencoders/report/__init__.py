"""The HTML report of a run (or several side by side): one self-contained page that opens
offline — the model, training curves, reconstructions, the most unusual test points, an
interactive map of the test points with their images, the comparison with the baselines
and the clustering scores.

``render`` turns ``RunView``s (``view.run_view``) into the page; the run workflow
(``autoencoders.workflow.report``) gathers the views from run folders."""

from pathlib import Path

from .page import render
from .view import MAX_POINTS, RunView, run_view

__all__ = ["Report", "render", "run_view", "RunView", "MAX_POINTS", "REPORT_FILE"]

#: The report inside a run folder.
REPORT_FILE = "report.html"


class Report:
    """A rendered report: ``html`` text, shown inline in Jupyter, written by :meth:`save`.

    Parameters
    ----------
    html : str
        The whole page.
    """

    def __init__(self, html: str) -> None:
        self.html = html

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` atomically (OSError when it cannot be written)."""
        from .._io import atomic_write

        atomic_write(path, self.html)
        return Path(path)

    def _repr_html_(self) -> str:
        from html import escape

        # In a frame of its own: the page's script and styles stay out of the notebook's.
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" style="width: 100%; '
                'height: 900px; border: 1px solid #d1d9e0"></iframe>')

    def __repr__(self) -> str:
        return f"Report({len(self.html):,} characters)"
