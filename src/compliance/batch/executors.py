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
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any


class Executor:
    """Runs tasks in this process, one after the other."""

    workers = 1
    sees_inputs = True
    """Whether the workers can open the input files (not so on a remote Dask cluster)."""

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        for task in tasks:
            yield function(task)


class LocalPool(Executor):
    """Worker processes on this machine (spawned, so that no parent state leaks into them)."""

    def __init__(self, pool: ProcessPoolExecutor, workers: int):
        self._pool = pool
        self.workers = workers

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        futures = [self._pool.submit(function, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


class DaskCluster(Executor):
    """The workers of a dask.distributed cluster."""

    def __init__(self, client: Any, workers: int, sees_inputs: bool):
        self._client = client
        self.workers = workers
        self.sees_inputs = sees_inputs

    def map(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
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
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        yield LocalPool(pool, workers)


@contextlib.contextmanager
def dask(scheduler: str | None, workers: int | None) -> Iterator[Executor]:
    """The cluster at `scheduler`, or a local cluster of worker processes on 127.0.0.1.

    A local cluster's workers see the inputs; a remote one's only see the output directory
    (on a shared filesystem), so pass 1 then runs in this process and copies the records.
    """
    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
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
