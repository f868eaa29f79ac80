"""The streaming Stage 1 engine on a simulated exposure: accuracy against the injected rates,
independence from chunking and from the executor, reuse, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from exolrs.config import Stage1Config
from exolrs.dq import DO_NOT_USE, JUMP_DET
from exolrs.errors import ExolrsError
from exolrs.io import read_integrations_product
from exolrs.parallel import ProcessExecutor
from exolrs.simulate.config import preset
from exolrs.simulate.core import _Model
from exolrs.stage1.engine import run_stage1

PARAMS = Stage1Config(miri_drop_groups=2, time_rejection_threshold=7, chunk_ints=7)


@pytest.fixture(scope="module")
def reduced(tiny_sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("stage1")
    paths = run_stage1(tiny_sim["uncal"], out, params=PARAMS, references=tiny_sim["refs"])
    return paths, read_integrations_product(paths)


def test_one_rateints_per_segment_in_the_jwst_layout(reduced, tiny_sim):
    paths, r = reduced
    assert [p.name.replace("rateints", "uncal") for p in paths] == [
        p.name for p in tiny_sim["uncal"]
    ]
    assert r.sci.shape == (24, 416, 72) and r.sci.dtype == np.float32
    assert len(r.int_times) == 24
    assert r.header["S_EXOLRS"] == "COMPLETE"
    # what the run learned travels with the paths
    assert {"ramp_fit", "jump", "saturation"} <= set(paths.step_seconds)
    assert paths.refset.paths["dark"] == tiny_sim["refs"]["dark"]
    assert paths.refset.sources["dark"] == "override"


def test_slopes_match_the_injected_rates(reduced):
    _, r = reduced
    model = _Model(preset("tiny", seed=1))
    truth = model.rate(0, 24)
    good = (r.dq & DO_NOT_USE) == 0
    bright = good & (truth > 300)
    rel = (r.sci[bright] - truth[bright]) / truth[bright]
    assert bright.sum() > 2000  # the trace core over 24 integrations
    assert abs(np.median(rel)) < 0.01  # unbiased to 1 % after linearity, dark, RSCD drop
    faint = good & (truth < 50) & ((r.dq & JUMP_DET) == 0)
    pull = (r.sci[faint] - truth[faint]) / r.err[faint]
    assert abs(np.median(pull)) < 0.3
    assert 0.7 < np.std(np.clip(pull, -10, 10)) < 1.5


def test_injected_cosmic_rays_are_flagged(reduced, tiny_sim):
    _, r = reduced
    hits = Table.read(tiny_sim["outdir"] / "truth_cosmic_rays.ecsv")
    # hits that change a fitted slope: landing between two used groups (not in the dropped
    # first groups or the DO_NOT_USE last group) on a usable pixel
    used = (hits["group"] > PARAMS.miri_drop_groups) & (hits["group"] < 9)
    usable = (r.dq[hits["integration"], hits["row"], hits["col"]] & DO_NOT_USE) == 0
    big = hits[(hits["amplitude"] > 200) & used & usable]
    assert len(big) > 10
    flagged = r.dq[big["integration"], big["row"], big["col"]] & JUMP_DET
    assert np.mean(flagged > 0) > 0.9


def test_result_does_not_depend_on_chunking_or_executor(reduced, tiny_sim, tmp_path):
    _, ref = reduced
    one = run_stage1(
        tiny_sim["uncal"],
        tmp_path / "c1",
        params=PARAMS.model_copy(update={"chunk_ints": 1}),
        references=tiny_sim["refs"],
    )
    with ProcessExecutor(2) as ex:
        big = run_stage1(
            tiny_sim["uncal"],
            tmp_path / "c24",
            params=PARAMS.model_copy(update={"chunk_ints": 24}),
            references=tiny_sim["refs"],
            executor=ex,
        )
    cores = run_stage1(
        tiny_sim["uncal"],
        tmp_path / "cores",
        params=PARAMS,
        references=tiny_sim["refs"],
        maximum_cores=2,
        progress=True,
    )
    for paths in (one, big, cores):
        r = read_integrations_product(paths)
        np.testing.assert_array_equal(r.sci, ref.sci)
        np.testing.assert_array_equal(r.err, ref.err)
        np.testing.assert_array_equal(r.dq, ref.dq)


def test_finished_products_are_reused_unless_forced(reduced, tiny_sim):
    paths, _ = reduced
    before = [p.stat().st_mtime_ns for p in paths]
    again = run_stage1(
        tiny_sim["uncal"], paths[0].parent, params=PARAMS, references=tiny_sim["refs"]
    )
    assert again == paths and [p.stat().st_mtime_ns for p in paths] == before
    assert again.refset is None and again.step_seconds == {}


def test_missing_reference_is_a_clear_error(tiny_sim, tmp_path, monkeypatch):
    monkeypatch.setenv("CRDS_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("CRDS_PATH", raising=False)
    refs = {k: v for k, v in tiny_sim["refs"].items() if k != "dark"}
    with pytest.raises(ExolrsError, match="no reference file for dark"):
        run_stage1(tiny_sim["uncal"], tmp_path, params=PARAMS, references=refs)
    assert not list(tmp_path.glob("*.fits"))


def test_too_many_dropped_groups(tiny_sim, tmp_path):
    with pytest.raises(ExolrsError, match="at most 7"):
        run_stage1(tiny_sim["uncal"], tmp_path, references=tiny_sim["refs"], miri_drop_groups=9)
