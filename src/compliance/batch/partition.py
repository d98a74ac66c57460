"""Pass 1: stream the inputs once and spread the records over partition files by unit.

A unit's visits must be evaluated together and in date order (its earlier findings escalate
later sanctions), whatever the order of the input. Each record goes to the partition of its
unit with a sort key in front, so pass 2 can sort one partition at a time in bounded memory
and read its records from memory-mapped files, without a system call per record (the work
directory holds a copy of the records while the run lasts). Records that cannot even say which
unit they belong to are judged here and go to the errors.

The inputs are shared out over read tasks (pieces of large JSONL files, whole other files)
that the worker processes run in parallel, each into partition files of its own.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from ..api import installed_format
from ..errors import InputError, Problem
from ..io import MAX_RECORD_BYTES, Record, jsonl_spans, read_path, splittable
from . import executors
from .files import atomic_open, buffer_size

KEY_SEP = "\x1f"
MIN_PIECE_BYTES = 4 * 1024 * 1024
"""Smallest piece a JSONL file is cut into for parallel reading."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INSTANT = TypeAdapter(AwareDatetime)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


SAMPLES_PER_PARTITION = 64


def unit_key(unit_id: str) -> str:
    """A unit's place in the output: the start of its records' sort keys (its id as JSON)."""
    return orjson.dumps(unit_id).decode()


def partition_of(key: str, bounds: Sequence[str]) -> int:
    """The partition of the unit whose `unit_key` is `key`: partitions hold ranges of units, in
    order, so their results put end to end are the run's results in order."""
    return bisect.bisect_right(bounds, key)


