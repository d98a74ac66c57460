"""One batch run at a time in an output directory.

Two runs writing one `--out` interleave their files, and the one that finishes last writes a
manifest saying "complete" over outputs the other replaced. A run therefore holds an
exclusive lock (flock) on `DIR/.lock` from before it looks at the directory until it has
written its manifest. The kernel releases the lock when the process ends, however it ends,
so `--resume` after a kill finds it free; the file only says who holds it, for the message
the next run gives. Dask workers write under the directory too, but only while the driver,
which holds the lock, waits for them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import orjson

from ..errors import ComplianceError, Problem

LOCK = ".lock"


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the lock of `out` (created if need be) for the block; ComplianceError naming the
    run that holds it if another does. A directory this made and the block left empty (a run
    that could not start) is removed again."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    fd = _acquire(path)
    try:
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(holder) + b"\n", 0)
        yield
    finally:
        # Removed while still held: a run waiting on this file sees it is gone and takes a new one.
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()


def _acquire(path: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ComplianceError([Problem("symlink_in_output", {"name": LOCK}, file=str(path))]) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ComplianceError([Problem("output_locked", {"out": str(path.parent), **holder})]) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the run that held it removed it meanwhile: lock the file that stands now


def _holder(fd: int) -> dict[str, str]:
    """Who holds the lock, as its file says ('?' where it has not said yet)."""
    try:
        data = orjson.loads(os.pread(fd, 4096, 0))
    except (OSError, orjson.JSONDecodeError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    return {key: str(data.get(key, "?")) for key in ("pid", "host", "started")}
