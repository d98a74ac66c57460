"""Crash-safe files: written beside their final name, synced, then renamed into place.

A reader (or a resumed run) therefore sees either the whole file or none of it: a crash
never leaves a half-written file looking complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

BUFFER_BUDGET = 4 * 1024 * 1024


def buffer_size(open_files: int) -> int:
    """Buffer of each of `open_files` files open at once (one per partition while spreading
    records or merging parts): a fixed total, so memory does not grow with the partitions."""
    return max(8 * 1024, min(1024 * 1024, BUFFER_BUDGET // max(1, open_files)))


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open `path` for writing; it appears under its name only if the block completes."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    handle = tmp.open(mode, buffering=1 << 20) if "b" in mode else tmp.open(mode)
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        # Closing flushes what is buffered, which fails again on a full disk: the temporary
        # file must go all the same, or it keeps the disk full for the run that resumes.
        with contextlib.suppress(OSError):
            handle.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_json(path: Path, data: Any) -> None:
    with atomic_open(path) as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def clean_temporaries(directory: Path) -> None:
    """Remove the leftovers of writes a crash interrupted."""
    if directory.is_dir():
        for leftover in directory.glob(".*.tmp-*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
