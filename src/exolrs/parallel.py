"""Executors: serial, local processes, or dask.distributed, behind one small interface.

`ordered_map(fn, items)` runs `fn(item)` for every item and yields the results in input order,
keeping at most `window` tasks in flight so memory stays bounded however many chunks there
are.  Tasks must be picklable module-level functions with small arguments: a worker reads its
own data and writes its own results (shared storage), so no bulk data travels through the
scheduler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from exolrs.errors import ExolrsError


class Executor:
    """Base: run in this process."""

    name = "serial"
    workers = 1

    def ordered_map(
        self, fn: Callable[[Any], Any], items: Iterable[Any], window: int | None = None
    ) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _FutureExecutor(Executor):
    def _submit(self, fn, item):  # pragma: no cover - abstract
        raise NotImplementedError

    def ordered_map(self, fn, items, window=None):
        window = window or 2 * self.workers
        pending: deque = deque()
        it = iter(items)
        for item in it:
            pending.append(self._submit(fn, item))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(it, _DONE)
            if nxt is not _DONE:
                pending.append(self._submit(fn, nxt))
            yield result


_DONE = object()


class ProcessExecutor(_FutureExecutor):
    """Local worker processes (`maximum_cores`)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers)

    def _submit(self, fn, item):
        return self._pool.submit(fn, item)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class DaskExecutor(_FutureExecutor):
    """dask.distributed: an existing scheduler (`tcp://host:port`) or a LocalCluster."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExolrsError(
                "the dask backend needs dask.distributed: pip install 'exolrs[dask]'"
            ) from None
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise ExolrsError(
                    f"cannot reach the dask scheduler at {scheduler} ({exc}); check the address "
                    "or leave `parallel.scheduler` empty to start a local cluster"
                ) from None
        else:
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0"
            )
            self._client = Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or workers)

    def _submit(self, fn, item):
        return self._client.submit(fn, item, pure=False, retries=2)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(backend: str = "serial", workers: int = 1, scheduler: str | None = None):
    """Build the executor named by the run file's `parallel:` section."""
    if backend == "serial" or (backend == "processes" and workers <= 1):
        return Executor()
    if backend == "processes":
        return ProcessExecutor(workers)
    if backend == "dask":
        return DaskExecutor(workers, scheduler)
    raise ExolrsError(f"unknown parallel backend {backend!r}; use serial, processes or dask")
