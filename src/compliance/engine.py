"""Evaluate a visit against a ruleset: findings, grade and recommended sanctions.

Evaluation is pure: a visit, its history and a ruleset in, a result out; the same inputs give
the same result, in any thread. The engine imports no check: it runs whatever the plugin
manager found, with the rule versions in force on the visit's local date.
"""

from __future__ import annotations

import calendar as _calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .calendar import DayCache, parse_offset, working_time
from .check import Check, Context, Observation
from .common import Severity, Values
from .errors import InputError, PluginError, Problem
from .plugins import CheckInfo, installed_checks
from .result import Finding, Grade, PriorFinding, Result, RulesetRef, Sanction, SanctionRef, Subject
from .ruleset.loader import Ruleset, load_ruleset
from .ruleset.model import GradingVersion, RuleVersion
from .sanctions.policy import Recommendation, SanctionPolicy
from .validation import problems as validation_problems
from .visit import Official, Visit

_TARGET_ORDER = {"official": 0, "unit": 1, "unit_head": 2}
_SUBJECT_ORDER = {"official": 0, "unit": 1}
_PLAIN = frozenset({str, int, float, bool, type(None)})


def parse_visit(data: Visit | Mapping[str, Any] | str | bytes, *, source: str | None = None) -> Visit:
    """A validated visit from a model, a dict or JSON text; InputError names every bad field."""
    if isinstance(data, Visit):
        return data
    try:
        if isinstance(data, (str, bytes)):
            return Visit.model_validate_json(data)
        return Visit.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, Visit, source=source)) from None


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


