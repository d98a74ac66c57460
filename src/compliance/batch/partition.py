"""Pass 1: stream the inputs once and spread the records over partition files by unit.

A unit's visits must be evaluated together and in date order (its earlier findings escalate
later sanctions), whatever the order of the input. Records are written to the partition of
their unit with a sort key in front, so pass 2 can sort one partition at a time in bounded
memory. Records that cannot even say which unit they belong to are judged here and go to the
errors.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import InputError, Problem
from ..io import Record, read_path
from .files import atomic_open

KEY_SEP = "\x1f"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def partition_of(unit_id: str, partitions: int) -> int:
    return zlib.crc32(unit_id.encode("utf-8")) % partitions


def sort_key(data: Any) -> tuple[str, str] | None:
    """(unit id, sort key) of a record that names its unit; None when it does not."""
    if not isinstance(data, dict):
        return None
    unit = data.get("unit")
    uid = unit.get("id") if isinstance(unit, dict) else None
    if not isinstance(uid, str) or not uid.strip():
        return None
    uid = nfc(uid)
    at = data.get("inspected_at")
    instant = str(at)
    if isinstance(at, str):
        try:
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is not None:
                instant = moment.astimezone(timezone.utc).isoformat()
        except ValueError:
            pass
    elif isinstance(at, datetime) and at.tzinfo is not None:
        instant = at.astimezone(timezone.utc).isoformat()
    vid = data.get("visit_id")
    key = KEY_SEP.join((orjson.dumps(uid).decode(), instant.replace("\t", " "), orjson.dumps(vid, default=str).decode()))
    return uid, key


def error_entry(record: Record, problems: Sequence[Problem], visit_id: str | None = None) -> dict[str, Any]:
    return {
        "source": record.source,
        "line": record.line,
        "unit": record.unit,
        "visit_id": visit_id if visit_id is not None else record.visit_id,
        "problems": [p.to_dict() for p in problems],
        "message": {lang: "; ".join(p.render(lang) for p in problems) for lang in ("vi", "en")},
    }


def position(source_index: int, line: int) -> str:
    return f"{source_index:06d}{KEY_SEP}{line:012d}"


@dataclass
class InputFile:
    index: int
    path: str
    size: int
    mtime_ns: int
    sha256: str
    records: int = 0


@dataclass
class PartitionResult:
    inputs: list[InputFile]
    partitions: int
    records: int = 0
    errors: int = 0
    per_partition: list[int] = field(default_factory=list)


def partition(
    inputs: Sequence[InputFile],
    directory: Path,
    partitions: int,
    progress: Callable[[int, int], None] = lambda records, errors: None,
) -> PartitionResult:
    """Spread every input record over `partitions` files in `directory`; return the counts."""
    directory.mkdir(parents=True, exist_ok=True)
    result = PartitionResult(list(inputs), partitions, per_partition=[0] * partitions)
    handles: list[IO[bytes]] = [
        (directory / f"part-{i:04d}.bin").open("wb", buffering=1 << 16) for i in range(partitions)
    ]
    try:
        with atomic_open(directory / "errors.jsonl") as errors:
            for info in inputs:
                last_line = 0
                try:
                    for record in read_path(info.path):
                        last_line = record.line
                        info.records += 1
                        result.records += 1
                        _route(record, info.index, handles, errors, result)
                        if result.records % 2000 == 0:
                            progress(result.records, result.errors)
                except InputError as exc:
                    if exc.problems and exc.problems[0].code == "empty_input":
                        continue
                    # The file broke off (truncated or corrupt): the unread rest is one error.
                    broken = Record(info.path, last_line + 1)
                    info.records += 1
                    result.records += 1
                    result.errors += 1
                    errors.write(_error_line(info.index, broken, exc.problems))
            progress(result.records, result.errors)
    finally:
        for handle in handles:
            handle.close()
    return result


def _error_line(source_index: int, record: Record, problems: Sequence[Problem], visit_id: str | None = None) -> bytes:
    entry = error_entry(record, problems, visit_id)
    return position(source_index, record.line).encode() + b"\t" + orjson.dumps(entry) + b"\n"


def _route(record: Record, source_index: int, handles: list[IO[bytes]], errors: IO[bytes], result: PartitionResult) -> None:
    raw = record.raw
    data = record.data
    if record.problem is None and raw is not None:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
    keyed = sort_key(data) if record.problem is None else None
    if keyed is None:
        try:
            record.parse()
            problems = [Problem("missing", path="unit.id", file=record.source, line=record.line)]
        except InputError as exc:
            problems = exc.problems
        result.errors += 1
        errors.write(_error_line(source_index, record, problems))
        return
    unit_id, key = keyed
    if raw is None:
        raw = orjson.dumps(data, default=str)
    index = partition_of(unit_id, result.partitions)
    result.per_partition[index] += 1
    head = f"{key}{KEY_SEP}{position(source_index, record.line)}\t{source_index}\t{record.line}\t{record.unit}\t"
    handles[index].write(head.encode() + raw + b"\n")
