"""benchmarks/stage4_variants.py: run-file changes merged into a reduction's stage4."""

from __future__ import annotations

import pytest

from exolrs.config import Stage4Config
from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("stage4_variants")


def test_changes_merge_into_the_run_files_stage4(bench):
    base = {"planet": {"period": 4.0, "a": 11.4}, "detrend": ["x_shift"]}
    merged = bench._merge(base, {"planet": {"b": 0.4}, "n_ramps": 2})
    assert merged == {
        "planet": {"period": 4.0, "a": 11.4, "b": 0.4},
        "detrend": ["x_shift"],
        "n_ramps": 2,
    }
    assert base == {"planet": {"period": 4.0, "a": 11.4}, "detrend": ["x_shift"]}  # untouched


@pytest.mark.parametrize("name", list(load_benchmark("stage4_variants").VARIANTS))
def test_every_variant_is_a_valid_stage4_section(bench, name):
    Stage4Config.model_validate(bench._merge({"planet": {"period": 4.0}}, bench.VARIANTS[name]))


def test_only_names_known_variants(bench):
    import argparse

    ap = argparse.ArgumentParser()
    assert bench.compare.chosen(ap, "gp,,poly_2", bench.VARIANTS, "variant") == ["gp", "poly_2"]
    with pytest.raises(SystemExit):
        bench.compare.chosen(ap, "gp,nope", bench.VARIANTS, "variant")


def test_ld_table_variant_takes_the_simulations_star_table(bench):
    cfg = {"truth": "/sims/a/truth.ecsv"}
    got = bench.with_ld_table(bench.VARIANTS["ld_table"], cfg)
    assert got["ld_table"] == "/sims/a/star_limb_darkening.ecsv"
    assert bench.with_ld_table({"n_ramps": 2}, cfg) == {"n_ramps": 2}  # untouched
    named = {"limb_darkening": "table", "ld_table": "mine.ecsv"}
    assert bench.with_ld_table(named, cfg) == named
    with pytest.raises(SystemExit):
        bench.with_ld_table(bench.VARIANTS["ld_table"], {})


@pytest.mark.parametrize("name", list(load_benchmark("stage4_variants").STAGE3_VARIANTS))
def test_stage3_variants_are_valid_sections(bench, name):
    from exolrs.config import Stage3Config

    stage3, stage4 = bench.STAGE3_VARIANTS[name]
    Stage3Config.model_validate(stage3)
    Stage4Config.model_validate(bench._merge({"planet": {"period": 4.0}}, stage4))


def test_stage4_variants_read_the_extraction_the_reduction_used(bench, tmp_path):
    import json

    run = {"parameters": {"stage3": {"extract_method": "box", "extract_width": 6.0}}}
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert bench.used_extraction(tmp_path) == {"extract_method": "box"}
