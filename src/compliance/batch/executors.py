"""Where the batch's tasks run: this process, a local process pool, or a Dask cluster.

An executor runs one function over many tasks and yields the results as tasks finish; when
one fails, the others are cancelled. The batch's tasks are pure functions of files, so the
executor changes how fast a run goes, never what it writes.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

from ..errors import ComplianceError, Problem

COUNTER_SLOTS = 4096
"""Tasks that can report progress while they run (two counters each, in shared memory)."""

_counters: Any = None


def _share_counters(counters: Any) -> None:
    global _counters  # noqa: PLW0603 - set once per worker process, by the pool's initializer
    _counters = counters


def report(slot: int, done: int, errors: int) -> None:
    """A running task's progress, seen by the parent between results (local pool only)."""
    if _counters is not None and 0 <= slot < COUNTER_SLOTS:
        _counters[2 * slot] = done
        _counters[2 * slot + 1] = errors


class Executor:
    """Runs tasks in this process, one after the other."""

    workers = 1
    sees_inputs = True
    """Whether the workers can open the input files (not so on a remote Dask cluster)."""

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], tick: Callable[[], None] | None = None) -> Iterator[Any]:
        """Results as tasks finish; `tick` is called now and then while they run."""
        for task in tasks:
            yield function(task)

    def progress(self) -> tuple[int, int] | None:
        """What running tasks have `report`ed so far, where the executor can see it."""
        return None


class LocalPool(Executor):
    """Worker processes on this machine (spawned, so that no parent state leaks into them)."""

    def __init__(self, pool: ProcessPoolExecutor, workers: int, counters: Any):
        self._pool = pool
        self.workers = workers
        self._counters = counters

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], tick: Callable[[], None] | None = None) -> Iterator[Any]:
        self._counters[:] = [0] * len(self._counters)
        futures = [self._pool.submit(function, task) for task in tasks]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                if tick is not None:
                    tick()
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def progress(self) -> tuple[int, int]:
        counts = self._counters[:]
        return sum(counts[0::2]), sum(counts[1::2])


class DaskCluster(Executor):
    """The workers of a dask.distributed cluster."""

    def __init__(self, client: Any, workers: int, sees_inputs: bool):
        self._client = client
        self.workers = workers
        self.sees_inputs = sees_inputs

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any], tick: Callable[[], None] | None = None) -> Iterator[Any]:
        from dask.distributed import as_completed as completed

        token = uuid.uuid4().hex
        futures = [
            self._client.submit(function, task, key=f"compliance-{function.__name__}-{i}-{token}", pure=False)
            for i, task in enumerate(tasks)
        ]
        try:
            for future in completed(futures):
                yield future.result()
        except BaseException:
            self._client.cancel(futures)
            raise


@contextlib.contextmanager
def local(workers: int) -> Iterator[Executor]:
    """A process pool for `workers` > 1, serving both passes so its workers start once."""
    if workers <= 1:
        yield Executor()
        return
    context = get_context("spawn")
    counters = context.Array("q", 2 * COUNTER_SLOTS, lock=False)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_share_counters, initargs=(counters,)
    ) as pool:
        # Start every worker now (they start one per task otherwise): their imports overlap
        # the parent's planning of pass 1 instead of delaying its first tasks.
        for _ in range(workers):
            pool.submit(_started)
        yield LocalPool(pool, workers, counters)


def _started() -> None:
    """A worker's first task: the pool's initializer has imported the package by now."""


CONNECT_SECONDS = 10.0
"""How long to wait for a scheduler to answer, at most (dask's own default, 30 s, feels hung)."""


def connect(scheduler: str) -> Any:
    """A client of the scheduler at `scheduler`, or an error that names it and says what failed.

    Dask's `distributed.comm.timeouts.connect` (e.g. $DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)
    can shorten the wait, never lengthen it past CONNECT_SECONDS.
    """
    import dask.config
    from dask.distributed import Client
    from dask.utils import parse_timedelta

    seconds = min(CONNECT_SECONDS, parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds"))
    try:
        return Client(scheduler, timeout=seconds)
    except ValueError as exc:  # malformed: "missing port number", "unknown address scheme"
        vi, en = "không phải địa chỉ dạng tcp://MÁY:CỔNG", "not an address like tcp://HOST:PORT"
        raise ComplianceError([Problem("scheduler_unreachable", {"scheduler": scheduler, "detail_vi": f"{vi} ({exc})", "detail_en": f"{en} ({exc})"})]) from None
    except OSError as exc:  # refused, unknown host, no answer in time: all end as a time-out
        vi, en = f"không có trả lời sau {seconds:g} giây", f"no answer within {seconds:g} s"
        raise ComplianceError([Problem("scheduler_unreachable", {"scheduler": scheduler, "detail_vi": f"{vi} ({exc})", "detail_en": f"{en} ({exc})"})]) from None


@contextlib.contextmanager
def dask(scheduler: str | None, workers: int | None) -> Iterator[Executor]:
    """The cluster at `scheduler`, or a local cluster of worker processes on 127.0.0.1.

    A local cluster's workers see the inputs; a remote one's only see the output directory
    (on a shared filesystem), so pass 1 then runs in this process and copies the records.
    """
    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(connect(scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers or None,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(cluster))
        count = len(client.scheduler_info().get("workers", {})) or workers or os.cpu_count() or 1
        yield DaskCluster(client, count, sees_inputs=not scheduler)
