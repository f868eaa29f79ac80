"""Executors give the same ordered results whatever the backend."""

from __future__ import annotations

import pytest

from exolrs.errors import ExolrsError
from exolrs.parallel import Executor, ProcessExecutor, make_executor


def square(x: int) -> int:
    return x * x


def test_serial_and_processes_agree_and_keep_order():
    items = list(range(23))
    expected = [x * x for x in items]
    assert list(Executor().ordered_map(square, items)) == expected
    with ProcessExecutor(2) as ex:
        assert list(ex.ordered_map(square, items, window=3)) == expected


def test_make_executor_choices():
    assert make_executor("serial").name == "serial"
    assert make_executor("processes", workers=1).name == "serial"
    with make_executor("processes", workers=2) as ex:
        assert ex.name == "processes"
    with pytest.raises(ExolrsError, match="unknown parallel backend"):
        make_executor("threads")


def test_dask_local_cluster_matches_serial():
    pytest.importorskip("distributed")
    with make_executor("dask", workers=2) as ex:
        assert list(ex.ordered_map(square, range(9))) == [x * x for x in range(9)]


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(ExolrsError, match="cannot reach the dask scheduler"):
        make_executor("dask", scheduler="tcp://127.0.0.1:1")
