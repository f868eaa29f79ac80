"""The tutorial-style step classes give exactly what the fused streaming engine gives."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs import stage1
from exolrs.config import Stage1Config
from exolrs.errors import ExolrsError
from exolrs.io import read_integrations_product


def test_step_by_step_equals_fused_run(tiny_sim, tmp_path):
    files, refs = tiny_sim["uncal"], tiny_sim["refs"]
    out = tmp_path / "steps"
    r = stage1.DQInitStep(files, output_dir=out, references=refs).run()
    r = stage1.SaturationStep(r, output_dir=out, references=refs).run()
    r = stage1.EmiCorrStep(r, output_dir=out, references=refs).run(skip_groups=2)
    r = stage1.ResetStep(r, output_dir=out, references=refs).run()
    r = stage1.LinearityStep(r, output_dir=out, references=refs).run(miri_drop_groups=2)
    r = stage1.JumpStep(r, output_dir=out, references=refs).run(time_rejection_threshold=7)
    rateints = stage1.RampFitStep(r, output_dir=out, references=refs).run(maximum_cores=2)
    assert [p.name for p in rateints] == [p.name.replace("uncal", "rateints") for p in files]
    for suffix in (
        "dqinitstep",
        "saturationstep",
        "emicorrstep",
        "resetstep",
        "linearitystep",
        "jump",
    ):
        assert len(list(out.glob(f"*_{suffix}.fits"))) == 3
    fused = stage1.run_stage1(
        files,
        tmp_path / "fused",
        references=refs,
        params=Stage1Config(miri_drop_groups=2, time_rejection_threshold=7, chunk_ints=7),
    )
    a, b = read_integrations_product(rateints), read_integrations_product(fused)
    # the engine's compiled passes sum in another order than numpy's BLAS: equal to float32
    # rounding (slopes near zero differ by < 1e-9 DN/s), flags identical
    np.testing.assert_allclose(a.sci, b.sci, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(a.dq, b.dq)


def test_saved_step_outputs_are_reused_and_reloadable(tiny_sim, tmp_path):
    files, refs = tiny_sim["uncal"], tiny_sim["refs"]
    first = stage1.DQInitStep(files, output_dir=tmp_path, references=refs).run()
    saved = sorted(tmp_path.glob("*_dqinitstep.fits"))
    mtimes = [p.stat().st_mtime_ns for p in saved]
    again = stage1.DQInitStep(files, output_dir=tmp_path, references=refs).run()
    assert [p.stat().st_mtime_ns for p in saved] == mtimes  # reused, not rewritten
    np.testing.assert_array_equal(again[0].groupdq, first[0].groupdq)
    # a saved product is a valid input to the next step
    sat = stage1.SaturationStep(saved, output_dir=tmp_path, references=refs).run(
        save_results=False, saturation_threshold=30000.0
    )
    assert sat[0].history == ["dq_init", "saturation"]


def test_step_errors_are_clear(tiny_sim, tmp_path):
    with pytest.raises(ExolrsError, match="input not found"):
        stage1.SaturationStep([tmp_path / "x_dqinitstep.fits"], output_dir=tmp_path).run()
    with pytest.raises(ExolrsError, match="at most 7"):
        stage1.LinearityStep(
            tiny_sim["uncal"], output_dir=tmp_path, references=tiny_sim["refs"]
        ).run(miri_drop_groups=9, save_results=False)


def test_diagnostic_figures(tiny_sim, tmp_path):
    files, refs = tiny_sim["uncal"][:1] + tiny_sim["uncal"][1:], tiny_sim["refs"]
    out = tmp_path
    step = stage1.DQInitStep(files, output_dir=out, references=refs)
    r = step.run(save_results=False, do_plot=True)
    r = stage1.SaturationStep(r, output_dir=out, references=refs).run(save_results=False)
    lin = stage1.LinearityStep(r, output_dir=out, references=refs)
    r = lin.run(save_results=False, do_plot=True, miri_drop_groups=2)
    jump = stage1.JumpStep(r, output_dir=out, references=refs)
    r = jump.run(save_results=False, do_plot=True, time_rejection_threshold=7)
    fit = stage1.RampFitStep(r, output_dir=out, references=refs)
    fit.run(do_plot=True)
    figures = [*step.figures, *lin.figures, *jump.figures, *fit.figures]
    assert len(figures) == 5
    for f in figures:
        assert f.suffix == ".png" and f.stat().st_size > 5000


def test_emicorr_with_given_frequencies_needs_no_reference(tiny_sim, tmp_path, monkeypatch):
    monkeypatch.setenv("CRDS_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("CRDS_PATH", raising=False)
    out = stage1.EmiCorrStep(tiny_sim["uncal"], output_dir=tmp_path).run(
        save_results=False, frequencies=[390.625]
    )
    assert [p.history for p in out] == [["emicorr"]] * 3
    with pytest.raises(ExolrsError, match="no reference file"):
        stage1.EmiCorrStep(tiny_sim["uncal"], output_dir=tmp_path).run(save_results=False)