class Engine:
    """A loaded ruleset and the installed checks, ready to evaluate visits. Immutable."""

    def __init__(self, ruleset: Ruleset, checks: Sequence[CheckInfo | Check]):
        infos = [c if isinstance(c, CheckInfo) else CheckInfo(c, type(c).__module__, type(c).__module__, None, None) for c in checks]
        self.ruleset = ruleset
        self.checks: tuple[CheckInfo, ...] = tuple(sorted(infos, key=lambda i: i.check.id))
        self.policy = SanctionPolicy(ruleset.sanctions, {i.check.id: list(i.check.rules) for i in self.checks})
        self._tz = parse_offset(ruleset.calendar.utc_offset)
        self._thresholds: dict[tuple[int, str], dict[str, Any]] = {}
        self._days: DayCache = {}
        self._version_meta: dict[int, tuple[list[dict[str, Any]], dict[str, str | None]]] = {}
        for by_rule in ruleset.rules.values():
            for versions in by_rule.values():
                for v in versions:
                    self._version_meta[id(v)] = (
                        [ref.model_dump(include={"document", "article"}, exclude_none=True) for ref in v.legal_basis],
                        {
                            "effective_from": v.effective_from.isoformat(),
                            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                        },
                    )

    @classmethod
    def load(
        cls,
        rules: str | Path | None = None,
        *,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
    ) -> Engine:
        """Discover the installed checks and load the ruleset (the base one by default)."""
        checks = installed_checks(list(plugins), entry_points=entry_points)
        ruleset = load_ruleset(rules, [c.check for c in checks])
        return cls(ruleset, checks)

    def evaluate(
        self,
        visit: Visit | Mapping[str, Any] | str | bytes,
        *,
        history: Iterable[PriorFinding] = (),
        as_of: date | None = None,
    ) -> Result:
        """Evaluate one visit. `history` holds the subjects' earlier findings; `as_of` picks
        the rules of another date than the visit's own."""
        visit = parse_visit(visit)
        moment = visit.inspected_at.astimezone(self._tz)
        visit_date = moment.date()
        rules_date = as_of or visit_date
        snapshot = self.ruleset.in_force(rules_date)
        working = working_time(self.ruleset.in_force(visit_date).calendar, moment, self._days)
        officials = {o.id: o for o in visit.personnel}
        unit_values = {"unit_id": visit.unit.id, "unit_name": visit.unit.name, "unit_level": visit.unit.level.value}
        repeats = _HistoryIndex(history, visit.unit.id, visit_date, self.policy)

        decided: list[tuple[Finding, tuple[Recommendation, ...]]] = []
        for info in self.checks:
            check = info.check
            in_force = snapshot.rules.get(check.id, {})
            if not in_force:
                continue
            ctx = Context(
                rules_date=rules_date,
                local_moment=moment,
                working=working,
                thresholds_by_rule=self._thresholds_of(snapshot, check.id, in_force),
            )
            for obs in self._observe(info, visit, ctx, officials):
                version = in_force.get(obs.rule) if isinstance(obs, Observation) else None
                if version is None:
                    continue
                decided.append(self._finding(info, obs, version, officials, unit_values, rules_date, repeats))
        decided.sort(key=lambda d: (d[0].check, d[0].rule, _SUBJECT_ORDER[d[0].subject.type], d[0].subject.id))
        findings = [f for f, _ in decided]
        return Result(
            visit_id=visit.visit_id,
            unit_id=visit.unit.id,
            unit_level=visit.unit.level.value,
            inspected_at=visit.inspected_at.isoformat(),
            visit_date=visit_date.isoformat(),
            ruleset=RulesetRef(self.ruleset.name, self.ruleset.version, rules_date.isoformat(), self.ruleset.digest),
            grade=_grade(snapshot.grading, findings),
            findings=tuple(findings),
            sanctions=_visit_sanctions(decided),
            unit_name=visit.unit.name,
            province=visit.unit.province,
        )

    def _thresholds_of(self, snapshot: Any, check_id: str, in_force: Mapping[str, RuleVersion[Any]]) -> dict[str, Any]:
        key = (id(snapshot), check_id)
        cached = self._thresholds.get(key)
        if cached is None:
            cached = self._thresholds[key] = {rule: v.thresholds for rule, v in in_force.items()}
        return cached

    def _observe(
        self, info: CheckInfo, visit: Visit, ctx: Context, officials: Mapping[str, Official]
    ) -> list[Observation]:
        check = info.check
        try:
            observed = list(check.evaluate(visit, ctx) or ())
        except Exception as exc:  # noqa: BLE001 - a failing plugin is reported by name, never skipped
            raise PluginError(
                [Problem("plugin_failed", {"plugin": info.plugin, "check": check.id, "detail": f"{type(exc).__name__}: {exc}"})]
            ) from exc
        for obs in observed:
            detail = None
            if not isinstance(obs, Observation):
                detail = f"{obs!r} is not an Observation"
            elif obs.rule not in check.rules:
                detail = f"unknown rule '{obs.rule}'"
            elif not isinstance(obs.subject_id, str) or not obs.subject_id:
                detail = f"subject id {obs.subject_id!r} of '{obs.rule}' is not a non-empty string"
            elif not isinstance(obs.evidence, Mapping):
                detail = f"evidence of '{obs.rule}' is not a mapping"
            elif obs.severity is not None and not isinstance(obs.severity, Severity):
                detail = f"severity {obs.severity!r} of '{obs.rule}' is not a Severity"
            elif check.rules[obs.rule].subject == "official" and obs.subject_id not in officials:
                detail = f"'{obs.rule}' names official '{obs.subject_id}' who is not in the visit"
            elif check.rules[obs.rule].subject == "unit" and obs.subject_id != visit.unit.id:
                detail = f"'{obs.rule}' names unit '{obs.subject_id}' but the visit is to '{visit.unit.id}'"
            else:
                bad = [k for k, v in obs.evidence.items() if type(k) is not str or type(v) not in _PLAIN]
                if bad:
                    detail = f"evidence '{bad[0]}' of '{obs.rule}' is not a plain value (text, number, true/false, null)"
            if detail:
                raise PluginError([Problem("plugin_bad_finding", {"plugin": info.plugin, "check": check.id, "detail": detail})])
        return observed

    def _finding(
        self,
        info: CheckInfo,
        obs: Observation,
        version: RuleVersion[Any],
        officials: Mapping[str, Official],
        unit_values: dict[str, Any],
        rules_date: date,
        repeats: _HistoryIndex,
    ) -> tuple[Finding, tuple[Recommendation, ...]]:
        check = info.check
        subject_type = check.rules[obs.rule].subject
        severity = obs.severity or version.severity
        evidence = dict(obs.evidence)
        values = Values(unit_values)
        category: str | None = None
        leader = False
        if subject_type == "official":
            official = officials[obs.subject_id]
            category = official.category.value if official.category else None
            leader = self.policy.is_leader(official.position, official.leader)
            for key, value in (("official_name", official.name), ("position", official.position), ("category", category)):
                if value is not None:
                    evidence.setdefault(key, value)
            values["official_id"] = official.id
        values.update(evidence)
        rule_key = f"{check.id}.{obs.rule}"
        earlier = repeats.earlier(subject_type, obs.subject_id, rule_key, check.id)
        recommendations = self.policy.decide(
            rule_key, severity, subject_type, category, leader, rules_date, len(earlier)
        )
        legal_basis, rule_version = self._version_meta[id(version)]
        subject_ids = {"official": obs.subject_id, "unit": unit_values["unit_id"], "unit_head": unit_values["unit_id"]}
        finding = Finding(
            check=check.id,
            rule=obs.rule,
            severity=severity.value,
            subject=Subject(subject_type, obs.subject_id),
            evidence=evidence,
            message=version.message.render(values),
            legal_basis=legal_basis,
            rule_version=rule_version,
            sanctions=tuple(SanctionRef(r.code, r.target, subject_ids[r.target], r.policy) for r in recommendations),
            repeat_of=earlier,
        )
        return finding, recommendations


