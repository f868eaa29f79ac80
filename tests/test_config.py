"""Run-file validation: defaults, relative paths, clear errors naming key and line."""

from __future__ import annotations

import pytest
import yaml

from exolrs.config import RunConfig, load_config, template
from exolrs.errors import ExolrsError


def test_template_round_trips_to_the_defaults(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(template())
    cfg = load_config(path)
    defaults = RunConfig(input="x")
    assert cfg.stage1 == defaults.stage1
    assert cfg.parallel == defaults.parallel
    assert cfg.output_dir == tmp_path / "reduction"
    assert cfg.input == str(tmp_path / "uncal/*_uncal.fits")
    # every documented key appears, with its description
    assert "time_rejection_threshold: 10.0  #" in template()


def test_unknown_key_names_key_line_and_allowed(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("input: a.fits\nstage1:\n  miri_drop_group: 3\n")
    with pytest.raises(ExolrsError) as err:
        load_config(path)
    msg = str(err.value)
    assert "line 3" in msg and "stage1.miri_drop_group" in msg and "miri_drop_groups" in msg


def test_bad_type_names_key_line_and_value(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("input: a.fits\nstage1:\n  time_window: two\n")
    with pytest.raises(ExolrsError, match=r"line 3, 'stage1.time_window'.*'two'"):
        load_config(path)


def test_missing_input_and_missing_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"target": "W39"}))
    with pytest.raises(ExolrsError, match="missing required key 'input'"):
        load_config(path)
    with pytest.raises(ExolrsError, match="init-config"):
        load_config(tmp_path / "nope.yaml")


def test_not_yaml_mapping(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ExolrsError, match="mapping"):
        load_config(path)
    path.write_text("input: [unclosed\n")
    with pytest.raises(ExolrsError, match="not valid YAML"):
        load_config(path)


def test_simulator_run_file_is_valid(tiny_sim):
    cfg = load_config(tiny_sim["config"])
    assert cfg.stage1.flag_in_time
    assert cfg.truth == tiny_sim["outdir"] / "truth.ecsv"


def test_common_slow_ramp_needs_room_for_one_more_ramp(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: true\n  n_ramps: 2\n")
    with pytest.raises(ExolrsError, match="give n_ramps: 0 or 1"):
        load_config(path)
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: true\n")
    assert load_config(path).stage4.common_slow_ramp


def test_common_slow_ramp_auto_is_off_where_there_is_no_room(tmp_path):
    from exolrs.stage4.parameters import slow_ramp_test

    path = tmp_path / "run.yaml"
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: auto\n  n_ramps: 2\n")
    p = load_config(path).stage4
    assert p.common_slow_ramp == "auto" and not slow_ramp_test(p)
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: auto\n")
    assert slow_ramp_test(load_config(path).stage4)
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: true\n")
    assert not slow_ramp_test(load_config(path).stage4)  # always, no test
    path.write_text("input: a.fits\nstage4:\n  common_slow_ramp: sometimes\n")
    with pytest.raises(ExolrsError, match="common_slow_ramp"):
        load_config(path)