def unit_bounds(inputs: Sequence[InputFile], partitions: int) -> list[str]:
    """Where partitions split the units, from a sample of the inputs' records, so that each
    holds about as many visits. A poor sample only makes them unequal, never the results wrong:
    records far apart in a plain JSONL file, the first records of any other file."""
    total = sum(max(1, info.size) for info in inputs) or 1
    keys: list[str] = []
    for info in inputs:
        wanted = max(SAMPLES_PER_PARTITION, partitions * SAMPLES_PER_PARTITION * max(1, info.size) // total)
        with contextlib.suppress(Exception):  # pass 1 reports a broken input; here it only weighs less
            keys.extend(_sampled_units(info, wanted))
    if partitions <= 1 or not keys:
        return []
    keys.sort()
    return sorted({keys[len(keys) * i // partitions] for i in range(1, partitions)})


def _sampled_units(info: InputFile, wanted: int) -> Iterator[str]:
    if splittable(info.path) and info.size > wanted * 4096:
        with open(info.path, "rb") as handle:
            for i in range(wanted):
                handle.seek(info.size * i // wanted)
                if i:
                    handle.readline(MAX_RECORD_BYTES)  # the rest of the line the seek fell into
                line = handle.readline(MAX_RECORD_BYTES)
                found = _scan(line.strip())
                if found is not None:
                    yield unit_key(nfc(found["unit"]["id"]))
        return
    for record in itertools.islice(read_path(info.path), wanted):
        if record.problem is not None:
            continue
        found = _scan(record.raw) if record.raw is not None else record.data
        keyed = sort_key(found)
        if keyed is not None:
            yield unit_key(keyed[0])


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
    if isinstance(at, (str, int, float, datetime)) and not isinstance(at, bool):
        # Parsed as the visit model parses it (ISO 8601 in its variants, Unix timestamps), so
        # that every time the model accepts sorts by its instant.
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
            if moment is None or moment.tzinfo is None:
                moment = _INSTANT.validate_python(at)
            instant = moment.astimezone(timezone.utc).isoformat()
        except (ValidationError, OverflowError, ValueError):
            pass
    vid = data.get("visit_id")
    # Partition lines are split on newlines, tabs and KEY_SEP: no control character may stay.
    instant = _CONTROL.sub(" ", instant)
    key = KEY_SEP.join((unit_key(uid), instant, orjson.dumps(vid, default=str).decode()))
    return uid, key


def error_entry(record: Record, problems: Sequence[Problem], visit_id: str | None = None) -> dict[str, Any]:
    """An errors.jsonl entry: where the record starts (its line and, in a JSON array, column
    and record number; in a Parquet file its record number alone), its visit id if it has
    one, and its problems, each at its own place."""
    where = record.where()
    return {
        "source": record.source,
        "line": where.get("line"),
        "column": where.get("column"),
        "record": where.get("record"),
        "unit": record.unit,
        "visit_id": visit_id if visit_id is not None else record.visit_id,
        "problems": [p.to_dict() for p in problems],
        "message": {lang: "; ".join(p.render(lang) for p in problems) for lang in ("vi", "en")},
    }


def entry_json(entry: Any) -> bytes:
    """One JSON line; text no UTF-8 can carry (lone surrogates from YAML escapes) is scrubbed."""
    try:
        return orjson.dumps(entry)
    except orjson.JSONEncodeError:
        return orjson.dumps(_scrub(entry), default=str)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


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


@dataclass(frozen=True)
class Segment:
    """One input file, or one piece of a JSONL file (`span`: start, end, first line)."""

    source_index: int
    path: str
    span: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class ReadTask:
    """Pass 1 for some segments, into a set of partition files of its own.

    Several read tasks run in parallel; pass 2 then reads partition `p` from every task's
    file for `p`. Records carry their input position, so how the inputs were shared out
    changes nothing downstream.
    """

    index: int
    segments: tuple[Segment, ...]
    directory: str
    bounds: tuple[str, ...]
    """Where the partitions split the units (`unit_bounds`)."""

    @property
    def partitions(self) -> int:
        return len(self.bounds) + 1

    def part_path(self, partition: int) -> Path:
        return part_path(Path(self.directory), partition, self.index)

    @property
    def errors_path(self) -> Path:
        return Path(self.directory) / f"errors-{self.index:04d}.jsonl"


def part_path(directory: Path, partition: int, read_task: int) -> Path:
    return directory / f"part-{partition:04d}-{read_task:04d}.bin"


@dataclass
class ReadCounts:
    index: int
    records: dict[int, int] = field(default_factory=dict)
    """Records read, by input index."""
    errors: int = 0


def plan_reads(inputs: Sequence[InputFile], directory: Path, bounds: Sequence[str], tasks: int) -> list[ReadTask]:
    """Share the inputs out over at most `tasks` read tasks of similar size.

    Plain JSONL files are cut into pieces at line boundaries; other formats are read whole
    by one task. Pieces go to the least loaded task, largest first.
    """
    tasks = max(1, tasks)
    segments: list[tuple[int, Segment]] = []
    for info in inputs:
        if tasks > 1 and splittable(info.path) and info.size > MIN_PIECE_BYTES:
            pieces = min(tasks, max(1, info.size // MIN_PIECE_BYTES))
            for start, end, first_line in jsonl_spans(info.path, pieces):
                segments.append((end - start, Segment(info.index, info.path, (start, end, first_line))))
        else:
            # A compressed file holds about five times its size of records to read.
            weight = info.size * (5 if info.path.lower().endswith(".gz") else 1)
            segments.append((weight, Segment(info.index, info.path)))
    count = min(tasks, max(1, len(segments)))
    loads = [0] * count
    chosen: list[list[Segment]] = [[] for _ in range(count)]
    for size, segment in sorted(segments, key=lambda s: (-s[0], s[1].source_index, s[1].span or ())):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += size
        chosen[target].append(segment)
    return [
        ReadTask(i, tuple(sorted(mine, key=lambda s: (s.source_index, s.span or ()))), str(directory), tuple(bounds))
        for i, mine in enumerate(chosen)
    ]


def read_into_partitions(task: ReadTask, progress: Callable[[int, int], None] | None = None) -> ReadCounts:
    """Spread the task's records over its partition files; bad records go to its errors.

    Progress goes to `progress`, or, in a pool's worker, to the counters the parent reads.
    """
    directory = Path(task.directory)
    directory.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = functools.partial(executors.report, task.index)
    counts = ReadCounts(task.index)
    buffering = buffer_size(task.partitions)
    handles: list[IO[bytes]] = [task.part_path(i).open("wb", buffering=buffering) for i in range(task.partitions)]
    seen = 0
    try:
        with atomic_open(task.errors_path) as errors:
            for segment in task.segments:
                last: Record | None = None
                records = read_path(segment.path, span=segment.span)
                while True:
                    try:
                        record = next(records)
                    except StopIteration:
                        break
                    except Exception as exc:  # noqa: BLE001 - whatever the reader raises, the file broke off
                        problems = _broken(segment.path, exc)
                        if problems is None:
                            break
                        # The file broke off (truncated or corrupt): the unread rest is one error.
                        broken = _next_record(last, segment.path, segment.span)
                        counts.records[segment.source_index] = counts.records.get(segment.source_index, 0) + 1
                        counts.errors += 1
                        errors.write(error_line(segment.source_index, broken, problems))
                        break
                    last = record
                    counts.records[segment.source_index] = counts.records.get(segment.source_index, 0) + 1
                    problems = _route(record, segment.source_index, handles, task.bounds)
                    if problems is not None:
                        counts.errors += 1
                        errors.write(error_line(segment.source_index, record, problems))
                    seen += 1
                    if seen % 2000 == 0:
                        progress(seen, counts.errors)
            progress(seen, counts.errors)
        for handle in handles:
            # The run's state file, written after pass 1, says these are complete: make them durable first.
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        for handle in handles:
            handle.close()
    return counts


def _broken(path: str, exc: Exception) -> list[Problem] | None:
    """The problems of a reader that stopped with `exc`; None for a file without records."""
    if isinstance(exc, InputError):
        if exc.problems and exc.problems[0].code == "empty_input":
            return None
        return exc.problems
    # zlib.error from a corrupt .gz, pyarrow errors from a corrupt Parquet file, YAML reader
    # errors: the reader did not say it in its own terms, but the file is just as broken.
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return [Problem("file_unreadable", {"detail": f"{type(exc).__name__}: {detail}"}, file=path)]


def error_line(source_index: int, record: Record, problems: Sequence[Problem], visit_id: str | None = None) -> bytes:
    """An errors.jsonl entry keyed by the record's input position (the merge sorts by it)."""
    entry = error_entry(record, problems, visit_id)
    return position(source_index, record.ordinal).encode() + b"\t" + entry_json(entry) + b"\n"


def _next_record(record: Record | None, path: str, span: tuple[int, int, int] | None) -> Record:
    """The place after `record` (or the start of a segment), for a file that broke off there."""
    if record is None:
        return Record(path, span[2] if span else 1)
    if record.unit == "record":
        return Record(path, record.line + 1, unit="record", number=record.ordinal + 1)
    if record.number is not None:  # an item of a JSON array: the next one, where the last began
        return Record(path, record.line, column=record.column, number=record.number + 1)
    return Record(path, record.line + 1)


def partition_line(head: str, record: Record, raw: bytes) -> bytes:
    """A record's line in a partition file: `head` (sort key, input), where the record stands,
    and its text.

    Partition files are split on newlines: text that holds one (an item of a JSON array
    written over several lines, copied from a compressed file) is written in base64, marked
    `~`, so that it is read back byte for byte and its problems keep their lines.
    """
    place = f"{record.line},{record.column or ''},{record.number or ''}\t{record.unit}"
    if b"\n" in raw:
        return f"{head}\t{place}\t~\t".encode() + base64.b64encode(raw) + b"\n"
    return f"{head}\t{place}\t\t".encode() + raw + b"\n"


def record_from_line(fields: bytes, sources: Sequence[str]) -> tuple[bytes, int, Record]:
    """(sort key, input index, record) of a partition line written by `partition_line`."""
    sort_key, source_index, place, unit, encoding, raw = fields.split(b"\t", 5)
    src = int(source_index)
    if encoding == b"~":
        raw = base64.b64decode(raw)
    line, column, number = (int(v) if v else None for v in place.split(b","))
    assert line is not None
    record = Record(sources[src], line, raw=raw, unit=unit.decode(), column=column, number=number)  # type: ignore[arg-type]
    return sort_key, src, record


_UNIT = re.compile(rb'"unit"\s*:\s*\{([^{}]*)\}')
_ID = re.compile(rb'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_AT = re.compile(rb'"inspected_at"\s*:\s*"((?:[^"\\]|\\.)*)"')
_VISIT = re.compile(rb'"visit_id"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _scan(raw: bytes) -> dict[str, Any] | None:
    """The three fields the sort key needs, read without parsing the whole document: each
    search stops at its key, which producers write near the start.

    JSON text cannot hold a bare quote inside a string, so these key patterns only match real
    keys. A document that gives a key twice places the record by the first; pass 2 refuses it
    anyway (a repeated key is an error), so where it waits does not matter. When anything is
    unusual (braces inside the unit, an id that is not text) the caller parses the document.
    """
    unit = _UNIT.search(raw)
    if unit is None:
        return None
    ids = _ID.findall(unit.group(1))
    at = _AT.search(raw)
    visit = _VISIT.search(raw)
    if len(ids) != 1 or at is None or visit is None:
        return None
    try:
        return {
            "unit": {"id": orjson.loads(b'"' + ids[0] + b'"')},
            "inspected_at": orjson.loads(b'"' + at.group(1) + b'"'),
            "visit_id": orjson.loads(b'"' + visit.group(1) + b'"'),
        }
    except orjson.JSONDecodeError:
        return None


def _route(record: Record, source_index: int, handles: list[IO[bytes]], bounds: Sequence[str]) -> list[Problem] | None:
    """Write a record that names its unit to its unit's partition; otherwise say why not.

    A partition line is `sort key, input, place, unit, encoding, record` separated by tabs
    (`partition_line`).
    """
    raw = record.raw
    data = record.data
    if record.problem is None and raw is not None:
        data = _scan(raw)
        if data is None:
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                data = None
    problem: Problem | None = None
    index = 0
    try:
        keyed = sort_key(data) if record.problem is None else None
        if keyed is not None:
            index = partition_of(keyed[1].partition(KEY_SEP)[0], bounds)
            if raw is None:
                # YAML may hold non-text keys: made text, the model then rejects them by name.
                raw = orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, UnicodeEncodeError) as exc:
        # Lone surrogates, integers beyond 64 bits: data no JSON line can carry.
        keyed = None
        problem = Problem("invalid_value", {"detail": str(exc)}, file=record.source, line=record.line)
    if keyed is None:
        try:
            record.parse(installed_format())
            return [problem or Problem("missing", path="unit.id", file=record.source, line=record.line)]
        except InputError as exc:
            return exc.problems
    assert raw is not None
    head = f"{keyed[1]}{KEY_SEP}{position(source_index, record.ordinal)}\t{source_index}"
    handles[index].write(partition_line(head, record, raw))
    return None
