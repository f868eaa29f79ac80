"""Stage 2/3 step classes reproduce run_stage2/run_stage3, in memory or through files."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs import stage2, stage3
from exolrs.io import read_integrations_product
from exolrs.io.spectra import read_spectra


@pytest.fixture(scope="module")
def stage1_products(tiny_rateints):
    return tiny_rateints


@pytest.mark.parametrize("save", [True, False])
def test_steps_equal_the_stage_runners(tiny_sim, stage1_products, tmp_path, save):
    refs = tiny_sim["refs"]
    out = tmp_path / "steps"
    r = stage2.AssignWCSStep(stage1_products, output_dir=out, references=refs).run(
        save_results=save
    )
    r = stage2.SourceTypeStep(r, output_dir=out).run(save_results=save)
    r = stage2.FlatFieldStep(r, output_dir=out, references=refs).run(save_results=save)
    r = stage2.BackgroundStep(r, output_dir=out).run(save_results=save)
    r = stage2.BadPixStep(r, output_dir=out).run(save_results=save)
    pca_step = stage2.PCAReconstructStep(r, output_dir=out)
    r = pca_step.run(save_results=save, do_plot=True)
    assert r.source_type == "POINT" and pca_step.figures[0].exists()
    removal = stage2.PCAReconstructStep(r, output_dir=tmp_path / "pca").run(
        save_results=False, remove_components=[1], do_plot=False
    )
    assert not np.array_equal(removal.sci, r.sci)
    spec = stage3.Extract1DStep(r, output_dir=out, target="T").run(save_results=save)

    s2 = stage2.run_stage2(
        stage1_products, tmp_path / "S2", target="T", references=refs, do_plot=False
    )
    ref = read_integrations_product(s2.calints)
    np.testing.assert_array_equal(r.sci, ref.sci)
    s3 = stage3.run_stage3(s2.calints, s2.deep_frame, tmp_path / "S3", target="T", do_plot=False)
    # the calints' ERR is √(err² + VAR_FLAT), taken apart again: float32 rounding
    flux = read_spectra(s3.spectra).flux
    np.testing.assert_allclose(spec.flux, flux, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(flux)))
    if save:
        assert len(list(out.glob("*_backgroundstep.fits"))) == 3
        assert (out / "T_optimal_spectra_fullres.fits").exists()
        again = stage2.BackgroundStep(r, output_dir=out).run()  # reused from disk
        assert again.history[-1] == "backgroundstep"
        assert len(list(out.glob("*_hot_pixel_map.fits"))) == 1
    else:
        assert [p.suffix for p in out.iterdir()] == [".png"]  # only the figure asked for


def test_extract_needs_wavelengths(stage1_products, tmp_path):
    with pytest.raises(ValueError, match="AssignWCSStep"):
        stage3.Extract1DStep(stage1_products, output_dir=tmp_path).run()


def test_pca_removal_figures_before_and_after(tiny_sim, stage1_products, tmp_path):
    s2 = stage2.run_stage2(
        stage1_products, tmp_path, target="T", references=tiny_sim["refs"], remove_components=[1]
    )
    names = sorted(f.name for f in s2.figures)
    assert names == ["T_pca_components.png", "T_pca_components_after.png"]
    from astropy.table import Table

    pcs = Table.read(tmp_path / "T_pca_timeseries.ecsv")
    assert pcs.colnames[:2] == ["pca_1", "pca_2"] and len(pcs) == 24
