"""What the engine did for one visit, rule by rule: `Engine.evaluate(..., trace=True)`.

A trace is recorded while the visit is evaluated, not recomputed afterwards, so `compliance
explain` (which renders it) and `evaluate` cannot disagree: the working time the checks saw,
each rule's version and thresholds, the observation values each check reads, why a rule fired
or (where the check says) why it did not, and the sanction policies weighed for each finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from .check import Note, WorkingTime
from .common import Severity
from .result import Finding
from .ruleset.model import RuleVersion
from .sanctions.policy import ConditionCheck, PolicyMatch

Status = Literal["fired", "not_fired", "not_in_force"]
_RANK_TO_SEVERITY = {s.rank: s for s in Severity}


@dataclass(frozen=True, slots=True)
class FindingTrace:
    """One finding and how its sanctions were decided."""

    finding: Finding
    version_severity: str
    category: str | None
    leader: bool | None
    policies: tuple[PolicyMatch, ...]


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule of an installed check on this visit."""

    check: str
    rule: str
    subject: str
    summary: str
    evidence_keys: tuple[str, ...]
    status: Status
    version: RuleVersion[Any] | None
    versions: tuple[tuple[date, date | None], ...]
    findings: tuple[FindingTrace, ...]
    notes: tuple[Note, ...]

    @property
    def key(self) -> str:
        return f"{self.check}.{self.rule}"


@dataclass(frozen=True, slots=True)
class CheckTrace:
    """One installed check: its title and the observation values it declares and found set."""

    check: str
    title: Mapping[str, str]
    read: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Trace:
    visit_date: date
    rules_date: date
    local_time: str
    working: WorkingTime
    lookback_months: int
    history_records: int
    checks: tuple[CheckTrace, ...]
    rules: tuple[RuleTrace, ...]

    def to_dict(self) -> dict[str, Any]:
        """The trace as plain JSON data (what `compliance explain --format json` prints)."""
        working = self.working
        session = working.sessions[working.session_index] if working.session_index is not None else None
        return {
            "local_time": self.local_time,
            "visit_date": self.visit_date.isoformat(),
            "rules_date": self.rules_date.isoformat(),
            "working_time": {
                "working_day": working.working_day,
                "season": working.season,
                "in_working_hours": working.in_working_hours,
                "session": [_hhmm(session[0]), _hhmm(session[1])] if session else None,
                "sessions": [[_hhmm(a), _hhmm(b)] for a, b in working.sessions],
            },
            "lookback_months": self.lookback_months,
            "history_records": self.history_records,
            "checks": [{"check": c.check, "title": dict(c.title), "read": c.read} for c in self.checks],
            "rules": [_rule_dict(r) for r in self.rules],
        }


def _hhmm(value: Any) -> str:
    return str(value.strftime("%H:%M"))


def version_dict(v: RuleVersion[Any]) -> dict[str, Any]:
    return {
        "effective_from": v.effective_from.isoformat(),
        "effective_to": v.effective_to.isoformat() if v.effective_to else None,
        "severity": v.severity.value,
        "thresholds": v.thresholds.model_dump(mode="json"),
        "legal_basis": [ref.model_dump(mode="json", exclude_none=True) for ref in v.legal_basis],
        "note": v.note,
        "message": {"vi": v.message.vi, "en": v.message.en},
    }


def _rule_dict(r: RuleTrace) -> dict[str, Any]:
    return {
        "rule": r.key,
        "check": r.check,
        "subject": r.subject,
        "summary": r.summary,
        "evidence_keys": list(r.evidence_keys),
        "status": r.status,
        "version": version_dict(r.version) if r.version is not None else None,
        "versions": [
            {"effective_from": a.isoformat(), "effective_to": b.isoformat() if b else None} for a, b in r.versions
        ],
        "notes": [{"subject_id": n.subject_id, "message": dict(n.message), "values": dict(n.values)} for n in r.notes],
        "findings": [_finding_dict(f) for f in r.findings],
    }


def _finding_dict(t: FindingTrace) -> dict[str, Any]:
    f = t.finding
    return {
        "subject": {"type": f.subject.type, "id": f.subject.id},
        "severity": f.severity,
        "version_severity": t.version_severity,
        "category": t.category,
        "leader": t.leader,
        "evidence": f.evidence,
        "message": f.message,
        "legal_basis": f.legal_basis,
        "rule_version": f.rule_version,
        "repeat_of": list(f.repeat_of),
        "policies": [
            {
                "id": m.policy.id,
                "applies": m.matched,
                "reason": {"vi": m.policy.reason.vi, "en": m.policy.reason.en},
                "recommend": [{"code": r.code, "target": r.target} for r in m.policy.recommend],
                "conditions": [condition_dict(c) for c in m.conditions],
            }
            for m in t.policies
        ],
        "sanctions": [
            {"code": s.code, "target": s.target, "subject_id": s.subject_id, "policy": s.policy} for s in f.sanctions
        ],
    }


def condition_dict(c: ConditionCheck) -> dict[str, Any]:
    expected, actual = c.expected, c.actual
    if c.field == "day":
        expected = date.fromordinal(expected).isoformat()
        actual = date.fromordinal(actual).isoformat()
    elif c.field == "severity":
        expected = _RANK_TO_SEVERITY[expected].value
        actual = _RANK_TO_SEVERITY[actual].value
    elif c.field == "leader":
        expected = [bool(x) for x in expected]
        actual = bool(actual)
    elif isinstance(expected, (list, tuple)):
        expected = list(expected)
    return {"field": c.field, "op": c.op, "expected": expected, "actual": actual, "ok": c.ok}


__all__ = ["CheckTrace", "FindingTrace", "RuleTrace", "Trace", "condition_dict", "version_dict"]
