"""Property-based tests (Hypothesis): any run file, any CLI options, any damage to a
segment's header either works or fails with one clear line (ExolrsError / exit 2), never a
traceback from a library."""

from __future__ import annotations

import os
import shutil
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from exolrs.cli import app
from exolrs.config import RunConfig, load_config
from exolrs.errors import ExolrsError

runner = CliRunner()
SETTINGS = settings(
    max_examples=int(os.environ.get("EXOLRS_HYPOTHESIS_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(string.ascii_lowercase + "_", min_size=1, max_size=10), inner, max_size=3
        )
    ),
    max_leaves=8,
)


def _keys(model) -> dict[str, object]:
    return {name: f.annotation for name, f in model.model_fields.items()}


SECTIONS = {
    name: list(_keys(field.annotation))
    for name, field in RunConfig.model_fields.items()
    if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields")
}


@st.composite
def run_files(draw):
    cfg: dict = {"input": "uncal/*_uncal.fits"}
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from([*SECTIONS, "top"]))
        if section == "top":
            key = draw(st.sampled_from([*_keys(RunConfig), "not_a_key"]))
            cfg[key] = draw(values)
        else:
            key = draw(st.sampled_from([*SECTIONS[section], "not_a_key"]))
            if not isinstance(cfg.get(section), dict):
                cfg[section] = {}
            cfg[section][key] = draw(values)
    return cfg


def _one_line(message: str) -> None:
    assert message and "\n" not in message.strip() and "Traceback" not in message


@SETTINGS
@given(cfg=run_files())
def test_any_run_file_validates_or_says_why(cfg):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.yaml"
        path.write_text(yaml.safe_dump(cfg))
        try:
            load_config(path)
        except ExolrsError as exc:
            _one_line(str(exc))


@SETTINGS
@given(
    stages=st.text(string.digits + ",; x-", max_size=8),
    workers=st.one_of(st.none(), st.integers(-5, 5)),
    scheduler=st.one_of(st.none(), st.text(string.ascii_letters + ":/.", max_size=10)),
)
def test_any_cli_options_work_or_fail_in_one_line(tmp_path, stages, workers, scheduler):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"input": str(tmp_path / "none_uncal.fits")}))
    args = ["run", str(cfg), "--stages", stages]
    if workers is not None:
        args += ["--workers", str(workers)]
    if scheduler:
        args += ["--scheduler", scheduler]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "error" in result.output


KEYWORDS = (
    "NINTS",
    "NGROUPS",
    "INTSTART",
    "INTEND",
    "EXSEGNUM",
    "EXSEGTOT",
    "SUBARRAY",
    "EXP_TYPE",
    "INSTRUME",
    "DETECTOR",
    "TGROUP",
    "TFRAME",
    "EXPSTART",
    "EXPEND",
    "TARG_RA",
    "TARG_DEC",
    "PROGRAM",
    "OBSERVTN",
    "SUBSTRT1",
    "SUBSTRT2",
    "SUBSIZE1",
    "SUBSIZE2",
    "READPATT",
)
DAMAGE = st.one_of(
    st.just("delete"),
    st.sampled_from(["abc", "", -1, 0, 10**9, 1e30, 2.5, True]),
)


@pytest.fixture(scope="module")
def pristine(tiny_sim, tmp_path_factory):
    return tiny_sim["uncal"]


@SETTINGS
@given(segment=st.integers(0, 2), keyword=st.sampled_from(KEYWORDS), value=DAMAGE)
def test_any_header_damage_is_caught_or_harmless(pristine, segment, keyword, value):
    from exolrs.io.segments import discover_segments

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, p in enumerate(pristine):  # the damaged segment copied, the others linked
            paths.append(Path(tmp) / p.name)
            if k == segment:
                shutil.copy(p, paths[-1])
            else:
                paths[-1].symlink_to(p)
        with fits.open(paths[segment], mode="update") as hdul:
            if value == "delete":
                hdul[0].header.remove(keyword, ignore_missing=True)
            else:
                hdul[0].header[keyword] = value
        try:
            exposure = discover_segments(paths)
        except ExolrsError as exc:
            _one_line(str(exc))
        else:
            assert exposure.nints == sum(b - a for a, b in exposure.ranges)
