"""Shared fixtures: small simulated observations made once per test session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_sim(tmp_path_factory):
    """The `tiny` preset (24 integrations × 10 groups in 3 segments), seed 1."""
    from exolrs.simulate import simulate_tso

    out = tmp_path_factory.mktemp("tiny_sim")
    result = simulate_tso(out, "tiny", seed=1)
    result["outdir"] = out
    return result


@pytest.fixture(scope="session")
def tiny_rateints(tiny_sim, tmp_path_factory):
    """Stage 1 rateints of `tiny_sim` (2 dropped groups)."""
    from exolrs.config import Stage1Config
    from exolrs.stage1.engine import run_stage1

    return run_stage1(
        tiny_sim["uncal"],
        tmp_path_factory.mktemp("tiny_s1"),
        params=Stage1Config(miri_drop_groups=2),
        references=tiny_sim["refs"],
    )


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """The `small` preset (300 integrations × 40 groups in 3 segments), seed 2."""
    from exolrs.simulate import simulate_tso

    out = tmp_path_factory.mktemp("small_sim")
    result = simulate_tso(out, "small", seed=2, workers=2)
    result["outdir"] = out
    return result


@pytest.fixture(scope="session")
def small_stage1(small_sim, tmp_path_factory):
    """Stage 1 rateints of `small_sim` (the seed tutorial's parameters, 10 dropped groups)."""
    from exolrs.config import Stage1Config
    from exolrs.stage1.engine import run_stage1

    params = Stage1Config(miri_drop_groups=10, time_rejection_threshold=7, chunk_ints=16)
    return run_stage1(
        small_sim["uncal"],
        tmp_path_factory.mktemp("small_s1"),
        params=params,
        references=small_sim["refs"],
        maximum_cores=2,
    )


@pytest.fixture(scope="session")
def small_stage23(small_sim, small_stage1, tmp_path_factory):
    """Stages 2 and 3 (box and optimal) of `small_sim`."""
    from exolrs.stage2.engine import run_stage2
    from exolrs.stage3.engine import run_stage3

    out = tmp_path_factory.mktemp("small_s23")
    s2 = run_stage2(small_stage1, out / "Stage2", target="W", references=small_sim["refs"])
    s3 = {
        m: run_stage3(s2.calints, s2.deep_frame, out / "Stage3", target="W", extract_method=m)
        for m in ("box", "optimal")
    }
    return s2, s3


def load_benchmark(name: str):
    """A script of benchmarks/ (not a package) imported as a module, for its tests."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
