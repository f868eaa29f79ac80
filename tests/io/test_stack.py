"""ProductStack reads blocks of rows / integrations of rateints exactly as the whole-file
reader does; ScratchCube's state is valid only for the run that made it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from exolrs.errors import ExolrsError
from exolrs.io.products import IntegrationsWriter, read_integrations_product
from exolrs.io.stack import ProductStack, ScratchCube, row_blocks


@pytest.fixture
def segments(tmp_path):
    """Two segments (5 + 3 integrations, 6 × 4 pixels) with DQ values using the top bit."""
    rng = np.random.default_rng(0)
    paths, cubes = [], []
    for k, n in enumerate((5, 3)):
        sci = rng.normal(size=(n, 6, 4)).astype(np.float32)
        dq = rng.integers(0, 2**32, size=(n, 6, 4), dtype=np.uint32)
        dq[0, 0, 0] = 2**31 | 1  # the sign bit of the stored int32
        w = IntegrationsWriter(tmp_path / f"x-seg{k}_rateints.fits", n, (6, 4))
        w.write(0, sci, sci * 0.1, dq, var_poisson=sci**2, var_rnoise=sci * 0 + 2)
        paths.append(w.close())
        cubes.append((sci, dq))
    return paths, cubes


def test_rows_and_ints_equal_the_whole_file_reader(segments):
    paths, _ = segments
    ref = read_integrations_product(paths)
    stack = ProductStack(paths)
    assert stack.shape == (8, 6, 4) and stack.lengths == [5, 3]
    for name, whole in (("SCI", ref.sci), ("DQ", ref.dq), ("VAR_RNOISE", ref.var_rnoise)):
        got = np.concatenate([stack.rows(name, r0, r1) for r0, r1 in ((0, 2), (2, 5), (5, 6))], 1)
        np.testing.assert_array_equal(got, whole)
        np.testing.assert_array_equal(stack.ints(name, 3, 7), whole[3:7])  # across segments
        assert got.dtype == whole.dtype
    assert stack.rows("DQ", 0, 1)[0, 0, 0] == 2**31 | 1


@pytest.mark.filterwarnings("ignore::astropy.io.fits.verify.VerifyWarning")
def test_missing_array_and_file_are_clear_errors(segments, tmp_path):
    paths, _ = segments
    with pytest.raises(ExolrsError, match="no VAR_FLAT array"):
        ProductStack(paths).rows("VAR_FLAT", 0, 1)
    with pytest.raises(ExolrsError, match="product not found"):
        ProductStack([*paths, tmp_path / "gone_rateints.fits"])
    broken = tmp_path / "broken_rateints.fits"
    broken.write_bytes(paths[0].read_bytes()[:4000])
    with pytest.raises(ExolrsError, match="broken_rateints"):
        ProductStack([broken]).rows("SCI", 0, 6)


def test_row_blocks_tile_the_rows_within_the_budget():
    blocks = row_blocks(nints=5400, ny=416, nx=72, budget_mb=32)
    assert blocks[0][0] == 0 and blocks[-1][1] == 416
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    assert max(b - a for a, b in blocks) * 5400 * 72 * 4 <= 32 * 2**20
    assert row_blocks(10**7, 416, 72, 1) == [(r, r + 1) for r in range(416)]  # ≥ one row


def test_scratch_state_belongs_to_its_run(tmp_path):
    scratch = ScratchCube(tmp_path / "w", "abc", (4, 3, 2))
    scratch.create(["sci"])
    block = np.arange(4 * 2 * 2, dtype=np.float32).reshape(4, 2, 2)
    scratch.write_rows("sci", 1, block)
    np.testing.assert_array_equal(scratch.rows("sci", 1, 3), block)
    np.testing.assert_array_equal(scratch.ints("sci", 2, 4)[:, 1:], block[2:])
    assert scratch.load_state(["sci"]) is None  # no state saved yet
    scratch.save_state(x0=np.float64(2.5), hot=np.eye(3, 2, dtype=bool))
    state = scratch.load_state(["sci"])
    assert state["x0"] == 2.5 and state["hot"].dtype == bool
    assert ScratchCube(tmp_path / "w", "other", (4, 3, 2)).load_state(["sci"]) is None
    assert ScratchCube(tmp_path / "w", "abc", (5, 3, 2)).load_state(["sci"]) is None
    assert scratch.load_state(["sci", "err"]) is None  # a cube is missing
    scratch.remove()
    assert not (tmp_path / "w").exists()
