"""The bad-input corpus, driven through the CLI: one clear line, exit status 2, no traceback,
no half-written product, nothing written earlier lost."""

from __future__ import annotations

import errno
import shutil

import numpy as np
import pytest
from astropy.io import fits
from typer.testing import CliRunner

from exolrs.cli import app

runner = CliRunner()


def check(args, message, code=2):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def segs(tiny_sim, tmp_path):
    out = tmp_path / "uncal"
    out.mkdir()
    return [shutil.copy(p, out / p.name) for p in tiny_sim["uncal"]]


def run_file(tiny_sim, tmp_path, body: str = "", name: str = "run.yaml", refs=None) -> str:
    refs = refs if refs is not None else tiny_sim["refs"]
    lines = [f"  {k}: {v}" for k, v in refs.items()]
    text = (
        f"target: T\ninput: {tiny_sim['outdir']}/uncal/*_uncal.fits\n"
        f"output_dir: {tmp_path}/red\nreferences:\n" + "\n".join(lines) + "\n"
        "parallel:\n  backend: serial\nstage1:\n  miri_drop_groups: 2\n" + body
    )
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_missing_file(tmp_path):
    check(["quicklook", tmp_path / "x_uncal.fits"], "input file not found")


def test_empty_file(segs):
    open(segs[0], "w").close()
    check(["quicklook", *segs], "is empty")


def test_truncated_file(segs):
    with open(segs[1], "r+b") as fh:
        fh.truncate(100_000)
    check(["quicklook", *segs], "truncated")


def test_not_fits(segs):
    with open(segs[0], "w") as fh:
        fh.write("hello\n" * 1000)
    check(["quicklook", *segs], "not a readable FITS file")


def test_wrong_instrument(segs):
    fits.setval(segs[0], "INSTRUME", value="NIRSPEC")
    check(["quicklook", *segs], "INSTRUME = 'NIRSPEC'")


def test_wrong_subarray(segs):
    fits.setval(segs[2], "SUBARRAY", value="SUB256")
    check(["quicklook", *segs], "SUBARRAY = 'SUB256'")


def test_two_observations(segs, tmp_path):
    other = tmp_path / "uncal" / segs[1].name.replace("jw09999001001", "jw09999002001")
    shutil.move(segs[1], other)
    fits.setval(other, "OBSERVTN", value="002")
    check(["quicklook", segs[0], other, segs[2]], "mix 2 observations")


def test_missing_segment(segs):
    check(["quicklook", segs[0], segs[2]], "seg002 of 3 missing")


def test_unknown_key(tiny_sim, tmp_path):
    check(
        ["run", run_file(tiny_sim, tmp_path, "  drop_groups: 3\n")],
        "unknown key 'stage1.drop_groups'",
    )


def test_bad_yaml_type(tiny_sim, tmp_path):
    check(["run", run_file(tiny_sim, tmp_path, "  chunk_ints: many\n")], "'stage1.chunk_ints'")


def test_not_a_mapping(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("- a\n- b\n")
    check(["run", path], "must be a YAML mapping")


def test_missing_reference_file(tiny_sim, tmp_path):
    refs = {**tiny_sim["refs"], "dark": tmp_path / "gone.fits"}
    check(
        ["run", run_file(tiny_sim, tmp_path, refs=refs), "--stages", "1"],
        "reference file for 'dark' not found",
    )
    assert not (tmp_path / "red" / "Stage1").exists() or not list(
        (tmp_path / "red" / "Stage1").glob("*.fits")
    )


def test_unwritable_output(tiny_sim, tmp_path):
    cfg = run_file(tiny_sim, tmp_path)
    text = open(cfg).read().replace(f"output_dir: {tmp_path}/red", "output_dir: /proc/exolrs")
    open(cfg, "w").write(text)
    check(["run", cfg, "--stages", "1"], "cannot write to output directory /proc/exolrs")


def test_nan_filled_data(tiny_sim, tmp_path):
    cfg = run_file(tiny_sim, tmp_path)
    assert runner.invoke(app, ["run", cfg, "--stages", "1"]).exit_code == 0
    for p in (tmp_path / "red" / "Stage1").glob("*_rateints.fits"):
        with fits.open(p, mode="update") as hdul:
            hdul["SCI"].data[:] = np.nan
    check(["run", cfg, "--stages", "2"], "are finite")
    assert not (tmp_path / "red" / "Stage2").exists() or not list(
        (tmp_path / "red" / "Stage2").glob("*_calints.fits")
    )


def test_disk_full_keeps_earlier_products(tiny_sim, tmp_path, monkeypatch):
    cfg = run_file(tiny_sim, tmp_path)
    assert runner.invoke(app, ["run", cfg, "--stages", "1"]).exit_code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "red" / "Stage1").glob("*.fits")}

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fits.HDUList, "writeto", full)
    check(["run", cfg, "--stages", "1", "--force-redo"], "No space left on device")
    after = {p: p.read_bytes() for p in (tmp_path / "red" / "Stage1").glob("*.fits")}
    assert after == before  # nothing lost, nothing half-written
    assert not list((tmp_path / "red" / "Stage1").glob(".*part*"))


def test_interrupted_run_resumes(tiny_sim, tmp_path, monkeypatch):
    import exolrs.stage1.engine as engine

    cfg = run_file(tiny_sim, tmp_path, "  chunk_ints: 5\n")
    real = engine._run_task
    calls = {"n": 0}

    def interrupt(task):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(engine, "_run_task", interrupt)
    check(["run", cfg, "--stages", "1"], "run the same command again to resume")
    done = sorted((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))
    assert [p.name.split("-")[1][:6] for p in done] == ["seg001"]  # only whole segments
    monkeypatch.setattr(engine, "_run_task", real)
    assert runner.invoke(app, ["run", cfg, "--stages", "1"]).exit_code == 0
    assert len(list((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))) == 3
