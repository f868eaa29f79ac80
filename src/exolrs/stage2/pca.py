"""PCA of the integration cube: eigen-images and their time series, and reconstruction with
chosen components removed (e.g. one tracking the trace's x-drift).

The mean image is subtracted before the decomposition, so "removing component 1" removes the
strongest *variation*, never the mean image.  Computed from the (nints × nints) Gram matrix
X Xᵀ of the centred cube X (one float32 product and the leading eigenpairs), exact and
fast for thousands of integrations.  The Gram matrix is a sum over pixels, so a cube read in
blocks of rows gives the same decomposition (`centred`, `gram`, `decompose`, `eigenimages`:
Stage 2's streamed engine); past `GRAM_MAX_MB` (8 192 integrations) it is not formed and
`sketch_decompose` finds the leading eigenpairs in passes over the blocks.  `pca_cube` is the
whole cube at once.  With eigenpairs (λ, v) of
X Xᵀ, the eigen-images are Xᵀv / √λ and their time series v √λ.
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


@dataclass
class Eigen:
    """The leading eigenpairs of X Xᵀ and its trace (the total variance)."""

    values: np.ndarray  # (k,) float64, ≥ 0, decreasing
    vectors: np.ndarray  # (nints, k)
    total: float

    @property
    def timeseries(self) -> np.ndarray:
        """(k, nints) float32: each integration's projection on each eigen-image."""
        return (self.vectors * np.sqrt(self.values)).T.astype(np.float32)


def centred(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean image, X) of a (nints, …) block: X the block minus its mean, flattened to
    (nints, pixels) float32, NaN as the mean (pixels NaN throughout have mean 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(block, axis=0)).astype(np.float32)
    x = np.nan_to_num(block - mean).reshape(block.shape[0], -1).astype(np.float32, copy=False)
    return mean, x


def gram(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """X Xᵀ of a centred (nints, pixels) block added to `out` (float64, a new zero matrix
    when None) and returned: the sum over a cube's blocks.  Added in place, not through a
    float64 copy of each block's product (on a 5 400-integration cube that copy was 6 of
    Stage 2's 117 s)."""
    if out is None:
        out = np.zeros((x.shape[0], x.shape[0]))
    return np.add(out, x @ x.T, out=out)


DENSE_BELOW = 600  # Gram matrices smaller than this are decomposed whole


def decompose(gram_matrix: np.ndarray, n_components: int) -> Eigen:
    """The `n_components` leading eigenpairs of a Gram matrix.

    Only the leading few are needed: from 600 integrations on they come from Lanczos
    iterations (ARPACK's `eigsh`, from a fixed start vector so that a run repeats), not a
    full decomposition — on the 24-hour phase curve's 5 400 × 5 400 matrix 2.5 s instead of
    numpy's `eigh`'s 18–20 s (benchmarks/bench_phase_curve.py).  The vector of ones is not a
    start: centring over the integrations makes it the Gram matrix's null vector.  Each
    eigenvector's sign makes its largest element positive, whichever solver found it."""
    n = len(gram_matrix)
    k = min(n_components, n)
    if n < DENSE_BELOW or k >= n // 4:
        vals, vecs = np.linalg.eigh(gram_matrix)
    else:
        from scipy.sparse.linalg import eigsh

        start = np.random.default_rng(0).standard_normal(n)
        vals, vecs = eigsh(gram_matrix, k=k, which="LA", v0=start)
    return _signed(vals, vecs, k, float(np.trace(gram_matrix)))


def _signed(vals, vecs, k: int, total: float) -> Eigen:
    """The `k` largest eigenpairs, each vector's largest element positive (whichever solver
    found it)."""
    order = np.argsort(vals)[::-1][:k]
    vecs = vecs[:, order]
    vecs *= np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(k)])
    return Eigen(np.clip(vals[order], 0, None), vecs, total)


GRAM_MAX_MB = 512.0  # above this the Gram matrix is not held: `sketch_decompose` instead
SKETCH_PASSES = 5  # passes over the cube of `sketch_decompose` (4 power iterations)
SKETCH_OVERSAMPLE = 10  # directions beyond the components asked for


def gram_fits(nints: int) -> bool:
    """Whether the (nints × nints) float64 Gram matrix stays under `GRAM_MAX_MB` (8 192
    integrations: 37 h at program 2783's 15.9 s)."""
    return nints * nints * 8 / 2**20 <= GRAM_MAX_MB


