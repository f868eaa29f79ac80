"""A run starts from whatever the input is: uncal segments, rateints (Stage 2), calints
(Stage 3) or an x1dints (Stage 4), recognised from the files, with the same run file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from astropy.io import fits
from typer.testing import CliRunner

from exolrs.cli import app
from exolrs.errors import ExolrsError
from exolrs.io.inputs import classify_inputs, product_kind

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_products(tiny_sim, tmp_path_factory):
    from exolrs.config import Stage1Config
    from exolrs.stage1.engine import run_stage1
    from exolrs.stage2.engine import run_stage2

    out = tmp_path_factory.mktemp("tiny_products")
    rate = run_stage1(
        tiny_sim["uncal"],
        out / "S1",
        params=Stage1Config(miri_drop_groups=2),
        references=tiny_sim["refs"],
    )
    s2 = run_stage2(rate, out / "S2", target="T", references=tiny_sim["refs"], do_plot=False)
    return rate, s2.calints


def _run_file(tmp_path, inputs, refs, **extra):
    cfg = {
        "target": "T",
        "input": [str(p) for p in inputs],
        "output_dir": str(tmp_path / "red"),
        "references": {k: str(v) for k, v in refs.items()},
        "stage1": {"miri_drop_groups": 2},
        **extra,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_kinds_are_recognised_by_name_and_content(tiny_sim, tiny_products, tmp_path):
    rate, cal = tiny_products
    assert product_kind(tiny_sim["uncal"][0]) == "uncal"
    assert classify_inputs(rate)[0] == "rateints"
    assert classify_inputs(cal)[0] == "calints"
    renamed = tmp_path / "whatever.fits"
    shutil.copy(cal[0], renamed)
    assert product_kind(renamed) == "calints"  # VAR_FLAT: flat-fielded
    with pytest.raises(ExolrsError, match="mixes rateints and calints"):
        classify_inputs([*rate, *cal])


def test_run_from_rateints_starts_at_stage_2(tiny_sim, tiny_products, tmp_path):
    rate, _ = tiny_products
    cfg = _run_file(tmp_path, rate, tiny_sim["refs"])
    result = runner.invoke(app, ["run", str(cfg), "--stages", "1,2"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "red" / "run.json").read_text())
    assert record["input"]["kind"] == "rateints" and record["input"]["skipped"] == [1]
    assert list(record["stages"]) == ["2"]
    assert len(list((tmp_path / "red" / "Stage2").glob("*_calints.fits"))) == 3


def test_run_from_calints_makes_its_deep_frame(tiny_sim, tiny_products, tmp_path):
    _, cal = tiny_products
    cfg = _run_file(tmp_path, cal, tiny_sim["refs"])
    result = runner.invoke(app, ["run", str(cfg), "--stages", "3"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "red" / "Stage3"
    deep = out / "T_deepframe.fits"
    wave = fits.getdata(deep, "WAVELENGTH")
    np.testing.assert_allclose(wave, np.fmax.reduce(fits.getdata(cal[0], "WAVELENGTH"), axis=1))
    assert (out / "T_optimal_spectra_fullres.fits").exists()
    assert (out / "T_optimal_x1dints.fits").exists()
    # asking for a stage before the input's is one clear line, exit 2
    result = runner.invoke(app, ["run", str(cfg), "--stages", "1,2"])
    assert result.exit_code == 2 and "Stage 3 starts from" in result.output


def test_run_from_an_x1dints_fits_its_light_curves(tmp_path):
    from exolrs.io.spectra import Spectra
    from exolrs.io.x1dints import write_x1dints
    from exolrs.stage4.model import LightCurveModel
    from exolrs.stage4.parameters import BOUNDS

    rng = np.random.default_rng(3)
    t = 60000 + np.linspace(0.4, 0.6, 300)
    fixed = {"t0": 60000.5, "a": 12.0, "b": 0.3, "q1": 0.2, "q2": 0.3}
    m = LightCurveModel(t, np.ones(300), np.ones(300), 2.0, ["rp"], fixed, BOUNDS)
    wave = np.linspace(4.8, 12.2, 40)
    flux = 500 * m.model(np.array([0.145]))[:, None] * np.ones(40)
    flux = flux + rng.normal(0, 1.0, flux.shape)
    spec = Spectra(wave, np.full(40, 0.09), flux, np.ones_like(flux), t)
    header = {"INSTRUME": "MIRI", "EXP_TYPE": "MIR_LRS-SLITLESS", "TARGNAME": "T"}
    x1d = write_x1dints(spec, tmp_path / "jw_x1dints.fits", header=header)
    stage4 = {
        "planet": {"period": 2.0, "a": 12.0, "b": 0.3},
        "binning": "width",
        "bin_width": 3.5,
        "drop_first": 0,
        "n_ramps": 0,
        "n_steps_white": 600,
        "n_steps_spec": 400,
    }
    cfg = _run_file(tmp_path, [x1d], {}, stage4=stage4)
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "red" / "run.json").read_text())
    assert record["input"]["skipped"] == [1, 2, 3] and list(record["stages"]) == ["4"]
    white = json.loads((tmp_path / "red" / "Stage4" / "white_fit.json").read_text())
    assert white["best"]["rp"] == pytest.approx(0.145, abs=0.003)


def test_an_unsupported_file_is_one_line(tmp_path):
    bad = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4)))]).writeto(bad)
    cfg = _run_file(tmp_path, [bad], {})
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 2
    assert "not a product exolrs starts from" in result.output
    assert "Traceback" not in result.output
