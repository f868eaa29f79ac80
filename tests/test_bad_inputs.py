"""The bad-input corpus, driven through the CLI: one clear line, exit status 2, no traceback,
no half-written product, nothing written earlier lost."""

from __future__ import annotations

import errno
import json
import shutil

import numpy as np
import pytest
import yaml
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

    monkeypatch.setattr(engine, "STRIPE_CHUNKS", 1)  # a task a chunk: stop inside segment 2
    monkeypatch.setattr(engine, "_run_task", interrupt)
    check(["run", cfg, "--stages", "1"], "run the same command again to resume")
    done = sorted((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))
    assert [p.name.split("-")[1][:6] for p in done] == ["seg001"]  # only whole segments
    first = done[0].read_bytes()

    # the rerun resumes at segment granularity: segment 1 is kept, only 2 and 3 are computed
    starts = []

    def count(task):
        starts.append(task.start)
        return real(task)

    monkeypatch.setattr(engine, "_run_task", count)
    result = runner.invoke(app, ["run", cfg, "--stages", "1"])
    assert result.exit_code == 0, result.output
    made = sorted((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))
    assert len(made) == 3 and made[0].read_bytes() == first
    assert min(starts) == fits.getheader(made[0], "SCI")["NAXIS3"]  # segment 2's first

    # the same as a run that was never interrupted
    (tmp_path / "clean").mkdir()
    clean = run_file(tiny_sim, tmp_path / "clean", "  chunk_ints: 5\n")
    assert runner.invoke(app, ["run", clean, "--stages", "1"]).exit_code == 0
    for a, b in zip(
        made, sorted((tmp_path / "clean" / "red" / "Stage1").glob("*_rateints.fits")), strict=True
    ):
        with fits.open(a) as x, fits.open(b) as y:
            assert np.array_equal(x["SCI"].data, y["SCI"].data, equal_nan=True)
            assert np.array_equal(x["DQ"].data, y["DQ"].data)

    # a changed parameter recomputes every segment, whatever was finished
    starts.clear()
    changed = run_file(tiny_sim, tmp_path, "  chunk_ints: 5\n  time_window: 7\n")
    assert runner.invoke(app, ["run", changed, "--stages", "1"]).exit_code == 0
    assert starts == [0, 5, 10, 15, 20]


# --- the 14 bad or odd inputs exolrs once got wrong (issue 18): four silently wrong answers,
# nine tracebacks and one misleading message.  Each now ends in one clear line and exit 2 —
# or, where rebuilding is the documented behaviour, in a result with the rebuild said aloud.


