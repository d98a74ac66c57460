"""Run the partitions on dask.distributed: a local cluster, or the scheduler at an address.

Each partition is one task running the same `run_partition` as the local engine, so results
are byte-identical. Workers must see the output directory at the same path (a local cluster
does; a remote cluster needs a shared filesystem, e.g. NFS, mounted at the same path).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .evaluate import PartitionTask, run_partition


def run_on_dask(tasks: Sequence[PartitionTask], scheduler: str | None, workers: int | None) -> Iterator[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers or None,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        futures = [client.submit(run_partition, task, key=f"compliance-partition-{task.index}-{task.parts[0]}", pure=False) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
