"""The batch summary: counts of the contract (visits, units by level, distinct subjects by
rule, findings by severity, sanctions by code, errors), broken down by level, month and
province.

Subjects are scoped to their unit and a unit's visits are all in one partition, so each
partition counts its distinct subjects alone and partial summaries simply add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..common import Severity
from ..result import Result

TOP_UNITS = 20
MAX_PLAN_REFS = 50
_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def _block() -> dict[str, Any]:
    return {
        "visits": 0,
        "units": 0,
        "subjects_by_rule": Counter(),
        "findings_by_rule": Counter(),
        "findings_by_severity": Counter(),
        "sanctions_by_code": Counter(),
    }


class SummaryBuilder:
    """Accumulates the summary of one partition, one unit's results at a time."""

    def __init__(self) -> None:
        self.visits = 0
        self.findings = 0
        self.units_by_level: Counter[str] = Counter()
        self.subjects_by_rule: Counter[str] = Counter()
        self.findings_by_rule: Counter[str] = Counter()
        self.findings_by_severity: Counter[str] = Counter()
        self.sanctions_by_code: Counter[str] = Counter()
        self.grades: Counter[str] = Counter()
        self.period: list[str] = []
        self.plan_refs: set[str] = set()
        self.by: dict[str, dict[str, dict[str, Any]]] = {"by_level": {}, "by_month": {}, "by_province": {}}
        self.units: list[dict[str, Any]] = []

    def add_unit(self, results: Sequence[Result], plan_refs: Iterable[str | None] = ()) -> None:
        """All results of one unit (so that its distinct subjects can be counted)."""
        if not results:
            return
        subjects: set[tuple[str, str, str]] = set()
        keyed_subjects: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
        keyed_units: set[tuple[str, str]] = set()
        levels: set[str] = set()
        worst = 0
        findings = 0
        for ref in plan_refs:
            if ref and len(self.plan_refs) < MAX_PLAN_REFS:
                self.plan_refs.add(ref)
        for r in results:
            self.visits += 1
            levels.add(r.unit_level)
            self.grades[r.grade.code] += 1
            day = r.visit_date
            if not self.period:
                self.period = [day, day]
            elif day < self.period[0]:
                self.period[0] = day
            elif day > self.period[1]:
                self.period[1] = day
            by_rule: dict[str, int] = {}
            by_severity: dict[str, int] = {}
            by_code: dict[str, int] = {}
            visit_subjects = set()
            for s in r.sanctions:
                by_code[s.code] = by_code.get(s.code, 0) + 1
            for f in r.findings:
                rule = f"{f.check}.{f.rule}"
                by_rule[rule] = by_rule.get(rule, 0) + 1
                by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
                worst = max(worst, _SEVERITY_RANK[f.severity])
                visit_subjects.add((rule, f.subject.type, f.subject.id))
            findings += len(r.findings)
            subjects |= visit_subjects
            self.findings_by_rule.update(by_rule)
            self.findings_by_severity.update(by_severity)
            self.sanctions_by_code.update(by_code)
            for kind, key in (("by_level", r.unit_level), ("by_month", day[:7]), ("by_province", r.province or "—")):
                block = self.by[kind].get(key)
                if block is None:
                    block = self.by[kind][key] = _block()
                block["visits"] += 1
                block["findings_by_rule"].update(by_rule)
                block["findings_by_severity"].update(by_severity)
                block["sanctions_by_code"].update(by_code)
                keyed_units.add((kind, key))
                if visit_subjects:
                    keyed = keyed_subjects.get((kind, key))
                    if keyed is None:
                        keyed_subjects[(kind, key)] = set(visit_subjects)
                    else:
                        keyed |= visit_subjects
        self.findings += findings
        for level in levels:
            self.units_by_level[level] += 1
        for rule, _, _ in subjects:
            self.subjects_by_rule[rule] += 1
        for (kind, key), subs in keyed_subjects.items():
            counter = self.by[kind][key]["subjects_by_rule"]
            for rule, _, _ in subs:
                counter[rule] += 1
        for kind, key in keyed_units:
            self.by[kind][key]["units"] += 1
        last = results[-1]
        self.units.append(
            {
                "unit_id": last.unit_id,
                "unit_name": last.unit_name,
                "unit_level": last.unit_level,
                "province": last.province,
                "visits": len(results),
                "findings": findings,
                "worst_severity": next((s.value for s in Severity if s.rank == worst), None),
            }
        )
        if len(self.units) > 4 * TOP_UNITS:
            self.units = _top(self.units)

    def partial(self) -> dict[str, Any]:
        """A JSON-ready partial summary that `combine` adds to others."""
        return {
            "visits": self.visits,
            "findings": self.findings,
            "units_by_level": dict(self.units_by_level),
            "subjects_by_rule": dict(self.subjects_by_rule),
            "findings_by_rule": dict(self.findings_by_rule),
            "findings_by_severity": dict(self.findings_by_severity),
            "sanctions_by_code": dict(self.sanctions_by_code),
            "grades": dict(self.grades),
            "period": self.period,
            "plan_refs": sorted(self.plan_refs),
            **{kind: {k: {n: dict(v) if isinstance(v, Counter) else v for n, v in b.items()} for k, b in blocks.items()} for kind, blocks in self.by.items()},
            "top_units": _top(self.units),
        }


def _top(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(units, key=lambda u: (-u["findings"], u["unit_id"]))[:TOP_UNITS]


def _add(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, Mapping):
            _add(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    return value


def combine(partials: Iterable[Mapping[str, Any]], *, errors: int, ruleset: Mapping[str, Any]) -> dict[str, Any]:
    """The batch summary from the partitions' partial summaries, with sorted keys."""
    counts: dict[str, Any] = {}
    period: list[str] = []
    plan_refs: set[str] = set()
    units: list[dict[str, Any]] = []
    visits = findings = 0
    for part in partials:
        visits += part["visits"]
        findings += part["findings"]
        for key in ("units_by_level", "subjects_by_rule", "findings_by_rule", "findings_by_severity",
                    "sanctions_by_code", "grades", "by_level", "by_month", "by_province"):
            _add(counts.setdefault(key, {}), part.get(key, {}))
        if part["period"]:
            period = part["period"] if not period else [min(period[0], part["period"][0]), max(period[1], part["period"][1])]
        plan_refs.update(part["plan_refs"])
        units.extend(part["top_units"])
    summary: dict[str, Any] = {
        "visits": visits,
        "errors": errors,
        "findings": findings,
        **{key: _sorted(counts.get(key, {})) for key in ("units_by_level", "subjects_by_rule", "findings_by_rule",
                                                        "findings_by_severity", "sanctions_by_code", "grades",
                                                        "by_level", "by_month", "by_province")},
        "period": {"from": period[0], "to": period[1]} if period else None,
        "plan_refs": sorted(plan_refs)[:MAX_PLAN_REFS],
        "top_units": _top(units),
        "ruleset": dict(ruleset),
    }
    return summary
