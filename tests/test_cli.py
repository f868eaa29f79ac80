"""The command line: success paths and user errors (exit 2, one line, no traceback)."""

from __future__ import annotations

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
