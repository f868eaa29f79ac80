"""Stage 2 pure functions on synthetic frames with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import DO_NOT_USE, NO_FLAT_FIELD
from exolrs.stage2 import background, badpix, baseline, first_int, flat_field, pca
from exolrs.stage2.wavelength import calibrated_rows, row_wavelengths, wavelength_map


def trace_frame(ny=120, nx=72, x0=36.3, sigma=1.5, amp=1000.0, bkg=10.0, grad=0.05):
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    star = amp * (1 + 0.3 * np.sin(y / 30)) * np.exp(-0.5 * ((x - x0) / sigma) ** 2)
    return (star + bkg + grad * (x - x0)).astype(np.float32), star.astype(np.float32)


def test_baseline_indices():
    assert list(baseline.baseline_indices([3], 10)) == [0, 1, 2]
    assert list(baseline.baseline_indices([-2], 10)) == [8, 9]
    assert list(baseline.baseline_indices([2, -3], 10)) == [0, 1, 7, 8, 9]
    assert len(baseline.baseline_indices(None, 10)) == 10
    with pytest.raises(ValueError):
        baseline.baseline_indices([1, 2, 3], 10)


def test_row_wavelengths_follow_the_table():
    table = {"y_center": np.array([100.0, 200.0, 300.0]), "wavelength": np.array([14.0, 9.0, 5.0])}
    lam = row_wavelengths(table, 416)
    assert lam[100] == 14.0 and lam[250] == pytest.approx(7.0) and lam[300] == 5.0
    assert np.isnan(lam[99]) and np.isnan(lam[301])
    assert wavelength_map(table, 416, 72).shape == (416, 72)
    assert calibrated_rows(lam)[250] and not calibrated_rows(lam)[110]


def test_flat_field_divides_and_propagates():
    sci = np.full((2, 3, 4), 10.0, np.float32)
    err = np.ones_like(sci)
    flat = np.full((3, 4), 2.0, np.float32)
    flat[0, 0] = 0.0
    flat_err = np.full((3, 4), 0.2, np.float32)
    out, e, dq = flat_field.apply_flat(
        sci, err, np.zeros(sci.shape, np.uint32), flat, flat_err=flat_err
    )
    assert out[0, 1, 1] == 5.0
    assert e[0, 1, 1] == pytest.approx(np.hypot(0.5, 10 * 0.2 / 4))
    assert out[0, 0, 0] == 10.0 and dq[0, 0, 0] & NO_FLAT_FIELD and dq[0, 0, 0] & DO_NOT_USE


def test_background_columns_are_the_tutorials():
    cols = np.flatnonzero(background.background_columns(36.0, 72, 20, 14))
    assert list(cols) == [*range(12, 26), *range(46, 60)]
    with pytest.raises(ValueError):
        background.background_columns(36.0, 72, 72, 1)


@pytest.mark.parametrize("method", ["median", "slope"])
def test_background_removed_without_clipping(method):
    frame, star = trace_frame()
    rng = np.random.default_rng(1)
    cube = frame[None] + rng.normal(0, 2.0, (50, *frame.shape)).astype(np.float32)
    x0 = background.trace_center_estimate(cube.mean(0))
    assert x0 == pytest.approx(36.3, abs=0.05)
    out, _model = background.subtract_background(cube, x0, method)
    cols = background.background_columns(x0, 72)
    resid = out[..., cols] - star[..., cols]
    sem = resid.std() / np.sqrt(resid.size)
    assert abs(resid.mean()) < 4 * sem + 0.01
    assert (out < 0).mean() > 0.2  # negative noise is kept, not clipped
    with pytest.raises(ValueError, match="miri_method"):
        background.subtract_background(cube, x0, "mean")


def test_bad_pixels_found_on_and_off_trace_and_replaced():
    frame, _ = trace_frame(ny=200)
    rng = np.random.default_rng(3)
    deep = frame + rng.normal(0, 0.5, frame.shape).astype(np.float32)
    hot = [(10, 5), (50, 36), (120, 34), (150, 60), (199, 0)]
    for y, x in hot:
        deep[y, x] += 60.0
    dq = np.zeros(frame.shape, np.uint32)
    dq[70, 70] = DO_NOT_USE
    bad = badpix.find_bad_pixels(deep, dq, space_thresh=10)
    truth = np.zeros(frame.shape, bool)
    for y, x in hot:
        truth[y, x] = True
    truth[70, 70] = True
    assert bad[truth].all()
    assert (bad & ~truth).sum() <= 0.005 * truth.size
    cube = np.stack([deep, deep])
    fixed = badpix.replace_bad_pixels(cube, bad)
    for y, x in hot[:4]:
        assert abs(fixed[0, y, x] - frame[y, x]) < 0.05 * frame[y, x] + 2
    assert np.isfinite(fixed).all()


def test_a_row_that_dips_as_a_whole_is_not_bad_but_a_hot_pixel_in_it_is():
    """A narrow feature of the spectrum (here one row 3 % below its neighbours, 60 σ of the
    deep frame's noise on the trace) is the row's, not its pixels'; a hot pixel in the same
    row still stands out against the row's shared departure."""
    frame, _ = trace_frame(ny=200)
    frame[100] = 10.0 + 0.97 * (frame[100] - 10.0)
    frame[140] = 10.0 + 0.97 * (frame[140] - 10.0)
    rng = np.random.default_rng(8)
    deep = frame + rng.normal(0, 0.5, frame.shape).astype(np.float32)
    deep[140, 37] += 60.0
    bad = badpix.find_bad_pixels(deep, space_thresh=10)
    assert not bad[100].any()
    assert bad[140, 37] and bad[140].sum() == 1
    local = np.nanmedian(badpix._row_neighbours(deep), axis=0)
    departure = badpix.row_departure(deep - local, local)
    assert departure[100] == pytest.approx(-0.03, abs=0.003)
    assert departure[50] == pytest.approx(0.0, abs=0.003)


def test_time_outliers_replaced():
    rng = np.random.default_rng(4)
    cube = rng.normal(100, 1, (40, 5, 6)).astype(np.float32)
    cube[7, 2, 3] += 50
    cube[0, 0, 0] += 50  # at the edge: window shifted inward
    out, n = badpix.clip_time_outliers(cube, 10)
    assert n == 2 and abs(out[7, 2, 3] - 100) < 3 and abs(out[0, 0, 0] - 100) < 3
    np.testing.assert_array_equal(
        np.delete(out.ravel(), [7 * 30 + 2 * 6 + 3, 0]),
        np.delete(cube.ravel(), [7 * 30 + 2 * 6 + 3, 0]),
    )


def test_first_integration_replaced():
    cube = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 2), np.float32)
    out = first_int.replace_first_integration(cube)
    assert out[0, 0, 0] == 2.0 and cube[0, 0, 0] == 0.0