def sketch_decompose(blocks, nints: int, n_components: int, seed: int = 0) -> Eigen:
    """The `n_components` leading eigenpairs of X Xᵀ without forming it, in memory
    proportional to `nints` × (components + 10): randomized subspace iteration (Halko,
    Martinsson & Tropp 2011, algorithm 4.4) over `blocks()`, a callable that yields the
    centred cube's (nints, pixels) blocks afresh for each of `SKETCH_PASSES` passes; the last
    pass's product gives the Rayleigh–Ritz eigenpairs, the first the trace.  The strong
    components come out as the full decomposition's; components at the noise floor, whose
    eigenvalues nearly coincide, only approximately (any basis of them is as good)."""
    size = min(n_components + SKETCH_OVERSAMPLE, nints)
    q = np.linalg.qr(np.random.default_rng(seed).standard_normal((nints, size)))[0]
    total = 0.0  # the trace, summed on the first pass
    for k in range(SKETCH_PASSES):
        y = np.zeros((nints, size))
        q32 = q.astype(np.float32)
        for x in blocks():
            y += x @ (x.T @ q32)
            if k == 0:
                total += float(np.einsum("ij,ij->", x, x, dtype=np.float64))
        if k < SKETCH_PASSES - 1:
            q = np.linalg.qr(y)[0]
    vals, vecs = np.linalg.eigh(q.T @ y)  # y = X Xᵀ q: the Gram matrix on q's span
    return _signed(vals, q @ vecs, min(n_components, nints), total)


def eigenimages(eigen: Eigen, x: np.ndarray) -> np.ndarray:
    """(k, pixels) float32: the eigen-images over the pixels of the centred block `x`."""
    scale = np.sqrt(np.where(eigen.values > 0, eigen.values, 1))[:, None]
    return (eigen.vectors.T.astype(np.float32) @ x) / scale.astype(np.float32)


def result(eigen: Eigen, mean: np.ndarray, images: np.ndarray) -> PCAResult:
    """The `PCAResult` of a decomposition, its mean image and eigen-images (k, ny, nx)."""
    return PCAResult(
        mean.astype(np.float32),
        images.astype(np.float32, copy=False),
        eigen.timeseries,
        (eigen.values / (eigen.total or 1.0)).astype(np.float32),
    )


def pca_cube(cube: np.ndarray, n_components: int = 10) -> PCAResult:
    """Principal components of a (nints, ny, nx) cube (NaN treated as the mean)."""
    mean, x = centred(cube)
    eigen = decompose(gram(x), n_components)
    return result(eigen, mean, eigenimages(eigen, x).reshape(-1, *cube.shape[1:]))


def check_components(remove, n_computed: int) -> list[int]:
    """`remove` (1-based, as in the tutorial) as a list, each among the computed ones."""
    for k in remove or ():
        if not 1 <= k <= n_computed:
            raise ValueError(f"component {k} not among the {n_computed} computed")
    return list(remove or ())


def remove_components(cube: np.ndarray, pca: PCAResult, remove) -> np.ndarray:
    """Cube with components `remove` (1-based, as in the tutorial) subtracted."""
    out = cube.astype(np.float32, copy=True)
    remove = check_components(remove, len(pca.timeseries))
    return subtract_components(out, pca.timeseries, pca.eigenimages, remove)


def subtract_components(cube, timeseries, images, remove) -> np.ndarray:
    """Subtract components `remove` (1-based) from `cube` in place: its integrations are
    `timeseries`' columns and its pixels `images`' (a block of rows of either works)."""
    for k in remove:
        cube -= timeseries[k - 1][:, None, None] * images[k - 1][None]
    return cube


def without_components(pca: PCAResult, remove, n_components: int) -> PCAResult:
    """The decomposition of the cube after `remove_components(cube, pca, remove)`, without
    recomputing it: removing eigen-images projects them out, so the others (and the mean)
    are unchanged and only their variance fractions grow.  `pca` must hold
    `n_components + len(remove)` components for `n_components` to remain."""
    removed = {k - 1 for k in check_components(remove, len(pca.timeseries))}
    keep = [k for k in range(len(pca.timeseries)) if k not in removed][:n_components]
    left = 1.0 - float(sum(pca.variance_fraction[k] for k in removed))
    return PCAResult(
        pca.mean,
        pca.eigenimages[keep],
        pca.timeseries[keep],
        (pca.variance_fraction[keep] / (left if left > 0 else 1.0)).astype(np.float32),
    )
