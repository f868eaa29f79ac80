"""Stage 2 streamed: blocks of rows give the products of one block, memory is bounded by
the block budget, and a run stopped while writing resumes at its first unwritten segment."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io import read_integrations_product
from exolrs.stage2 import engine


@pytest.fixture(scope="module")
def rateints(tiny_rateints):
    return tiny_rateints


def _run(rateints, tiny_sim, out, **kw):
    return engine.run_stage2(
        rateints, out, target="T", references=tiny_sim["refs"], do_plot=False, **kw
    )


def _watched_run(rateints, tiny_sim, out, **kw):
    """`_run` and the (done, total) of every progress call it made."""
    seen = []
    result = _run(
        rateints, tiny_sim, out, progress=lambda done, total: seen.append((done, total)), **kw
    )
    return result, seen


def _products(result):
    cube = read_integrations_product(result.calints)
    return cube.sci, cube.err, cube.dq, fits.getdata(result.deep_frame)


@pytest.mark.parametrize("options", [{}, {"remove_components": [1], "miri_method": "slope"}])
def test_blocks_of_a_few_rows_equal_one_block(rateints, tiny_sim, tmp_path, monkeypatch, options):
    one = _run(rateints, tiny_sim, tmp_path / "one", **options)
    monkeypatch.setattr(engine, "BLOCK_MB", 1e-9)  # one row a block: 416 blocks, 2-row halos
    rows, seen = _watched_run(rateints, tiny_sim, tmp_path / "rows", **options)
    for a, b in zip(_products(one), _products(rows), strict=True):
        # removing a component sums the Gram matrix over 416 blocks: float32 rounding
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(a)))
    assert (one.n_bad_pixels, one.n_time_outliers) == (rows.n_bad_pixels, rows.n_time_outliers)
    assert seen[-1][0] == seen[-1][1] > 416  # every block and segment reported
    assert not (tmp_path / "rows" / engine.WORK_DIR).exists()  # scratch removed when done


def test_a_cube_too_long_for_its_gram_matrix_takes_the_sketched_pca(
    rateints, tiny_sim, tmp_path, monkeypatch
):
    """Where the (nints × nints) Gram matrix would pass `pca.GRAM_MAX_MB` (8 192 integrations)
    it is not formed: the leading components come from passes over the scratch cube (its
    accuracy on a cube with strong components: test_stage2_steps), and removing the first
    gives the calints of the full decomposition's removal."""
    from astropy.table import Table

    from exolrs.stage2 import pca

    options = {"remove_components": [1], "miri_method": "slope"}
    full = _run(rateints, tiny_sim, tmp_path / "full", **options)
    monkeypatch.setattr(pca, "GRAM_MAX_MB", 0.0)
    # the tiny cube's 24 integrations hold only noise-level components, which a sketch of
    # fewer directions finds only approximately: with as many as integrations it is exact
    monkeypatch.setattr(pca, "SKETCH_OVERSAMPLE", 24)
    monkeypatch.setattr(pca, "decompose", None)  # the Gram path would fail
    sketched, seen = _watched_run(rateints, tiny_sim, tmp_path / "sketched", **options)
    for a, b in zip(_products(full), _products(sketched), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.nanmax(np.abs(a)))
    ts = [Table.read(r.deep_frame.parent / "T_pca_timeseries.ecsv") for r in (full, sketched)]
    np.testing.assert_allclose(ts[1]["pca_1"], ts[0]["pca_1"], rtol=1e-4, atol=1e-3)
    assert seen[-1][0] == seen[-1][1]


def test_a_stopped_run_resumes_at_its_first_unwritten_segment(
    rateints, tiny_sim, tmp_path, monkeypatch
):
    full = _run(rateints, tiny_sim, tmp_path / "full")
    out = tmp_path / "stopped"
    write = engine._write_segment
    calls = []

    def stop_after_one(*args):
        if calls:
            raise KeyboardInterrupt
        calls.append(args[1])
        return write(*args)

    monkeypatch.setattr(engine, "_write_segment", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        _run(rateints, tiny_sim, out)
    assert (out / engine.WORK_DIR / "state.npz").exists()
    assert [p.exists() for p in full.calints] and len(list(out.glob("*_calints.fits"))) == 1
    monkeypatch.setattr(engine, "_write_segment", write)
    passes = []
    monkeypatch.setattr(engine, "_statistics", lambda *a: passes.append(a))  # must not run
    again = _run(rateints, tiny_sim, out)
    assert passes == [] and again.resumed_segments == 1
    for a, b in zip(_products(full), _products(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (out / engine.WORK_DIR).exists()


def test_changed_parameters_discard_a_stopped_runs_state(rateints, tiny_sim, tmp_path, monkeypatch):
    out = tmp_path / "s2"
    write = engine._write_segment

    def stop(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_write_segment", stop)
    with pytest.raises(KeyboardInterrupt):
        _run(rateints, tiny_sim, out)
    monkeypatch.setattr(engine, "_write_segment", write)
    again = _run(rateints, tiny_sim, out, time_thresh=6.0)  # a different run: recomputed
    assert again.resumed_segments == 0
    reference = _run(rateints, tiny_sim, tmp_path / "ref", time_thresh=6.0)
    np.testing.assert_array_equal(_products(again)[0], _products(reference)[0])


def test_remove_components_beyond_those_computed_is_a_clear_error(rateints, tiny_sim, tmp_path):
    with pytest.raises(ExolrsError, match=r"remove_components.*pca_components = 3"):
        _run(rateints, tiny_sim, tmp_path, pca_components=3, remove_components=[4])


@pytest.mark.parametrize("method", ["box", "optimal"])
def test_stage3_in_blocks_of_integrations_equals_one_block(
    rateints, tiny_sim, tmp_path, monkeypatch, method
):
    """Stage 3 reads the calints a few integrations at a time (the deep frame of MAST
    calints and the optimal weights' error model by blocks of rows): same spectra."""
    from exolrs.io.spectra import read_spectra
    from exolrs.stage3 import engine as stage3

    s2 = _run(rateints, tiny_sim, tmp_path / "s2")
    runs = {}
    for chunk in (10_000, 5):
        monkeypatch.setattr(stage3, "CHUNK_INTS", chunk)
        for deep in (s2.deep_frame, None):
            out = tmp_path / f"{chunk}-{deep is None}"
            r = stage3.run_stage3(
                s2.calints,
                deep,
                out,
                extract_method=method,
                do_plot=False,
                references=tiny_sim["refs"],
            )
            runs[chunk, deep is None] = read_spectra(r.spectra)
    for deep in (False, True):
        a, b = runs[10_000, deep], runs[5, deep]
        np.testing.assert_array_equal(a.flux, b.flux)
        np.testing.assert_array_equal(a.flux_err, b.flux_err)
        np.testing.assert_array_equal(a.x_shift, b.x_shift)


def test_replaced_pixels_keep_a_finite_error(rateints, tiny_sim, tmp_path):
    result = _run(rateints, tiny_sim, tmp_path / "err")
    sci, err, _, _ = _products(result)
    assert np.isnan(read_integrations_product(rateints).sci).any()  # there were bad pixels
    assert np.isfinite(err[np.isfinite(sci)]).all()