def test_pca_component_built_from_drift_removes_its_imprint():
    rng = np.random.default_rng(5)
    n, ny, nx = 300, 60, 40
    dx = 0.05 * np.sin(np.linspace(0, 6, n)) + 0.02 * rng.standard_normal(n)
    _y, x = np.mgrid[0:ny, 0:nx]
    cube = np.stack([1000 * np.exp(-0.5 * ((x - 20.3 - d) / 1.5) ** 2) for d in dx]).astype(
        np.float32
    )
    cube += rng.normal(0, 1.0, cube.shape).astype(np.float32)

    def imprint(c):
        resid = (c - c.mean(0)).reshape(n, -1)
        coef = (dx - dx.mean()) @ resid / np.sum((dx - dx.mean()) ** 2)
        return np.sqrt(np.mean(coef**2))

    result = pca.pca_cube(cube, 5)
    assert abs(np.corrcoef(result.timeseries[0], dx)[0, 1]) > 0.95
    cleaned = pca.remove_components(cube, result, [1])
    assert imprint(cube) / imprint(cleaned) >= 5
    np.testing.assert_allclose(cleaned.mean(0), cube.mean(0), atol=0.05)  # mean image kept
    with pytest.raises(ValueError):
        pca.remove_components(cube, result, [9])


def test_static_bad_pixels_and_deep_frame():
    dq = np.zeros((4, 2, 2), np.uint32)
    dq[:3, 0, 0] = DO_NOT_USE  # in most integrations: static
    dq[:1, 1, 1] = DO_NOT_USE  # once: not static
    assert badpix.static_bad_pixels(dq).tolist() == [[True, False], [False, False]]
    cube = np.arange(16, dtype=np.float32).reshape(4, 2, 2)
    cube[:, 1, 0] = np.nan
    deep = baseline.deep_frame(cube, np.array([0, 1, 2]))
    assert deep[0, 0] == 4.0 and np.isnan(deep[1, 0])


def test_trace_found_under_a_bright_background_with_a_column_gradient():
    """Program 2783's background is 60–130 DN/s per pixel with a gradient across the columns;
    a trace of a few DN/s per pixel at its core must still be the one found."""
    from exolrs.stage2.background import trace_center_estimate

    rng = np.random.default_rng(0)
    x = np.arange(72)
    frame = 100 + 0.3 * (x - 36)[None, :] + rng.normal(0, 0.5, (416, 72))
    frame += 8 * np.exp(-0.5 * ((x - 37.3) / 1.2) ** 2)[None, :]
    assert abs(trace_center_estimate(frame) - 37.3) < 0.3


