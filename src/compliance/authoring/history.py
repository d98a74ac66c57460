"""Earlier findings for escalation, read from files of earlier results or of prior findings.

Each record of a history file (JSONL, JSON array or YAML documents) is either

- an earlier visit's result in the exchange contract's shape (`visit_id`, `unit_id`,
  `inspected_at` or `visit_date`, `findings: [{check, rule, subject: {type, id}}]`), or
- one prior finding: `{visit_id, date, unit_id, subject_type, subject_id, rule: "check.rule"}`
  (`subject` is accepted for `subject_id`, as in case files).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson

from ..errors import InputError, Problem
from ..io import read_path
from ..result import PriorFinding


def read_history(paths: Iterable[str | Path], tz: tzinfo | None = None) -> list[PriorFinding]:
    """Every prior finding in the files; InputError lists every bad record with its place."""
    found: list[PriorFinding] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            for record in read_path(path):
                if record.problem is not None:
                    problems.append(record.problem)
                    continue
                try:
                    data = orjson.loads(record.raw) if record.raw is not None else record.data
                except orjson.JSONDecodeError as exc:
                    problems.append(Problem("bad_json", {"detail": str(exc)}, **record.where()))
                    continue
                try:
                    found.extend(prior_findings(data, tz))
                except ValueError as exc:
                    problems.append(Problem("invalid_value", {"detail": str(exc)}, **record.where()))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return found


def prior_findings(data: Any, tz: tzinfo | None = None) -> Iterator[PriorFinding]:
    """The prior findings one record stands for (ValueError says what is wrong with it)."""
    if not isinstance(data, Mapping):
        raise ValueError("a history record must be an object (a result or a prior finding)")  # noqa: TRY004 - reported as bad input
    if "findings" in data:
        visit_id = _text(data, "visit_id")
        unit_id = _text(data, "unit_id")
        day = _day(data, tz)
        findings = data["findings"]
        if not isinstance(findings, list):
            raise ValueError("'findings' must be a list")
        for f in findings:
            if not isinstance(f, Mapping) or not isinstance(f.get("subject"), Mapping):
                raise ValueError("each finding needs 'check', 'rule' and 'subject: {type, id}'")  # noqa: TRY004
            subject = f["subject"]
            yield PriorFinding(
                visit_id, day, unit_id, _text(subject, "type"), _text(subject, "id"), f"{_text(f, 'check')}.{_text(f, 'rule')}"
            )
        return
    rule = _text(data, "rule")
    if "." not in rule:
        raise ValueError(f"'rule' must be 'check.rule', found '{rule}'")
    subject_id = data.get("subject_id", data.get("subject"))
    if not isinstance(subject_id, str) or not subject_id:
        raise ValueError("a prior finding needs 'subject_id'")
    yield PriorFinding(
        _text(data, "visit_id"),
        _day(data, tz),
        _text(data, "unit_id"),
        str(data.get("subject_type") or "official"),
        subject_id,
        rule,
    )


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{key}' is missing or not text")
    return value


def _day(data: Mapping[str, Any], tz: tzinfo | None) -> date:
    for key in ("date", "visit_date"):
        value = data.get(key)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{key}' is not a date YYYY-MM-DD: '{value}'") from None
    value = data.get("inspected_at")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'inspected_at' is not an ISO 8601 time: '{value}'") from None
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz and value.tzinfo else value).date()
    raise ValueError("the record has no 'date', 'visit_date' or 'inspected_at'")


__all__ = ["prior_findings", "read_history"]
