"""Pass 2: evaluate one partition, each unit's visits in date order with their history.

A pure function of the partition file and the ruleset, so the local process pool and the
Dask engine run exactly the same code and produce the same bytes. Its outputs appear
atomically; the stats file is written last and marks the partition done for `--resume`.
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..api import Engine
from ..errors import ComplianceError, InputError, Problem
from ..history import History
from ..privacy import Redactor
from ..result import Evaluation
from .files import atomic_open, read_json, write_json
from .partition import KEY_SEP, entry_json, error_line, position, record_from_line
from .summary import SummaryBuilder

_ENGINES: dict[tuple[str, bool], Engine] = {}
_SEP = KEY_SEP.encode()


class PartitionError(ComplianceError):
    """A partition could not be evaluated (a failing plugin, an unloadable ruleset).

    Picklable with its problems, so that a worker process or a Dask worker reports it to the
    command line intact (ComplianceError itself does not survive pickling).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class PartitionTask:
    index: int
    parts: tuple[str, ...]
    """The partition's files, one per pass-1 read task."""
    out_dir: str
    rules_dir: str | None
    sources: tuple[str, ...]
    """The inputs as the command line named them (errors cite these)."""
    parquet: bool = False
    redact_key: str | None = field(default=None, repr=False)
    exclusions: str | None = None
    """Records of this partition whose visit id another unit's visit already has (`duplicates`)."""

    @property
    def stats_path(self) -> Path:
        return Path(self.out_dir) / f"stats-{self.index:04d}.json"

    @property
    def parquet_path(self) -> Path:
        return Path(self.out_dir) / f"findings-{self.index:04d}.parquet"

    @property
    def ids_path(self) -> Path:
        return Path(self.out_dir) / f"ids-{self.index:04d}.txt"

    def done(self) -> bool:
        # A partition evaluated without --parquet is not done for a resumed run that wants it,
        # nor one evaluated before its duplicates were known.
        if not self.stats_path.is_file() or (self.parquet and not self.parquet_path.is_file()):
            return False
        return bool(read_json(self.stats_path).get("exclusions") == self.exclusions)


def engine_for(rules_dir: str | None) -> Engine:
    """One engine per process and ruleset, loaded on first use."""
    key = (rules_dir or "", True)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = Engine.load(rules_dir)
    return engine


def remember_engine(rules_dir: str | None, engine: Engine) -> None:
    """Reuse an engine this process already loaded (the single-worker run)."""
    _ENGINES[(rules_dir or "", True)] = engine


FINDING_COLUMNS = (
    "visit_id", "unit_id", "unit_name", "unit_level", "province", "visit_date", "inspected_at", "check", "rule",
    "severity", "subject_type", "subject_id", "message_vi", "message_en", "sanctions", "repeat_count",
    "rule_version_from", "grade",
)


def run_partition(task: PartitionTask) -> dict[str, Any]:
    """Evaluate every record of one partition; write its results, errors and stats."""
    try:
        engine = engine_for(task.rules_dir)
    except ComplianceError as exc:
        raise PartitionError(exc.problems) from None
    redactor = Redactor(task.redact_key) if task.redact_key else None
    with contextlib.ExitStack() as stack:
        maps = [stack.enter_context(_mapped(stack.enter_context(open(part, "rb")))) for part in task.parts]
        return _evaluate_lines(task, engine, redactor, maps, _sorted_index(maps))


@contextlib.contextmanager
def _mapped(handle: Any) -> Iterator[Any]:
    """The partition file as a read-only memory map (an empty file maps to b"")."""
    if os.fstat(handle.fileno()).st_size == 0:
        yield b""
        return
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        yield data


def _sorted_index(maps: list[Any]) -> list[tuple[bytes, int, int, int]]:
    """(sort key, file, start, end) of every line of the partition's files, in key order.

    Only the keys are held in memory, not the records: a partition that happens to hold
    more visits than most costs a few bytes per visit, not its size.
    """
    index = []
    for number, data in enumerate(maps):
        position, size = 0, len(data)
        while position < size:
            end = data.find(b"\n", position)
            if end < 0:
                end = size
            if end > position:
                tab = data.find(b"\t", position, end)
                index.append((data[position:tab], number, position, end))
            position = end + 1
    index.sort()
    return index


