"""Products written by jwst's own pipeline reduce through exolrs' remaining stages: rateints
from calwebb_detector1 (`benchmarks/compare/jwst_side.py`) and calints from jwst's
AssignWcs → SourceType → FlatField (`tests/oracles/jwst_spec2.py`), both run offline on
the first segment of a `tiny` simulation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from exolrs.cli import app
from exolrs.io.spectra import read_spectra

ROOT = Path(__file__).parents[1]
DATA = ROOT / "tests" / "data"
runner = CliRunner()


def _run(args, timeout=600):
    run = subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout
    )
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.fixture(scope="module")
def jwst_products(tiny_sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("jwst_products")
    _run(
        [
            ROOT / "benchmarks" / "compare" / "jwst_side.py",
            tiny_sim["outdir"],
            out,
            "--segments",
            "1",
        ]
    )
    rateints = sorted((out / "Stage1").glob("*_rateints.fits"))
    _run(
        [
            ROOT / "tests" / "oracles" / "jwst_spec2.py",
            out / "cal",
            DATA / "jwst_miri_specwcs_0006.fits",
            DATA / "jwst_miri_imager_distortion_flt1.asdf",
            tiny_sim["refs"]["flat"],
            *rateints,
        ]
    )
    return rateints, sorted((out / "cal").glob("*_calints.fits"))


def _reduce(tmp_path, inputs, refs, stages):
    cfg = {
        "target": "T",
        "input": [str(p) for p in inputs],
        "output_dir": str(tmp_path / "red"),
        "references": {k: str(v) for k, v in refs.items()},
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["run", str(path), "--stages", stages])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "red" / "run.json").read_text())
    spec = read_spectra(tmp_path / "red" / "Stage3" / "T_optimal_spectra_fullres.fits")
    return record, spec


def test_jwst_rateints_and_calints_reduce_alike(jwst_products, tiny_sim, tmp_path):
    rateints, calints = jwst_products
    assert len(rateints) == 1 and len(calints) == 1
    refs = {**tiny_sim["refs"], "specwcs": DATA / "jwst_miri_specwcs_0006.fits"}
    rec_r, from_rate = _reduce(tmp_path / "r", rateints, refs, "2,3")
    assert rec_r["input"]["kind"] == "rateints"
    rec_c, from_cal = _reduce(tmp_path / "c", calints, refs, "2,3")
    assert rec_c["input"]["kind"] == "calints" and list(rec_c["stages"]) == ["2", "3"]
    assert "flat_field" not in rec_c["stages"]["2"]["step_s"]  # jwst applied it
    band = (from_rate.wave >= 5) & (from_rate.wave <= 12)
    assert np.isfinite(from_rate.flux[:, band]).all() and np.isfinite(from_cal.flux[:, band]).all()
    # the same flat, wavelengths and background: the same spectra to well under a percent
    np.testing.assert_allclose(from_cal.wave, from_rate.wave)
    ratio = from_cal.flux[:, band].sum(axis=1) / from_rate.flux[:, band].sum(axis=1)
    assert np.all(np.abs(ratio - 1) < 2e-3)
