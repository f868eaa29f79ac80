"""The figure helpers every plot module uses: a matplotlib figure made without pyplot (so
no global backend is switched: a notebook's own `plt.show()` keeps working), saved as PNG
into a folder that is made when missing."""

from __future__ import annotations

from pathlib import Path


def new_figure(*args, figsize=None, **kwargs):
    """(None, figure, axes): `Figure.subplots(*args, **kwargs)` on a figure of `figsize`;
    the first value stands where pyplot used to, for `save_figure`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return None, fig, fig.subplots(*args, **kwargs)


def save_figure(_, fig, path) -> Path:
    """Write `fig` to `path` (PNG, 110 dpi), making the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
