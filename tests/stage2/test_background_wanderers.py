"""Stage 2: a wandering pixel among the background columns must not get its row flagged."""

from __future__ import annotations

import numpy as np

from exolrs.config import Stage2Config
from exolrs.stage2 import background, engine, telegraph


def _scene(amplitude, nt=1600, ny=8, nx=72, seed=4):
    """Raw rates of a few rows: 100 DN/s of background with a 2 % flat error frozen in,
    a trace at column 36, white noise; two telegraph pixels in row 4's right background
    columns (55 and 59), switching every 30 integrations on average."""
    rng = np.random.default_rng(seed)
    x = np.arange(nx)
    frame = 100.0 + 0.05 * (x - 36) + 2.0 * rng.standard_normal((ny, nx))
    frame = frame + 500.0 * np.exp(-0.5 * ((x - 36) / 1.3) ** 2)
    cube = frame[None] + 3.0 * rng.standard_normal((nt, ny, nx))
    for col in (55, 59):
        state = (np.cumsum(rng.random(nt) < 1 / 30) + rng.integers(2)) % 2
        cube[:, 4, col] += amplitude * state
    return cube.astype(np.float32)


class _Stack:
    def __init__(self, cube):
        self.cube = cube

    def rows(self, name, a, b):
        return self.cube[:, a:b].copy()


class _NoFlat:
    def divide(self, sci, err=None, rows=slice(None)):
        pass


def test_a_rows_background_fitted_without_its_wandering_pixels_flags_only_them():
    p = Stage2Config()
    cube = _scene(30.0)
    sci = background.subtract_background(
        cube, 36.0, p.miri_method, p.miri_trace_width, p.miri_background_width
    )[0]
    none = np.zeros(cube.shape[1:], bool)
    state = {"x0": 36.0, "static": none, "hot": none, "shared_sums": telegraph.shared_sums(sci)}
    found = telegraph.wandering_pixels(sci, p.telegraph_thresh, sums=state["shared_sums"])
    assert found[4, 55] and found[4, 59] and found.sum() > 2  # the row's fit wanders with them
    after = engine._background_wanderers(sci, found, _Stack(cube), _NoFlat(), p, state, 0)
    assert np.argwhere(after).tolist() == [[4, 55], [4, 59]]
    clean = background.subtract_background(
        cube,
        36.0,
        p.miri_method,
        p.miri_trace_width,
        p.miri_background_width,
        bad=np.isin(np.arange(72), [55, 59])[None].repeat(8, 0),
    )[0]
    np.testing.assert_allclose(sci[:, 4, 30:43], clean[:, 4, 30:43], atol=1e-3)  # the trace
    untouched = engine._background_wanderers(
        sci, np.zeros_like(after), _Stack(cube), _NoFlat(), p, state, 0
    )
    assert not untouched.any()