class _HistoryIndex:
    """Earlier findings of this visit's subjects within the policy's look-back window."""

    def __init__(self, history: Iterable[PriorFinding], unit_id: str, visit_date: date, policy: SanctionPolicy):
        self._by_key: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self._scope = policy.repeat_scope
        start = months_before(visit_date, policy.lookback_months)
        for prior in history:
            if prior.unit_id != unit_id or not (start <= prior.date < visit_date):
                continue
            scope = prior.rule if self._scope == "rule" else prior.rule.partition(".")[0]
            self._by_key[(prior.subject_type, prior.subject_id, scope)].add(prior.visit_id)

    def earlier(self, subject_type: str, subject_id: str, rule_key: str, check_id: str) -> tuple[str, ...]:
        if not self._by_key:
            return ()
        scope = rule_key if self._scope == "rule" else check_id
        return tuple(sorted(self._by_key.get((subject_type, subject_id, scope), ())))


def _grade(grading: GradingVersion | None, findings: Sequence[Finding]) -> Grade:
    if grading is None:
        return Grade("ungraded", {"vi": "chưa xếp loại", "en": "not graded"}, 0, None)
    points = 0
    worst: Severity | None = None
    for f in findings:
        severity = Severity(f.severity)
        points += grading.points[severity]
        if worst is None or severity.rank > worst.rank:
            worst = severity
    for band in grading.bands:
        if band.max_points is not None and points > band.max_points:
            continue
        if band.max_severity is not None and worst is not None and worst.rank > band.max_severity.rank:
            continue
        return Grade(band.grade, {"vi": band.label.vi, "en": band.label.en}, points, worst.value if worst else None)
    raise AssertionError("grading validation guarantees a catch-all band")


def _visit_sanctions(decided: Sequence[tuple[Finding, tuple[Recommendation, ...]]]) -> tuple[Sanction, ...]:
    """The visit's sanctions: one per (target, subject, code), naming every finding behind it.

    A fine stays one entry per offence, since each offence carries its own range.
    """
    merged: dict[tuple[str, str, str, str], Sanction] = {}
    for finding, recommendations in decided:
        for rec, ref in zip(recommendations, finding.sanctions):
            key = (rec.target, ref.subject_id, rec.code, finding.key if rec.fine else "")
            prev = merged.get(key)
            if prev is None:
                merged[key] = Sanction(
                    code=rec.code,
                    target=rec.target,
                    subject_id=ref.subject_id,
                    policy=rec.policy,
                    reason=rec.reason,  # type: ignore[arg-type]
                    fine=rec.fine,  # type: ignore[arg-type]
                    replaces=rec.replaces,
                    escalated_by=finding.repeat_of,
                    because=(finding.key,),
                )
            else:
                merged[key] = Sanction(
                    code=prev.code,
                    target=prev.target,
                    subject_id=prev.subject_id,
                    policy=prev.policy,
                    reason=prev.reason,
                    fine=prev.fine,
                    replaces=prev.replaces or rec.replaces,
                    escalated_by=tuple(sorted(set(prev.escalated_by) | set(finding.repeat_of))),
                    because=tuple(sorted(set(prev.because) | {finding.key})),
                )
    return tuple(merged[k] for k in sorted(merged, key=lambda k: (_TARGET_ORDER[k[0]], k[1], k[2], k[3])))
