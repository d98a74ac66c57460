"""The result of evaluating one visit, in the exchange contract's shape.

Plain frozen dataclasses: typed for embedders, serialised straight to JSON by orjson, and
described as JSON Schema by pydantic (`result_schema()`). The engine first builds a result as
the contract's JSON object (`Evaluation.data`), which is all a batch writes; `Result.from_data`
makes the typed objects of it for embedders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson


@dataclass(frozen=True)
class Subject:
    type: str
    id: str


@dataclass(frozen=True)
class SanctionRef:
    """A sanction recommended for one finding; the visit's `sanctions` give the full entry."""

    code: str
    target: str
    subject_id: str
    policy: str


@dataclass(frozen=True)
class Sanction:
    """A recommended sanction. The inspection team recommends; a competent authority decides."""

    code: str
    target: str
    subject_id: str
    policy: str
    reason: dict[str, str]
    fine: dict[str, Any] | None = None
    replaces: str | None = None
    escalated_by: tuple[str, ...] = ()
    because: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    check: str
    rule: str
    severity: str
    subject: Subject
    evidence: dict[str, Any]
    message: dict[str, str]
    legal_basis: list[dict[str, Any]]
    rule_version: dict[str, str | None]
    sanctions: tuple[SanctionRef, ...] = ()
    repeat_of: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.check}.{self.rule}"


@dataclass(frozen=True)
class Grade:
    code: str
    label: dict[str, str]
    points: int
    worst_severity: str | None


@dataclass(frozen=True)
class LayerRef:
    """A national base, or a province's overlay, by name, version and the digest of its own files."""

    name: str
    version: str
    digest: str


@dataclass(frozen=True)
class RulesetRef:
    """The ruleset a visit was evaluated with. For a province's overlay, `name` is the
    overlay's, `digest` covers it and its base, and `base`/`overlay` name each with its own."""

    name: str
    version: str
    as_of: str
    digest: str
    base: LayerRef | None = None
    overlay: LayerRef | None = None


@dataclass(frozen=True)
class Result:
    visit_id: str
    unit_id: str
    unit_level: str
    inspected_at: str
    visit_date: str
    ruleset: RulesetRef
    grade: Grade
    findings: tuple[Finding, ...]
    sanctions: tuple[Sanction, ...]
    unit_name: str | None = None
    province: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Result:
        """The typed result of the contract's JSON object as the engine builds it (sharing its
        values: the object is not to be changed afterwards)."""
        result = _made(cls, data)
        fields = result.__dict__
        ruleset = data["ruleset"]
        layers = {key: _made(LayerRef, ruleset[key]) if key in ruleset else None for key in ("base", "overlay")}
        fields["ruleset"] = _made(RulesetRef, {**ruleset, **layers})
        fields["grade"] = _made(Grade, data["grade"])
        fields["findings"] = tuple([_finding(f) for f in data["findings"]])
        fields["sanctions"] = tuple([_made(Sanction, s) for s in data["sanctions"]])
        return result

    def to_json(self) -> bytes:
        """The contract's JSON."""
        return orjson.dumps(_result_data(self))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.to_json())
        return data


@dataclass(frozen=True, slots=True)
class PriorFinding:
    """A finding from an earlier visit, given as history so that repeats escalate."""

    visit_id: str
    date: date
    unit_id: str
    subject_type: str
    subject_id: str
    rule: str = field(metadata={"description": "'check.rule'"})


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One visit's result as the contract's JSON object, built without the typed objects, with
    what a batch counts and remembers of it: everything `compliance batch` needs."""

    data: dict[str, Any]
    """The result, as `Result.to_dict()` gives it (tuples where the JSON has short arrays)."""
    visit_date: date
    ruleset: str
    """The name of the ruleset the visit was evaluated with."""
    findings: tuple[tuple[str, str, str, str, str], ...]
    """('check.rule', check, severity, subject type, subject id) of each finding, in order."""
    sanction_codes: list[str]
    """The code of each of the visit's sanctions, in order."""

    def to_json(self) -> bytes:
        """The same bytes as `Result.to_json()` of the same visit."""
        return orjson.dumps(self.data)

    def result(self) -> Result:
        return Result.from_data(self.data)


_new = object.__new__


def _made(cls: type[Any], fields: dict[str, Any]) -> Any:
    """An instance of the frozen dataclass `cls` with `fields` (all of them, in field order):
    five times cheaper than its __init__, which sets each field through object.__setattr__."""
    made = _new(cls)
    made.__dict__.update(fields)
    return made


def _finding(data: dict[str, Any]) -> Finding:
    finding = _made(Finding, data)
    fields = finding.__dict__
    fields["subject"] = _made(Subject, data["subject"])
    fields["sanctions"] = tuple([_made(SanctionRef, r) for r in data["sanctions"]])
    return finding  # type: ignore[no-any-return]


def sanction_data(s: Sanction) -> dict[str, Any]:
    """A sanction as the contract's JSON object (shared values, for serialising)."""
    return {
        "code": s.code,
        "target": s.target,
        "subject_id": s.subject_id,
        "policy": s.policy,
        "reason": s.reason,
        "fine": s.fine,
        "replaces": s.replaces,
        "escalated_by": s.escalated_by,
        "because": s.because,
    }


def _result_data(r: Result) -> dict[str, Any]:
    ruleset = r.ruleset
    grade = r.grade
    return {
        "visit_id": r.visit_id,
        "unit_id": r.unit_id,
        "unit_level": r.unit_level,
        "inspected_at": r.inspected_at,
        "visit_date": r.visit_date,
        "ruleset": _ruleset_data(ruleset),
        "grade": {"code": grade.code, "label": grade.label, "points": grade.points, "worst_severity": grade.worst_severity},
        "findings": [
            {
                "check": f.check,
                "rule": f.rule,
                "severity": f.severity,
                "subject": {"type": f.subject.type, "id": f.subject.id},
                "evidence": f.evidence,
                "message": f.message,
                "legal_basis": f.legal_basis,
                "rule_version": f.rule_version,
                "sanctions": [
                    {"code": s.code, "target": s.target, "subject_id": s.subject_id, "policy": s.policy} for s in f.sanctions
                ],
                "repeat_of": f.repeat_of,
            }
            for f in r.findings
        ],
        "sanctions": [sanction_data(s) for s in r.sanctions],
        "unit_name": r.unit_name,
        "province": r.province,
    }


def _ruleset_data(ref: RulesetRef) -> dict[str, Any]:
    data: dict[str, Any] = {"name": ref.name, "version": ref.version, "as_of": ref.as_of, "digest": ref.digest}
    for key, layer in (("base", ref.base), ("overlay", ref.overlay)):
        if layer is not None:
            data[key] = {"name": layer.name, "version": layer.version, "digest": layer.digest}
    return data


def history_from(result: Result | dict[str, Any]) -> list[PriorFinding]:
    """The history entries an evaluated visit contributes for later visits."""
    data = result.to_dict() if isinstance(result, Result) else result
    day = date.fromisoformat(data["visit_date"])
    return [
        PriorFinding(
            visit_id=data["visit_id"],
            date=day,
            unit_id=data["unit_id"],
            subject_type=f["subject"]["type"],
            subject_id=f["subject"]["id"],
            rule=f"{f['check']}.{f['rule']}",
        )
        for f in data["findings"]
    ]