def _evaluate_lines(
    task: PartitionTask,
    engine: Engine,
    redactor: Redactor | None,
    maps: list[Any],
    index: list[tuple[bytes, int, int, int]],
) -> dict[str, Any]:
    out = Path(task.out_dir)
    summary = SummaryBuilder(engine.catalogue.level_periods)
    results_path = out / f"results-{task.index:04d}.jsonl"
    errors_path = out / f"errors-{task.index:04d}.jsonl"
    columns: dict[str, list[Any]] | None = {c: [] for c in FINDING_COLUMNS} if task.parquet else None
    counts = {"results": 0, "errors": 0, "records": len(index)}
    error_lines: list[bytes] = []
    excluded = _exclusions(task.exclusions)
    ids: list[bytes] = []
    with atomic_open(results_path) as results_out:
        for _, group in itertools.groupby(index, key=lambda entry: entry[0].split(_SEP, 1)[0]):
            history = History()
            seen: dict[str, str] = {}
            unit_results: list[Evaluation] = []
            plan_refs: list[str | None] = []
            for _, number, start, end in group:
                sort_key, src, record = record_from_line(maps[number][start:end], task.sources)
                try:
                    visit = engine.parse_record(record)
                except InputError as exc:
                    error_lines.append(error_line(src, record, exc.problems))
                    counts["errors"] += 1
                    continue
                here = record.place()
                at = position(src, record.ordinal).encode()
                first = excluded.get(at) or seen.get(visit.visit_id)
                ids.append(_id_line(visit.visit_id, sort_key, at, task.index, first is None, here))
                if first is not None:
                    problem = Problem(
                        "duplicate_id", {"found": visit.visit_id}, path=f"visit_id (first at {first})", **record.where()
                    )
                    error_lines.append(error_line(src, record, [problem], visit.visit_id))
                    counts["errors"] += 1
                    continue
                seen[visit.visit_id] = here
                try:
                    if redactor is not None:
                        visit = redactor.visit(visit)
                    evaluation = engine.evaluate_data(visit, history=history)
                except ComplianceError as exc:
                    raise PartitionError([p.at(**record.where()) for p in exc.problems]) from None
                history.add_evaluation(evaluation)
                unit_results.append(evaluation)
                plan_refs.append(visit.plan_ref)
                results_out.write(evaluation.to_json() + b"\n")
                counts["results"] += 1
                if columns is not None:
                    _add_rows(columns, evaluation.data)
            summary.add_unit(unit_results, plan_refs)
    with atomic_open(errors_path) as errors_out:
        errors_out.writelines(sorted(error_lines))
    with atomic_open(task.ids_path) as ids_out:
        ids_out.writelines(sorted(ids))
    if columns is not None:
        _write_parquet(task.parquet_path, columns)
    stats = {"index": task.index, "counts": counts, "summary": summary.partial(), "exclusions": task.exclusions,
             "pid": os.getpid()}
    write_json(task.stats_path, stats)
    # The caller only tallies counts; the partial summary stays on disk. Returning it would
    # keep hundreds of them alive in the parent (pool futures hold their results).
    return {"index": task.index, "counts": counts}


def _id_line(visit_id: str, sort_key: bytes, at: bytes, partition: int, result: bool, where: str) -> bytes:
    """One line of the partition's visit ids: the id, its rank among visits with that id (time,
    then unit, then input position), the partition, whether it gave a result (else it repeated
    an id within its unit), its input position and where that is, for messages."""
    unit, instant, rest = sort_key.split(_SEP, 2)
    # Hex: any text (tabs, lone surrogates from JSON escapes) compares exactly and stays on its line.
    key = visit_id.encode("utf-8", "surrogatepass").hex().encode()
    rank = instant + _SEP + unit + _SEP + rest
    flag = b"r" if result else b"d"
    return b"\t".join((key, rank, str(partition).encode(), flag, at, entry_json(where))) + b"\n"


def _exclusions(path: str | None) -> dict[bytes, str]:
    """Input position of each excluded record, and where the visit that keeps its id stands."""
    if path is None:
        return {}
    excluded = {}
    with open(path, "rb") as handle:
        for line in handle:
            at, _, first = line.rstrip(b"\n").partition(b"\t")
            excluded[at] = orjson.loads(first)
    return excluded


def _add_rows(columns: dict[str, list[Any]], result: dict[str, Any]) -> None:
    for f in result["findings"]:
        columns["visit_id"].append(result["visit_id"])
        columns["unit_id"].append(result["unit_id"])
        columns["unit_name"].append(result["unit_name"])
        columns["unit_level"].append(result["unit_level"])
        columns["province"].append(result["province"])
        columns["visit_date"].append(result["visit_date"])
        columns["inspected_at"].append(result["inspected_at"])
        columns["check"].append(f["check"])
        columns["rule"].append(f["rule"])
        columns["severity"].append(f["severity"])
        columns["subject_type"].append(f["subject"]["type"])
        columns["subject_id"].append(f["subject"]["id"])
        columns["message_vi"].append(f["message"]["vi"])
        columns["message_en"].append(f["message"]["en"])
        columns["sanctions"].append(",".join(s["code"] for s in f["sanctions"]))
        columns["repeat_count"].append(len(f["repeat_of"]))
        columns["rule_version_from"].append(f["rule_version"]["effective_from"])
        columns["grade"].append(result["grade"]["code"])


def findings_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    fields = [(name, text) for name in FINDING_COLUMNS]
    fields[FINDING_COLUMNS.index("repeat_count")] = ("repeat_count", pa.int32())
    fields[FINDING_COLUMNS.index("visit_date")] = ("visit_date", pa.date32())
    return pa.schema(fields)


def _write_parquet(path: Path, columns: dict[str, list[Any]]) -> None:
    import datetime as _dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    data = dict(columns)
    data["visit_date"] = [_dt.date.fromisoformat(d) for d in data["visit_date"]]
    table = pa.table(data, schema=findings_schema())
    with atomic_open(path) as handle:
        pq.write_table(table, handle)
