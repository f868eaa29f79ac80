"""Stage 1's reused buffers and its stripes of chunks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from exolrs.stage1.engine import plan_chunks, plan_stripes
from exolrs.stage1.workspace import Workspace


def test_workspace_reuses_one_buffer_per_name_and_thread():
    ws = Workspace()
    a = ws.take("dn", (4, 3), np.float32)
    a[:] = 7
    b = ws.take("dn", (2, 3), np.float32)  # smaller: the same memory
    assert b.shape == (2, 3) and np.shares_memory(a, b)
    c = ws.take("dn", (8, 3), np.float32)  # larger: a new buffer
    assert c.shape == (8, 3) and not np.shares_memory(a, c)
    assert not np.shares_memory(ws.take("dq", (4, 3), np.uint8), c)
    other = {}
    t = threading.Thread(target=lambda: other.update(x=ws.take("dn", (8, 3), np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(other["x"], c)  # each thread its own
    ws.clear()
    assert not np.shares_memory(ws.take("dn", (8, 3), np.float32), c)


def test_stripes_group_chunks_without_crossing_segments():
    bounds = [(0, 10), (10, 25)]
    chunks = plan_chunks(25, 3, bounds)
    assert plan_stripes(chunks, 2, bounds) == [(0, 6), (6, 10), (10, 16), (16, 22), (22, 25)]
    assert plan_stripes(chunks, 1, bounds) == chunks
    # a finished segment left out: the rest still tiles what is asked
    later = [c for c in chunks if c[0] >= 10]
    assert plan_stripes(later, 10, bounds) == [(10, 25)]


def test_last_chunks_are_single_tasks():
    bounds = [(0, 10), (10, 25)]
    chunks = plan_chunks(25, 3, bounds)  # … (16, 19), (19, 22), (22, 25)
    assert plan_stripes(chunks, 2, bounds, single_tail=3) == [
        (0, 6),
        (6, 10),
        (10, 16),
        (16, 19),
        (19, 22),
        (22, 25),
    ]
    assert plan_stripes(chunks, 4, bounds, single_tail=99) == chunks


@pytest.mark.parametrize("per, tail", [(1, 0), (4, 0), (4, 3)])
def test_stripes_cover_every_chunk_once(per, tail):
    bounds = [(0, 7), (7, 8), (8, 40)]
    chunks = plan_chunks(40, 5, bounds)
    stripes = plan_stripes(chunks, per, bounds, tail)
    assert [a for a, _ in stripes][1:] == [b for _, b in stripes][:-1]
    assert stripes[0][0] == 0 and stripes[-1][1] == 40
    for a, b in stripes:
        assert any(s0 <= a and b <= s1 for s0, s1 in bounds)