def test_pca_by_blocks_of_rows_and_after_removal():
    """The Gram matrix summed over blocks of rows gives the whole cube's decomposition, and
    `without_components` is the decomposition of the cube after the removal."""
    rng = np.random.default_rng(3)
    n, ny, nx = 40, 12, 5
    basis = rng.normal(size=(4, ny * nx))
    cube = (rng.normal(size=(n, 4)) * [9, 5, 3, 2]) @ basis + 0.1 * rng.normal(size=(n, ny * nx))
    cube = cube.reshape(n, ny, nx).astype(np.float32)
    cube[3, 2, 1] = np.nan
    whole = pca.pca_cube(cube, 3)
    gram = sum(pca.gram(pca.centred(cube[:, a:b])[1]) for a, b in ((0, 5), (5, 12)))
    eigen = pca.decompose(gram, 3)
    images = np.concatenate(
        [
            pca.eigenimages(eigen, pca.centred(cube[:, a:b])[1]).reshape(3, b - a, nx)
            for a, b in ((0, 5), (5, 12))
        ],
        axis=1,
    )
    blocks = pca.result(eigen, pca.centred(cube)[0], images)
    np.testing.assert_allclose(blocks.timeseries, whole.timeseries, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(blocks.eigenimages, whole.eigenimages, atol=1e-5)
    np.testing.assert_allclose(blocks.variance_fraction, whole.variance_fraction, rtol=1e-5)

    cube[3, 2, 1] = 0.0  # a NaN would take a new mean after the removal: not a projection
    wide = pca.pca_cube(cube, 4)
    after = pca.without_components(wide, [1], 3)
    direct = pca.pca_cube(pca.remove_components(cube, wide, [1]), 3)
    np.testing.assert_allclose(np.abs(after.timeseries), np.abs(direct.timeseries), atol=2e-3)
    np.testing.assert_allclose(after.variance_fraction, direct.variance_fraction, rtol=1e-3)
    with pytest.raises(ValueError, match="not among"):
        pca.without_components(wide, [5], 3)


def test_slope_background_ignores_a_hot_pixel_in_the_background_columns():
    """A hot pixel not yet found must not tilt its row's fitted line (it did, flagging the
    whole row as bad pixels on the deep frame)."""
    nx = 72
    x = np.arange(nx, dtype=np.float32)
    rng = np.random.default_rng(4)
    sky = 50.0 + 0.2 * (x - 36.0)
    cube = (sky + rng.normal(0, 0.5, (6, 3, nx))).astype(np.float32)
    cube[:, 1, 14] += 5000.0  # a hot pixel among the left background columns
    out, coef = background.subtract_background(cube, 37.0, "slope")
    assert np.allclose(coef[:, 1, 1], 0.2, atol=0.02)  # the slope of the sky, not of the pixel
    assert np.abs(out[:, 1, 30:45]).max() < 3.0


def test_pca_leading_eigenpairs_of_a_long_cube_match_the_full_decomposition():
    """From 600 integrations on, `decompose` takes only the leading eigenpairs (Lanczos);
    they equal the full decomposition's, signs included, and `gram` sums blocks in place."""
    rng = np.random.default_rng(5)
    n, pixels = 900, 300
    x = (rng.normal(size=(n, 4)) * [40, 20, 9, 5]) @ rng.normal(size=(4, pixels))
    x = (x + rng.normal(size=(n, pixels))).astype(np.float32)
    x -= x.mean(axis=0)
    g = pca.gram(x[:, :100])
    assert pca.gram(x[:, 100:], out=g) is g
    np.testing.assert_allclose(g, x.astype(float) @ x.T.astype(float), rtol=1e-4, atol=1e-2)
    eigen = pca.decompose(g, 6)
    vals, vecs = np.linalg.eigh(g)
    vals, vecs = vals[::-1][:6], vecs[:, ::-1][:, :6]
    vecs *= np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(6)])
    np.testing.assert_allclose(eigen.values, vals, rtol=1e-8)
    np.testing.assert_allclose(eigen.vectors[:, :4], vecs[:, :4], atol=1e-8)
    assert eigen.total == pytest.approx(np.trace(g))
    assert pca.decompose(g[:50, :50], 3).values.shape == (3,)  # small: the dense path


def test_pca_sketch_finds_the_strong_components_without_the_gram_matrix():
    """Past `GRAM_MAX_MB` the eigenpairs come from passes over blocks of the cube: its strong
    components equal the full decomposition's, and the trace (the variance fractions'
    denominator) is exact; components at the noise floor only approximately."""
    rng = np.random.default_rng(5)
    n, pixels = 900, 3000
    x = (rng.normal(size=(n, 4)) * [40, 20, 9, 5]) @ rng.normal(size=(4, pixels))
    x = (x + rng.normal(size=(n, pixels))).astype(np.float32)
    x -= x.mean(axis=0)
    passes = []

    def blocks():
        passes.append(1)
        return (x[:, a : a + 500] for a in range(0, pixels, 500))

    full = pca.decompose(pca.gram(x), 6)
    sketch = pca.sketch_decompose(blocks, n, 6)
    assert len(passes) == pca.SKETCH_PASSES
    np.testing.assert_allclose(sketch.values[:4], full.values[:4], rtol=1e-6)
    np.testing.assert_allclose(sketch.vectors[:, :4], full.vectors[:, :4], atol=1e-6)
    assert sketch.total == pytest.approx(full.total, rel=1e-6)
    assert 0.8 < sketch.values[5] / full.values[5] <= 1.0 + 1e-9  # the noise floor: Ritz values
    assert pca.gram_fits(8192) and not pca.gram_fits(8193)
