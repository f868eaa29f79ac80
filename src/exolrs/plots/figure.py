"""The figure helpers every plot module uses: a headless (Agg) matplotlib figure, saved as
PNG into a folder that is made when missing."""

from __future__ import annotations

from pathlib import Path


def new_figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(*args, **kwargs)


def save_figure(plt, fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
