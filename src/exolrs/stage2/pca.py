"""PCA of the integration cube: eigen-images and their time series, and reconstruction with
chosen components removed (e.g. one tracking the trace's x-drift).

The mean image is subtracted before the decomposition, so "removing component 1" removes the
strongest *variation*, never the mean image.  Computed from the (nints × nints) Gram matrix
(one float32 product and a small eigen-decomposition), exact and fast for thousands of
integrations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class PCAResult:
    mean: np.ndarray  # (ny, nx)
    eigenimages: np.ndarray  # (k, ny, nx), unit norm
    timeseries: np.ndarray  # (k, nints): projection of each integration
    variance_fraction: np.ndarray  # (k,)


def pca_cube(
    cube: np.ndarray, n_components: int = 10, weights: np.ndarray | None = None
) -> PCAResult:
    """Principal components of a (nints, ny, nx) cube (NaN treated as the mean)."""
    n = cube.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels NaN throughout
        mean = np.nan_to_num(np.nanmean(cube, axis=0))
    x = np.nan_to_num(cube - mean).reshape(n, -1).astype(np.float32)
    if weights is not None:
        x *= weights.ravel().astype(np.float32)
    gram = (x @ x.T).astype(np.float64)
    vals, vecs = np.linalg.eigh(gram)
    order = np.argsort(vals)[::-1][: min(n_components, n)]
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    images = (vecs.T.astype(np.float32) @ x) / np.sqrt(np.where(vals > 0, vals, 1))[:, None]
    if weights is not None:
        w = weights.ravel().astype(np.float32)
        images = np.where(w > 0, images / np.where(w > 0, w, 1), 0.0)
        norms = np.linalg.norm(images, axis=1, keepdims=True)
        images /= np.where(norms > 0, norms, 1)
    centred = x if weights is None else np.nan_to_num(cube - mean).reshape(n, -1)
    ts = (centred @ images.T).T
    total = float(np.trace(gram)) or 1.0
    return PCAResult(
        mean.astype(np.float32),
        images.reshape(-1, *cube.shape[1:]),
        ts.astype(np.float32),
        (vals / total).astype(np.float32),
    )


def remove_components(cube: np.ndarray, pca: PCAResult, remove) -> np.ndarray:
    """Cube with components `remove` (1-based, as in the tutorial) subtracted."""
    out = cube.astype(np.float32, copy=True)
    for k in remove or ():
        if not 1 <= k <= len(pca.timeseries):
            raise ValueError(f"component {k} not among the {len(pca.timeseries)} computed")
        out -= pca.timeseries[k - 1][:, None, None] * pca.eigenimages[k - 1][None]
    return out
