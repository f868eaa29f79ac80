"""Telegraph: pixels whose level wanders in time (random-telegraph noise, unstable hot pixels).

A pixel whose dark current switches between two levels every few minutes is not an outlier
in any one integration (the temporal clip of `badpix` misses it), and where its mean level
is close to its neighbours' it is not an outlier on the deep frame either (the spatial
search misses it); yet inside the extraction aperture it puts red noise into that
wavelength's light curve.  Its signature is variance on time scales of minutes beyond what
its integration-to-integration scatter predicts, which is what this step measures:

1. each pixel's time series is fitted, by linear least squares, with what every pixel of its
   row shares — a constant; the relative light curve of the frame's bright pixels (transit,
   ramps, drifts); the row's departure from it (the median over the row's bright pixels of
   series / mean, so one wandering pixel cannot set it, smoothed in time: chromatic depth,
   the row's own ramp); the trace's x position (the bright pixels' flux-weighted column: a
   pixel on the profile's flank follows it); and a quadratic in time.  The light curve and
   the column come from the whole frame (`shared_sums` of every block of rows, added), so a
   pixel's verdict does not depend on how the rows were cut into blocks;
2. its white scatter σ from successive differences of the fit's residual (clipped at 6 σ so
   that a single cosmic ray does not count), which a telegraph with dwell times of many
   integrations barely raises;
3. the means of the residual over bins of `bin_ints` integrations: for white noise their
   variance is σ² / `bin_ints`, so excess = var(bin means) · bin_ints / σ² ≈ 1 with a
   standard deviation √(2 / n_bins).  A pixel with excess > 1 + `thresh` · √(2 / n_bins) is
   wandering; it is replaced in every integration, as a hot pixel is.

A telegraph of amplitude A (level difference) and dwell times longer than a bin raises the
excess by up to bin_ints · A² / (4 σ²) (less as the dwell time nears the bin); with 1 800
integrations, bins of 8 and `thresh` = 8, one switching every 30 integrations on average is
found from A ≈ σ of one integration on (tests/stage2/test_telegraph.py), and a white pixel
passes the threshold with probability ≈ 10⁻¹¹ (Wilson–Hilferty: χ²₂₂₅ > 395 is 6.6 σ).
"""

from __future__ import annotations

import warnings

import numpy as np

MIN_BINS = 8  # fewer bins than this: too short a series to tell wandering from white noise
TRACE_HALF_WIDTH = 4  # columns either side of a row's peak that measure the trace's motion


def wandering_pixels(
    cube: np.ndarray, thresh: float = 8.0, bin_ints: int = 8, sums: np.ndarray | None = None
) -> np.ndarray:
    """Boolean (ny, nx) map of the pixels of a (nints, ny, nx) block whose time series
    wanders beyond its white scatter (see the module's docstring); all False when the
    series is shorter than `MIN_BINS` bins.  `sums`: the whole frame's `shared_sums`
    (None: the block's own)."""
    excess, n_bins = excess_variance(cube, bin_ints, sums)
    if n_bins < MIN_BINS:
        return np.zeros(cube.shape[1:], bool)
    return excess > 1.0 + thresh * np.sqrt(2.0 / n_bins)


def excess_variance(
    cube: np.ndarray, bin_ints: int = 8, sums: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """(excess (ny, nx), number of bins): the variance of the bin means of each pixel's
    residual over what its white scatter predicts (1 for white noise; NaN where the pixel has
    no finite value)."""
    nt = cube.shape[0]
    n_bins = nt // bin_ints
    if n_bins < 2:
        return np.full(cube.shape[1:], np.nan), n_bins
    resid = _residual(cube, shared_sums(cube) if sums is None else sums)
    sigma2 = white_variance(resid)
    used = resid[: n_bins * bin_ints]
    means = used.reshape(n_bins, bin_ints, *resid.shape[1:]).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = (means**2).mean(axis=0) * bin_ints / sigma2
    excess[~np.isfinite(excess)] = np.nan
    return excess, n_bins


def white_variance(resid: np.ndarray, clip: float = 6.0) -> np.ndarray:
    """Each pixel's white-noise variance from the successive differences of its series:
    var(Δ) / 2 over the differences within `clip` robust σ."""
    diff = np.diff(resid, axis=0)
    scale = 1.4826 * np.median(np.abs(diff), axis=0)
    keep = np.abs(diff) <= clip * np.maximum(scale, 1e-30)
    n = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 2, (np.where(keep, diff, 0.0) ** 2).sum(axis=0) / n / 2, np.nan)


def bright_pixels(y: np.ndarray) -> np.ndarray:
    """(ny, nx) pixels whose mean is above 3 × their per-integration white scatter."""
    y = filled(y)
    noise = 1.4826 * np.median(np.abs(np.diff(y, axis=0)), axis=0) / np.sqrt(2.0)
    return y.mean(axis=0) > 3.0 * np.maximum(noise, 1e-30)


def filled(y: np.ndarray) -> np.ndarray:
    """`y` (float64) with its NaN values replaced by their pixel's mean (0 for a pixel NaN
    throughout): numpy's NaN-aware medians are an order of magnitude slower than its
    medians."""
    y = np.asarray(y, np.float64)
    bad = ~np.isfinite(y)
    if not bad.any():
        return y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(np.where(bad, np.nan, y), axis=0))
    return np.where(bad, mean, y)