def run_file_for(tmp_path, inputs, refs, name="run.yaml", **sections):
    cfg = {
        "target": "T",
        "input": [str(p) for p in inputs],
        "output_dir": str(tmp_path / "red"),
        "references": {k: str(v) for k, v in refs.items()},
        "parallel": {"backend": "serial"},
        "stage1": {"miri_drop_groups": 2},
        **sections,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def _edit(path, fn):
    with fits.open(path, mode="update") as hdul:
        fn(hdul)


# --- silently wrong answers -------------------------------------------------------------------
def test_missing_int_times_are_rebuilt_and_said(segs, tiny_sim, tmp_path):
    truth = np.concatenate([fits.getdata(p, "INT_TIMES")["int_mid_BJD_TDB"] for p in segs])
    for p in segs:
        with fits.open(p) as hdul:
            hdus = fits.HDUList([h.copy() for h in hdul if h.name != "INT_TIMES"])
        hdus.writeto(p, overwrite=True)
    cfg = run_file_for(tmp_path, segs, tiny_sim["refs"])
    result = check(["run", cfg, "--stages", "1"], "INT_TIMES missing", code=0)
    assert "rebuilt" in result.output
    rate = sorted((tmp_path / "red" / "Stage1").glob("*_rateints.fits"))
    got = np.concatenate([fits.getdata(p, "INT_TIMES")["int_mid_BJD_TDB"] for p in rate])
    assert np.max(np.abs(got - truth)) * 86400 < 10  # geocentric BJD: within seconds
    record = json.loads((tmp_path / "red" / "run.json").read_text())
    assert any("INT_TIMES" in w for w in record["warnings"])


def test_times_running_backwards_are_refused(segs, tiny_sim, tmp_path):
    def swap(hdul):
        t = hdul["INT_TIMES"].data
        t["int_mid_BJD_TDB"][[2, 3]] = t["int_mid_BJD_TDB"][[3, 2]]

    _edit(segs[0], swap)
    check(
        ["run", run_file_for(tmp_path, segs, tiny_sim["refs"]), "--stages", "1"], "runs backwards"
    )


def test_baseline_beyond_the_integrations_is_refused(segs, tiny_sim, tmp_path):
    cfg = run_file_for(tmp_path, segs, tiny_sim["refs"], stage2={"baseline_ints": [-500]})
    check(["run", cfg, "--stages", "1,2"], "baseline_ints")


def test_aperture_wider_than_the_subarray_is_refused(segs, tiny_sim, tmp_path):
    cfg = run_file_for(tmp_path, segs, tiny_sim["refs"], stage3={"extract_width": 100})
    check(["run", cfg, "--stages", "1,2,3"], "extract_width = 100.0 is wider")


# --- tracebacks ----------------------------------------------------------------------------
def test_dangling_link(segs, tiny_sim, tmp_path):
    link = segs[0].parent / "jw09999001001_04103_00001-seg004_mirimage_uncal.fits"
    link.symlink_to(tmp_path / "gone.fits")
    cfg = run_file_for(tmp_path, [segs[0].parent / "*_uncal.fits"], tiny_sim["refs"])
    check(["run", cfg, "--stages", "1"], "is a link to a file that does not exist")


def test_reference_of_the_wrong_reftype(segs, tiny_sim, tmp_path):
    refs = {**tiny_sim["refs"], "dark": tiny_sim["refs"]["mask"]}
    check(["run", run_file_for(tmp_path, segs, refs), "--stages", "1"], "is a MASK reference")


def test_reference_of_the_wrong_shape(segs, tiny_sim, tmp_path):
    bad = tmp_path / "gain_small.fits"
    with fits.open(tiny_sim["refs"]["gain"]) as hdul:
        hdul["SCI"].data = hdul["SCI"].data[:100, :50]
        for key in ("SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2"):
            hdul[0].header.remove(key, ignore_missing=True)
        hdul.writeto(bad)
    refs = {**tiny_sim["refs"], "gain": bad}
    check(["run", run_file_for(tmp_path, segs, refs), "--stages", "1"], "does not cover")


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_below_one(segs, tiny_sim, tmp_path, workers):
    cfg = run_file_for(tmp_path, segs, tiny_sim["refs"])
    check(["run", cfg, "--stages", "1", "--workers", workers], "give 1 or more worker")


@pytest.fixture
def x1d(tmp_path):
    from exolrs.io.spectra import Spectra
    from exolrs.io.x1dints import write_x1dints

    rng = np.random.default_rng(0)
    wave = np.linspace(5.0, 12.0, 30)
    flux = 100 + rng.normal(0, 1, (60, 30))
    spec = Spectra(wave, np.full(30, 0.12), flux, np.ones_like(flux), 60000 + np.arange(60) / 96)
    header = {"INSTRUME": "MIRI", "EXP_TYPE": "MIR_LRS-SLITLESS"}
    return write_x1dints(spec, tmp_path / "s_x1dints.fits", header=header), spec


def _stage4(tmp_path, x1d, **stage4):
    stage4 = {"planet": {"period": 1.0, "a": 10.0, "b": 0.3}, **stage4}
    return run_file_for(tmp_path, [x1d], {}, stage4=stage4)


def test_white_range_outside_the_data(x1d, tmp_path):
    check(["run", _stage4(tmp_path, x1d[0], white_range=[4.0, 12.0])], "white_range")


def test_bin_edges_outside_the_data(x1d, tmp_path):
    cfg = _stage4(tmp_path, x1d[0], binning="edges", bin_edges=[5.0, 9.0, 14.0])
    check(["run", cfg], "bin_edges span")


def test_drop_first_beyond_the_integrations(x1d, tmp_path):
    check(["run", _stage4(tmp_path, x1d[0], drop_first=60)], "drop_first = 60 leaves 0")


def test_zero_variance_data(x1d, tmp_path):
    from exolrs.io.spectra import Spectra
    from exolrs.io.x1dints import write_x1dints

    _, spec = x1d
    flat = Spectra(
        spec.wave,
        spec.wave_err,
        np.full_like(spec.flux, 100.0),
        np.zeros_like(spec.flux),
        spec.time,
    )
    path = write_x1dints(
        flat,
        tmp_path / "flat_x1dints.fits",
        header={"INSTRUME": "MIRI", "EXP_TYPE": "MIR_LRS-SLITLESS"},
    )
    check(["run", _stage4(tmp_path, path)], "white light curve has integrations")


# --- the misleading message -------------------------------------------------------------------
def test_missing_intstart_intend_are_derived(segs, tiny_sim, tmp_path):
    for p in segs:
        _edit(p, lambda h: [h[0].header.remove(k) for k in ("INTSTART", "INTEND")])
    from exolrs.io.segments import discover_segments

    exp = discover_segments(segs)
    assert exp.ranges == [(0, 10), (10, 20), (20, 24)]
    assert any("INTSTART/INTEND missing" in w for w in exp.warnings)


def test_ranges_are_checked_before_any_work(segs, tiny_sim, tmp_path):
    cfg = run_file_for(tmp_path, segs, tiny_sim["refs"], stage2={"baseline_ints": [-500]})
    check(["run", cfg], "baseline_ints")
    assert not (tmp_path / "red" / "Stage1").exists()  # Stage 1 did not start
