"""The batch summary: counts of the contract (visits, units by level, distinct subjects by
rule, findings by severity, sanctions by code, errors), broken down by level, month and
province.

Subjects are scoped to their unit and a unit's visits are all in one partition, so each
partition counts its distinct subjects alone and partial summaries simply add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ..check import Check, titles_by_rule_key
from ..common import Severity
from ..result import Evaluation

TOP_UNITS = 20
MAX_PLAN_REFS = 50
NO_PROVINCE = "—"
"""The by_province key of visits whose unit has no province (a report names no province for it)."""
_SEVERITY_RANK = {s.value: s.rank for s in Severity}


_BLOCK_METRICS = ("subjects_by_rule", "findings_by_rule", "findings_by_severity", "sanctions_by_code")


class SummaryBuilder:
    """Accumulates the summary of one partition, one unit's results at a time.

    Counts are kept per combination of (level, month, province) and spread over the
    breakdowns once, in `partial`: a finding costs two dict updates instead of eight.
    Subjects and units are counted once per scope even when a unit has several visits.
    """

    def __init__(self, level_periods: Sequence[str] = ()) -> None:
        """`level_periods`: the first days of the periods between reforms of the unit levels
        (ISO dates, e.g. the 2025-07-01 abolition of the district level), whose units are
        counted by level apart."""
        self.level_periods = sorted(level_periods)
        self._periods: dict[str, str] = {}
        self.by_ruleset: dict[str, int] = {}
        self.levels_by_period: dict[str, dict[str, int]] = {}
        self.visits = 0
        self.findings = 0
        self.combos: Counter[tuple[str, str, str, str, str]] = Counter()
        self.scoped: dict[tuple[Any, str, str], int] = {}
        self.grades: dict[str, int] = {}
        self.levels: dict[str, int] = {}
        self.period: list[str] = []
        self.plan_refs: set[str] = set()
        self.units: list[dict[str, Any]] = []

    def add_unit(self, evaluations: Sequence[Evaluation], plan_refs: Iterable[str | None] = ()) -> None:
        """All evaluations of one unit (so that its distinct subjects can be counted), from what
        each says of its findings and sanctions, without reading its result again."""
        if not evaluations:
            return
        combos = self.combos
        single = len(evaluations) == 1
        subjects: set[tuple[str, str, str, str, str, str]] = set()
        scopes_seen: set[tuple[str, str, str]] = set()
        levels: set[str] = set()
        worst = 0
        findings = 0
        for ref in plan_refs:
            if ref and len(self.plan_refs) < MAX_PLAN_REFS:
                self.plan_refs.add(ref)
        periods: set[tuple[str, str]] = set()
        keys: list[tuple[str, str, str, str, str]] = []
        for evaluation in evaluations:
            r = evaluation.data
            self.visits += 1
            level = r["unit_level"]
            levels.add(level)
            name = evaluation.ruleset
            self.by_ruleset[name] = self.by_ruleset.get(name, 0) + 1
            day = r["visit_date"]
            if self.level_periods:
                periods.add((self._period(day), level))
            if not self.period:
                self.period = [day, day]
            elif day < self.period[0]:
                self.period[0] = day
            elif day > self.period[1]:
                self.period[1] = day
            grade = r["grade"]["code"]
            self.grades[grade] = self.grades.get(grade, 0) + 1
            month = day[:7]
            province = r["province"] or NO_PROVINCE
            scopes_seen.add((level, month, province))
            keys.append((level, month, province, "visits", ""))
            keys.extend([(level, month, province, "sanctions_by_code", code) for code in evaluation.sanction_codes])
            for rule, _, severity, subject_type, subject_id in evaluation.findings:
                findings += 1
                rank = _SEVERITY_RANK[severity]
                if rank > worst:
                    worst = rank
                keys.append((level, month, province, "findings_by_rule", rule))
                keys.append((level, month, province, "findings_by_severity", severity))
                if single:
                    # One visit holds each (rule, subject) once: its subjects are its findings.
                    keys.append((level, month, province, "subjects_by_rule", rule))
                else:
                    subjects.add((level, month, province, rule, subject_type, subject_id))
        combos.update(keys)
        self.findings += findings
        for level in levels:
            self.levels[level] = self.levels.get(level, 0) + 1
        for period, level in periods:
            block = self.levels_by_period.setdefault(period, {})
            block[level] = block.get(level, 0) + 1
        if single:
            level, month, province = next(iter(scopes_seen))
            combos[(level, month, province, "units", "")] += 1
        else:
            self._count_distinct(subjects, scopes_seen)
        last = evaluations[-1].data
        self.units.append(
            {
                "unit_id": last["unit_id"],
                "unit_name": last["unit_name"],
                "unit_level": last["unit_level"],
                "province": last["province"],
                "visits": len(evaluations),
                "findings": findings,
                "worst_severity": next((s.value for s in Severity if s.rank == worst), None),
            }
        )
        if len(self.units) > 4 * TOP_UNITS:
            self.units = _top(self.units)

    def _count_distinct(self, subjects: AbstractSet[tuple[str, ...]], scopes: set[tuple[str, str, str]]) -> None:
        """Subjects and the unit itself, once per scope, for a unit visited several times."""
        scoped = self.scoped
        levels = {level for level, _, _ in scopes}
        provinces = {province for _, _, province in scopes}
        if len(levels) == 1 and len(provinces) == 1:
            # The usual case: one level and province, so the whole-batch, level and province
            # scopes see the same distinct subjects; only the months differ.
            (level,) = levels
            (province,) = provinces
            wide: dict[str, int] = {}
            for rule, _, _ in {(rule, kind, subject) for _, _, _, rule, kind, subject in subjects}:
                wide[rule] = wide.get(rule, 0) + 1
            for scope in ("", ("by_level", level), ("by_province", province)):
                for rule, n in wide.items():
                    key = (scope, "subjects_by_rule", rule)
                    scoped[key] = scoped.get(key, 0) + n
                key = (scope, "units", "")
                scoped[key] = scoped.get(key, 0) + 1
            for _, month, _, rule, _, _ in subjects:
                key = (("by_month", month), "subjects_by_rule", rule)
                scoped[key] = scoped.get(key, 0) + 1
            for month in {month for _, month, _ in scopes}:
                key = (("by_month", month), "units", "")
                scoped[key] = scoped.get(key, 0) + 1
            return
        per_scope: set[tuple[Any, str, str]] = set()
        for level, month, province, rule, kind, subject in subjects:
            for scope in _scopes(level, month, province):
                per_scope.add((scope, rule, kind + "\0" + subject))
        for scope, rule, _ in per_scope:
            key = (scope, "subjects_by_rule", rule)
            scoped[key] = scoped.get(key, 0) + 1
        unit_scopes = {scope for combo in scopes for scope in _scopes(*combo)}
        for scope in unit_scopes:
            key = (scope, "units", "")
            scoped[key] = scoped.get(key, 0) + 1

    def _period(self, day: str) -> str:
        """The label of the period `day` falls in: '…2025-06-30' or '2025-07-01…'."""
        label = self._periods.get(day)
        if label is None:
            label = self._periods[day] = self._period_of(day)
        return label

    def _period_of(self, day: str) -> str:
        import bisect
        from datetime import date, timedelta

        bounds = self.level_periods
        i = bisect.bisect_right(bounds, day)
        start = bounds[i - 1] if i > 0 else ""
        end = (date.fromisoformat(bounds[i]) - timedelta(days=1)).isoformat() if i < len(bounds) else ""
        return f"{start}…{end}"

    def partial(self) -> dict[str, Any]:
        """A JSON-ready partial summary that `combine` adds to others."""
        out: dict[str, Any] = {
            "visits": self.visits,
            "findings": self.findings,
            "visits_by_ruleset": dict(self.by_ruleset),
            "units_by_level_period": {k: dict(v) for k, v in self.levels_by_period.items()},
            "units_by_level": dict(self.levels),
            "grades": dict(self.grades),
            **{metric: {} for metric in _BLOCK_METRICS},
            "by_level": {},
            "by_month": {},
            "by_province": {},
            "period": self.period,
            "plan_refs": sorted(self.plan_refs),
            "top_units": _top(self.units),
        }

        def add(scope: Any, metric: str, name: str, n: int) -> None:
            if scope == "":
                if metric not in ("visits", "units"):
                    out[metric][name] = out[metric].get(name, 0) + n
                return
            kind, key = scope
            block = out[kind].get(key)
            if block is None:
                block = out[kind][key] = {"visits": 0, "units": 0, **{m: {} for m in _BLOCK_METRICS}}
            if metric in ("visits", "units"):
                block[metric] += n
            else:
                block[metric][name] = block[metric].get(name, 0) + n

        for (level, month, province, metric, name), n in self.combos.items():
            for scope in _scopes(level, month, province):
                add(scope, metric, name, n)
        for (scope, metric, name), n in self.scoped.items():
            add(scope, metric, name, n)
        return out


def _scopes(level: str, month: str, province: str) -> tuple[Any, ...]:
    return ("", ("by_level", level), ("by_month", month), ("by_province", province))


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
                    "sanctions_by_code", "grades", "by_level", "by_month", "by_province", "visits_by_ruleset",
                    "units_by_level_period"):
            _add(counts.setdefault(key, {}), part.get(key, {}))
        if part["period"]:
            period = part["period"] if not period else [min(period[0], part["period"][0]), max(period[1], part["period"][1])]
        plan_refs.update(part["plan_refs"])
        units = _top(units + part["top_units"])
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
    if counts.get("units_by_level_period"):
        summary["units_by_level_period"] = _sorted(counts["units_by_level_period"])
    if counts.get("visits_by_ruleset"):
        summary["visits_by_ruleset"] = _sorted(counts["visits_by_ruleset"])
    return summary


def rule_titles(checks: Iterable[Check], rules: Iterable[str]) -> dict[str, dict[str, str]]:
    """The names the checks give the counted rules ("check.rule": {"vi", "en"}), kept in the
    summary so that a report made where a plugin is not installed still names its rules."""
    titles = titles_by_rule_key(checks)
    return {key: titles[key] for key in sorted(set(rules) & titles.keys())}
