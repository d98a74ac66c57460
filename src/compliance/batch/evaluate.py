"""Pass 2: evaluate one partition, each unit's visits in date order with their history.

A pure function of the partition file and the ruleset, so the local process pool and the
Dask engine run exactly the same code and produce the same bytes. Its outputs appear
atomically; the stats file is written last and marks the partition done for `--resume`.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..engine import Engine
from ..errors import ComplianceError, InputError, Problem
from ..io import Record
from ..privacy import Redactor
from ..result import PriorFinding, Result
from .files import atomic_open, write_json
from .partition import KEY_SEP, entry_json, error_entry, position
from .summary import SummaryBuilder

_ENGINES: dict[tuple[str, bool], Engine] = {}


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
    source: str
    out_dir: str
    rules_dir: str | None
    sources: tuple[str, ...]
    parquet: bool = False
    redact_key: str | None = field(default=None, repr=False)

    @property
    def stats_path(self) -> Path:
        return Path(self.out_dir) / f"stats-{self.index:04d}.json"

    @property
    def parquet_path(self) -> Path:
        return Path(self.out_dir) / f"findings-{self.index:04d}.parquet"

    def done(self) -> bool:
        # A partition evaluated without --parquet is not done for a resumed run that wants it.
        return self.stats_path.is_file() and (not self.parquet or self.parquet_path.is_file())


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


def prior_findings(result: Result) -> list[PriorFinding]:
    day = result.visit_date
    from datetime import date

    visit_day = date.fromisoformat(day)
    return [
        PriorFinding(result.visit_id, visit_day, result.unit_id, f.subject.type, f.subject.id, f"{f.check}.{f.rule}")
        for f in result.findings
    ]


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
    out = Path(task.out_dir)
    lines = [line for line in Path(task.source).read_bytes().split(b"\n") if line]
    lines.sort()
    summary = SummaryBuilder()
    results_path = out / f"results-{task.index:04d}.jsonl"
    errors_path = out / f"errors-{task.index:04d}.jsonl"
    columns: dict[str, list[Any]] | None = {c: [] for c in FINDING_COLUMNS} if task.parquet else None
    counts = {"results": 0, "errors": 0, "records": len(lines)}
    error_lines: list[bytes] = []
    with atomic_open(results_path) as results_out:
        for _, group in itertools.groupby(lines, key=lambda line: line.split(KEY_SEP.encode(), 1)[0]):
            history: list[PriorFinding] = []
            seen: dict[str, str] = {}
            unit_results: list[Result] = []
            plan_refs: list[str | None] = []
            for line in group:
                sort_key, source_index, line_no, unit, raw = line.split(b"\t", 4)
                src = int(source_index)
                record = Record(task.sources[src], int(line_no), raw=raw, unit=unit.decode())  # type: ignore[arg-type]
                try:
                    visit = record.parse()
                except InputError as exc:
                    error_lines.append(_error_line(src, record, exc.problems))
                    counts["errors"] += 1
                    continue
                if visit.visit_id in seen:
                    problem = Problem(
                        "duplicate_id",
                        {"found": visit.visit_id},
                        file=record.source,
                        line=record.line,
                        path=f"visit_id (first at {seen[visit.visit_id]})",
                    )
                    error_lines.append(_error_line(src, record, [problem], visit.visit_id))
                    counts["errors"] += 1
                    continue
                seen[visit.visit_id] = f"{record.source}:{record.line}"
                try:
                    if redactor is not None:
                        visit = redactor.visit(visit)
                    result = engine.evaluate(visit, history=history)
                except ComplianceError as exc:
                    raise PartitionError([p.at(file=record.source, line=record.line) for p in exc.problems]) from None
                history.extend(prior_findings(result))
                unit_results.append(result)
                plan_refs.append(visit.plan_ref)
                results_out.write(sort_key + b"\t" + orjson.dumps(result) + b"\n")
                counts["results"] += 1
                if columns is not None:
                    _add_rows(columns, result)
            summary.add_unit(unit_results, plan_refs)
    with atomic_open(errors_path) as errors_out:
        errors_out.writelines(sorted(error_lines))
    if columns is not None:
        _write_parquet(task.parquet_path, columns)
    stats = {"index": task.index, "counts": counts, "summary": summary.partial(), "pid": os.getpid()}
    write_json(task.stats_path, stats)
    return stats


def _error_line(source_index: int, record: Record, problems: list[Problem], visit_id: str | None = None) -> bytes:
    entry = error_entry(record, problems, visit_id)
    return position(source_index, record.line).encode() + b"\t" + entry_json(entry) + b"\n"


def _add_rows(columns: dict[str, list[Any]], result: Result) -> None:
    for f in result.findings:
        columns["visit_id"].append(result.visit_id)
        columns["unit_id"].append(result.unit_id)
        columns["unit_name"].append(result.unit_name)
        columns["unit_level"].append(result.unit_level)
        columns["province"].append(result.province)
        columns["visit_date"].append(result.visit_date)
        columns["inspected_at"].append(result.inspected_at)
        columns["check"].append(f.check)
        columns["rule"].append(f.rule)
        columns["severity"].append(f.severity)
        columns["subject_type"].append(f.subject.type)
        columns["subject_id"].append(f.subject.id)
        columns["message_vi"].append(f.message["vi"])
        columns["message_en"].append(f.message["en"])
        columns["sanctions"].append(",".join(s.code for s in f.sanctions))
        columns["repeat_count"].append(len(f.repeat_of))
        columns["rule_version_from"].append(f.rule_version["effective_from"])
        columns["grade"].append(result.grade.code)


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