def shared_sums(y: np.ndarray, bad: np.ndarray | None = None) -> np.ndarray:
    """(3, nints) sums over a block's bright pixels (but the `bad` ones) that add up, block
    by block, to the frame's: the flux per integration; Σ_r w_r (c_r(t) − median_t c_r), the
    weighted departures of each row's flux-weighted column c_r from its median; and Σ_r w_r
    (the same in every integration), with w_r = 1 / (c_r's white variance).

    Each row's column is measured against its own median because the trace is not
    straight: a frame-wide flux-weighted column mixes the rows' columns with weights that
    follow their fluxes, and every chromatic change of flux (ramps, the transit's depth)
    moves it although the trace does not move.  On a program2783 simulation the frame-wide
    column correlated with the injected x jitter at 0.58; this one does at 0.99."""
    y = filled(y)
    use = bright_pixels(y)
    if bad is not None:
        use &= ~bad
    # only the trace's own pixels: a bright pixel far from it (a flat-field error under
    # the background, a hot pixel) has a long lever arm and no share in the trace's motion
    x = np.arange(y.shape[-1])
    peak = np.argmax(np.where(use, y.mean(axis=0), -np.inf), axis=1)
    use &= np.abs(x[None, :] - peak[:, None]) <= TRACE_HALF_WIDTH
    trace = np.where(use, y, 0.0)
    flux = trace.sum(axis=2)  # (nt, ny)
    rows = (use.sum(axis=1) >= 2) & (flux.mean(axis=0) > 0)
    ok = rows & (flux > 0)  # (nt, ny): a row's column is measured in that integration
    with np.errstate(invalid="ignore", divide="ignore"):
        column = np.where(ok, trace @ x.astype(np.float64) / flux, 0.0)
    dev = np.where(ok, column - np.median(column, axis=0), 0.0)
    noise = 1.4826 * np.median(np.abs(np.diff(dev, axis=0)), axis=0) / np.sqrt(2.0)
    weight = np.where(rows & (noise > 0), 1.0 / np.maximum(noise, 1e-30) ** 2, 0.0)
    nt = y.shape[0]
    return np.stack([flux.sum(axis=1), dev @ weight, np.full(nt, weight.sum())])


def shared_series(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(relative light curve, the trace's column offset) from `shared_sums` (1 and 0 where
    there was no bright pixel)."""
    flux, moment, weight = sums
    ok = flux > 0
    lc = np.where(ok, flux / flux[ok].mean(), 1.0) if ok.any() else np.ones_like(flux)
    column = np.where(weight > 0, moment / np.where(weight > 0, weight, 1.0), 0.0)
    return lc, column


def _residual(cube: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Each pixel's series minus its least-squares fit on the row's shared regressors
    (float64; NaN values filled with the pixel's mean, all-NaN pixels zero)."""
    y = filled(cube)
    design = regressors(y, *shared_series(sums))  # (nt, ny, k)
    gram = np.einsum("tyk,tyl->ykl", design, design)
    rhs = np.einsum("tyk,tyx->ykx", design, y)
    beta = np.linalg.solve(gram + 1e-12 * np.eye(gram.shape[-1]), rhs)
    return y - np.einsum("tyk,ykx->tyx", design, beta)


def regressors(y: np.ndarray, lc: np.ndarray, column: np.ndarray, smooth_ints: int = 31):
    """(nt, ny, k) design of each row: constant; the frame's relative light curve `lc`; the
    row's departure from it (the median over the row's bright pixels of series / mean,
    minus `lc`) smoothed over `smooth_ints` integrations — one row's few pixels make a
    noisy curve, and a noisy regressor is fitted with too small a coefficient, leaving the
    transit in the residual; the trace's `column`; time and time².  Each but the constant
    centred and scaled to unit rms."""
    from scipy.ndimage import uniform_filter1d

    nt, ny, _ = y.shape
    bright = bright_pixels(y)
    mean = y.mean(axis=0)
    departure = np.zeros((nt, ny))
    for r in np.flatnonzero(bright.sum(axis=1) >= 3):  # rows with three bright pixels or more
        cols = bright[r]
        departure[:, r] = np.median(y[:, r, cols] / mean[r, cols], axis=1) - lc
    departure = uniform_filter1d(departure, min(smooth_ints, nt), axis=0, mode="nearest")
    t = np.linspace(-1.0, 1.0, nt)
    shared = [np.broadcast_to(s[:, None], (nt, ny)) for s in (lc, column, t, t**2)]
    design = np.stack([_standardised(c) for c in [departure, *shared]], axis=-1)
    return np.concatenate([np.ones((nt, ny, 1)), design], axis=-1)


def _standardised(col: np.ndarray) -> np.ndarray:
    """A (nt, ny) regressor centred and scaled to unit rms per row (zero where constant)."""
    col = np.nan_to_num(col - col.mean(axis=0))
    rms = np.sqrt((col**2).mean(axis=0))
    return np.where(rms > 0, col / np.where(rms > 0, rms, 1.0), 0.0)
