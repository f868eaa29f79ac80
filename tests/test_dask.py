"""dask.distributed: same results as serial, and a killed worker's tasks are redone."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from exolrs.config import Stage1Config
from exolrs.io import read_integrations_product
from exolrs.parallel import DaskExecutor
from exolrs.stage1.engine import run_stage1


def die_once(item):
    """Kill the worker process the first time any task runs (a marker file remembers)."""
    value, marker = item
    if not Path(marker).exists():
        Path(marker).write_text("killed")
        os._exit(1)
    return value * value


def test_killed_worker_tasks_are_retried(tmp_path):
    marker = tmp_path / "marker"
    with DaskExecutor(2) as ex:
        results = list(ex.ordered_map(die_once, [(k, str(marker)) for k in range(8)]))
    assert marker.exists()
    assert results == [k * k for k in range(8)]


def test_stage1_on_a_local_cluster_equals_serial(tiny_sim, tmp_path):
    params = Stage1Config(miri_drop_groups=2, chunk_ints=4)
    serial = run_stage1(
        tiny_sim["uncal"], tmp_path / "serial", params=params, references=tiny_sim["refs"]
    )
    with DaskExecutor(2) as ex:
        dask = run_stage1(
            tiny_sim["uncal"],
            tmp_path / "dask",
            params=params,
            references=tiny_sim["refs"],
            executor=ex,
        )
    a, b = read_integrations_product(serial), read_integrations_product(dask)
    for name in ("sci", "err", "dq", "var_poisson", "var_rnoise"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
