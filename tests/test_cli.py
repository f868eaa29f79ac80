"""The command line: success paths and user errors (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from exolrs.cli import app

runner = CliRunner()


def test_simulate_tiny(tmp_path):
    result = runner.invoke(
        app, ["simulate", str(tmp_path / "o"), "--preset", "tiny", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o" / "uncal").glob("*_uncal.fits"))) == 3
    assert (tmp_path / "o" / "truth.ecsv").is_file()
    assert (tmp_path / "o" / "exolrs.yaml").is_file()
    assert "wrote 3 uncal segment(s)" in result.output


def test_simulate_with_a_config_overriding_the_preset(tmp_path):
    config = tmp_path / "sys.yaml"
    config.write_text("nints: 12\nsystematics:\n  red_noise_ppm: 300\n")
    result = runner.invoke(
        app, ["simulate", str(tmp_path / "o"), "--preset", "tiny", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "o" / "truth.json").read_text())
    assert truth["nints"] == 12 and truth["config"]["systematics"]["red_noise_ppm"] == 300
    config.write_text("systematics:\n  red_noise: 300\n")
    bad = runner.invoke(app, ["simulate", str(tmp_path / "p"), "--config", str(config)])
    assert bad.exit_code == 2 and "unknown key `systematics.red_noise`" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "p" / "uncal").exists()


def test_unknown_preset_exit_2_no_traceback(tmp_path):
    result = runner.invoke(app, ["simulate", str(tmp_path), "--preset", "huge"])
    assert result.exit_code == 2
    assert "unknown simulation preset 'huge'" in result.output
    assert "Traceback" not in result.output


def test_unwritable_output_dir():
    # /proc refuses new folders even to root, so this holds wherever CI runs
    result = runner.invoke(app, ["simulate", "/proc/exolrs-out", "--preset", "tiny"])
    assert result.exit_code == 2
    assert "cannot write to output directory /proc/exolrs-out" in result.output


def test_output_path_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    result = runner.invoke(app, ["simulate", str(f), "--preset", "tiny"])
    assert result.exit_code == 2
    assert "cannot write to output directory" in result.output
    assert "Traceback" not in result.output


def test_version():
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.output.strip()


def _run_file(tiny_sim, tmp_path, extra: str = "", name: str = "run.yaml") -> str:
    refs = "\n".join(f"  {k}: {v}" for k, v in tiny_sim["refs"].items())
    text = (
        f"target: WASP-39b\ninput: {tiny_sim['outdir']}/uncal/*_uncal.fits\n"
        f"output_dir: {tmp_path}/red\nreferences:\n{refs}\n"
        "parallel:\n  backend: serial\nstage1:\n  miri_drop_groups: 2\n" + extra
    )
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_init_config_writes_a_template_once(tmp_path):
    path = tmp_path / "exolrs.yaml"
    assert runner.invoke(app, ["init-config", str(path)]).exit_code == 0
    assert "miri_drop_groups" in path.read_text()
    again = runner.invoke(app, ["init-config", str(path)])
    assert again.exit_code == 2 and "--force" in again.output


def test_run_stage1_from_a_run_file_and_resume(tiny_sim, tmp_path):
    import json

    cfg = _run_file(tiny_sim, tmp_path)
    result = runner.invoke(app, ["run", cfg, "--stages", "1"])
    assert result.exit_code == 0, result.output
    products = sorted((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))
    assert len(products) == 3
    record = json.loads((tmp_path / "red" / "run.json").read_text())
    assert record["stages"]["1"]["reference_sources"]["dark"] == "override"
    assert record["versions"]["stcal"] and record["peak_rss"]["main_MB"] > 0
    assert "run of WASP-39b" in (tmp_path / "red" / "exolrs.log").read_text()
    mtimes = [p.stat().st_mtime_ns for p in products]
    assert runner.invoke(app, ["run", cfg, "--stages", "1,2,3"]).exit_code == 0
    assert [p.stat().st_mtime_ns for p in products] == mtimes  # reused
    assert (tmp_path / "red" / "Stage3" / "WASP-39b_optimal_spectra_fullres.fits").exists()
    assert runner.invoke(app, ["run", cfg, "--stages", "1", "--force-redo"]).exit_code == 0
    assert [p.stat().st_mtime_ns for p in products] != mtimes
    no_period = runner.invoke(app, ["run", cfg, "--stages", "4"])
    assert no_period.exit_code == 2 and "period: is required" in no_period.output


def test_later_stages_run_after_the_raw_segments_are_gone(tiny_sim, tmp_path):
    cfg = _run_file(tiny_sim, tmp_path)
    assert runner.invoke(app, ["run", cfg, "--stages", "1,2"]).exit_code == 0
    gone = Path(cfg)
    gone.write_text(gone.read_text().replace(f"{tiny_sim['outdir']}/uncal", str(tmp_path / "x")))
    result = runner.invoke(app, ["run", cfg, "--stages", "3"])  # reads Stage 2's products
    assert result.exit_code == 0, result.output
    assert (tmp_path / "red" / "Stage3" / "WASP-39b_optimal_spectra_fullres.fits").exists()
    again = runner.invoke(app, ["run", cfg, "--stages", "1,2"])  # Stage 1 needs them
    assert again.exit_code == 2 and "no files match" in again.output


def test_run_errors_exit_2_without_traceback(tiny_sim, tmp_path):
    cases = [
        (["run", str(tmp_path / "missing.yaml")], "not found"),
        (["run", _run_file(tiny_sim, tmp_path, "  chunk_intz: 3\n", "bad.yaml")], "unknown key"),
        (["run", _run_file(tiny_sim, tmp_path), "--stages", "5"], "not available"),
        (["run", _run_file(tiny_sim, tmp_path), "--stages", "x"], "--stages takes numbers"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
