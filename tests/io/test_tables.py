"""Table/JSON products are written atomically; product names give their root."""

from __future__ import annotations

import json

from astropy.table import Table

from exolrs.io.products import root_name
from exolrs.io.tables import write_json, write_table


def test_write_table_and_json_leave_only_the_finished_file(tmp_path):
    t = write_table(Table({"a": [1, 2]}), tmp_path / "t.ecsv")
    j = write_json({"x": 1.5}, tmp_path / "r.json")
    assert list(Table.read(t)["a"]) == [1, 2]
    assert json.loads(j.read_text()) == {"x": 1.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "t.ecsv"]


def test_root_name_strips_the_step_suffix():
    assert root_name("a/jw01_00001-seg001_mirimage_jump.fits") == "jw01_00001-seg001_mirimage"
