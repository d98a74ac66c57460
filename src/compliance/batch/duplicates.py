"""Visit ids used by more than one unit's visits.

Pass 2 catches a visit id repeated within a unit (a unit's visits are evaluated together);
one repeated across units lands in two partitions. After pass 2, the partitions' id lists
(each sorted) are merged: for every id, the earliest visit (by time, then unit, then input
position) keeps it, whatever the input order, and every other one becomes an error naming
it. A partition where such a visit had given a result is evaluated again
without it, so that no history or summary counts a visit that is not in the results.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from .evaluate import PartitionTask
from .files import atomic_open, buffer_size


def _entries(path: Path, buffering: int) -> Iterator[tuple[bytes, bytes, int, bytes, bytes, bytes]]:
    if not path.is_file():
        return
    with path.open("rb", buffering=buffering) as handle:
        for line in handle:
            visit_id, rank, partition, flag, at, where = line.rstrip(b"\n").split(b"\t")
            yield visit_id, rank, int(partition), flag, at, where


def exclusions_path(directory: Path, partition: int) -> Path:
    return directory / f"exclusions-{partition:04d}.txt"


def find(tasks: Sequence[PartitionTask], directory: Path) -> list[int]:
    """Write each partition's records to exclude; return the partitions to evaluate again."""
    directory.mkdir(parents=True, exist_ok=True)
    again: set[int] = set()
    buffering = buffer_size(len(tasks))
    merged = heapq.merge(*(_entries(task.ids_path, buffering) for task in tasks))
    with contextlib.ExitStack() as stack:
        files: dict[int, IO[bytes]] = {}
        for _, group in itertools.groupby(merged, key=lambda entry: entry[0]):
            kept = next(group)
            for _, _, partition, flag, at, _ in group:
                out = files.get(partition)
                if out is None:
                    out = files[partition] = stack.enter_context(atomic_open(exclusions_path(directory, partition)))
                out.write(at + b"\t" + kept[5] + b"\n")
                if flag == b"r":
                    again.add(partition)
    return sorted(again)
