"""A rerun reuses a stage's products only when what made them is unchanged; a changed
parameter (or input) recomputes that stage and what follows, and says so in one line."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from exolrs.cli import app
from exolrs.io.provenance import make_record, save_record, what_changed

runner = CliRunner()


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.fits")}


def test_changed_parameters_recompute_that_stage_and_the_next(tiny_sim, tmp_path):
    cfg = {
        "target": "T",
        "input": [str(p) for p in tiny_sim["uncal"]],
        "output_dir": str(tmp_path / "red"),
        "references": {k: str(v) for k, v in tiny_sim["refs"].items()},
        "parallel": {"backend": "serial"},
        "stage1": {"miri_drop_groups": 2},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    red = tmp_path / "red"
    assert runner.invoke(app, ["run", str(path), "--stages", "1,2,3"]).exit_code == 0
    first = {s: _mtimes(red / s) for s in ("Stage1", "Stage2", "Stage3")}
    again = runner.invoke(app, ["run", str(path), "--stages", "1,2,3"])
    assert again.exit_code == 0 and "note:" not in again.output
    assert {s: _mtimes(red / s) for s in first} == first  # all reused

    cfg["stage3"] = {"extract_width": 8}
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["run", str(path), "--stages", "1,2,3"])
    assert result.exit_code == 0, result.output
    assert "Stage 3: parameters (extract_width: 6.0 → 8.0) changed" in result.output
    assert _mtimes(red / "Stage1") == first["Stage1"] and _mtimes(red / "Stage2") == first["Stage2"]
    assert _mtimes(red / "Stage3") != first["Stage3"]

    cfg["stage2"] = {"remove_components": [1]}
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["run", str(path), "--stages", "1,2,3"])
    assert "Stage 2: parameters (remove_components: None → [1])" in result.output
    assert "Stage 3: input files changed" in result.output  # Stage 2 rewrote its calints
    assert _mtimes(red / "Stage1") == first["Stage1"]


def test_what_changed_names_the_difference(tmp_path):
    inp = tmp_path / "a.fits"
    inp.write_text("x")
    rec = make_record([inp], {"a": 1, "sub": {"b": 2}})
    assert what_changed(tmp_path, "stage9", rec) == "no record of what made them"
    save_record(tmp_path, "stage9", rec)
    assert what_changed(tmp_path, "stage9", rec) is None
    changed = make_record([inp], {"a": 1, "sub": {"b": 3}})
    assert what_changed(tmp_path, "stage9", changed) == "parameters (sub.b: 2 → 3)"
    inp.write_text("longer")
    assert what_changed(tmp_path, "stage9", make_record([inp], {"a": 1, "sub": {"b": 2}})) == (
        "input files"
    )
