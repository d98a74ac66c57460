"""Evaluate a visit against a ruleset: findings, grade and recommended sanctions.

Evaluation is pure: a visit, its history and a ruleset in, a result out; the same inputs give
the same result, in any thread. The engine imports no check: it runs whatever the plugin
manager found, with the rule versions in force on the visit's local date.
"""

from __future__ import annotations

import calendar as _calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .calendar import DayCache, parse_offset, working_time
from .check import Check, Context, Note, Observation, WorkingTime
from .common import Severity, shown_value
from .errors import InputError, PluginError, Problem, hint_params
from .history import History
from .io import Record
from .observations import OFFICIAL, UTC_OFFSET, VISIT, WORKING_TIME, VisitFormat, compose
from .plugins import CheckInfo, installed_checks
from .result import Evaluation, Finding, PriorFinding, Result
from .ruleset.catalogue import Catalogue, load_catalogue
from .ruleset.loader import Ruleset
from .ruleset.model import GradingVersion, RuleVersion
from .sanctions.policy import Recommendation, SanctionPolicy
from .trace import CheckTrace, FindingTrace, RuleTrace, Trace
from .validation import describe, wrong_type, year_out_of_range
from .visit import (
    FIRST_YEAR,
    LAST_YEAR,
    Category,
    Code,
    Official,
    Visit,
)

_TARGET_ORDER = {"official": 0, "unit": 1, "unit_head": 2}
_SUBJECT_ORDER = {"official": 0, "unit": 1}
_PLAIN = frozenset({str, int, float, bool, type(None)})
_PLAIN_TEXT: dict[Any, str] = {m: m.value for m in (*Severity, *Category)}
"""Enum members as plain text, without the enum property lookup of `.value` on the hot path."""
_MAX_CACHED_DAYS = 40_000
"""Days whose working time and ruleset reference are kept: a century of visits, a few MB."""
_MAX_CACHED_ROUTES = 65_536


def checked_as_of(value: Any) -> date:
    """The date whose rules to apply instead of the visit's own: a date (or its ISO text) in the
    years a visit may have; InputError at `as_of` otherwise, never a bare exception."""
    day = value
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InputError([Problem("bad_date", {"found": describe(value)}, path="as_of")]) from None
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InputError([wrong_type("date", value).at(path="as_of")])
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError([year_out_of_range(str(day.year)).at(path="as_of")])
    return day


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _infos(checks: Sequence[CheckInfo | Check]) -> tuple[CheckInfo, ...]:
    infos = [c if isinstance(c, CheckInfo) else CheckInfo(c, type(c).__module__, type(c).__module__, None, None) for c in checks]
    return tuple(sorted(infos, key=lambda i: i.check.id))


class Engine:
    """The installed checks and the rules they are evaluated with, ready to evaluate visits.

    The rules are a catalogue (the national base and each province's overlay) or a single
    ruleset; every visit is evaluated with the ruleset of its unit's province on its local date.
    Immutable and thread-safe: load once, share between threads."""

    def __init__(self, rules: Ruleset | Catalogue, checks: Sequence[CheckInfo | Check]):
        self.checks: tuple[CheckInfo, ...] = _infos(checks)
        self.catalogue: Catalogue = rules if isinstance(rules, Catalogue) else Catalogue(rules.directory, (rules,))
        self.visit_format: VisitFormat = compose(self.checks)
        """The visit format of the installed checks: the core model with their observations."""
        self.visit_model: type[Visit] = self.visit_format.model
        self.rule_keys = frozenset(f"{i.check.id}.{rule}" for i in self.checks for rule in i.check.rules)
        """Every 'check.rule' the installed checks declare."""
        self._tz = parse_offset(self.catalogue.utc_offset)
        self._jurisdictions = {r.name: _Jurisdiction(r, self.checks, self.visit_format) for r in self.catalogue.rulesets}
        self._routes: dict[tuple[Any, ...], _Jurisdiction | InputError] = {}
        """Where visits go by (province, local date, merged into, level): every visit is routed
        when it is validated and again when it is evaluated."""
        self.parse_context: Mapping[str, Any] = {UTC_OFFSET: self._tz, WORKING_TIME: self._working_time_of}
        """What the visit format's validators may know of the jurisdiction (`compliance.observations`)."""

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        return self.catalogue.rulesets

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset in force earliest (the only one, for a single ruleset): what listings show
        when they show one; a visit is evaluated with its own (`ruleset_for`)."""
        return self.catalogue.primary

    @property
    def policy(self) -> SanctionPolicy:
        return self._jurisdictions[self.ruleset.name].policy

    @property
    def utc_offset(self) -> timezone:
        return self._tz

    @classmethod
    def load(
        cls,
        rules: str | Path | None = None,
        *,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
    ) -> Engine:
        """Discover the installed checks and load the rules: the catalogue shipped with the
        package by default, or the catalogue or single ruleset in `rules`."""
        checks = installed_checks(list(plugins), entry_points=entry_points)
        compose(checks)  # two plugins declaring one observation differently: said before their rules
        return cls(load_catalogue(rules, [c.check for c in checks]), checks)

    def parse_visit(self, data: Visit | Mapping[str, Any] | str | bytes, *, source: str | None = None) -> Visit:
        """A visit in this engine's format from a model, a dict or JSON text, that some ruleset
        here may evaluate; InputError names every bad field (a field no installed check reads, a
        province no ruleset covers on the visit's date, among them)."""
        return self._placed(data, source)[0]

    def _placed(self, data: Any, source: str | None = None) -> tuple[Visit, _Jurisdiction]:
        """The visit, validated, and the jurisdiction that evaluates it."""
        visit = self.visit_format.parse(data, source=source, context=self.parse_context)
        try:
            return visit, self._route(visit)
        except InputError as exc:
            raise InputError([p.at(file=source) for p in exc.problems]) from None

    def parse_record(self, record: Record) -> Visit:
        """The visit an input record holds, in this engine's format; InputError located at the record."""
        visit = record.parse(self.visit_format, self.parse_context)
        try:
            self._route(visit)
        except InputError as exc:
            raise InputError([p.at(**record.where()) for p in exc.problems]) from None
        return visit

    def ruleset_for(self, visit: Visit | Mapping[str, Any] | str | bytes) -> Ruleset:
        """The ruleset the visit is evaluated with (its unit's province, its local date)."""
        return self._route(self.parse_visit(visit)).ruleset

    def _route(self, visit: Visit) -> _Jurisdiction:
        day = visit.local_moment(self._tz).date()
        unit = visit.unit
        key = (unit.province, day, unit.merged_into, unit.level)
        routed = self._routes.get(key)
        if routed is None:
            try:
                route = self.catalogue.route(unit.province, day, unit.merged_into)
                problem = self.catalogue.level_problem(route.ruleset, unit.level.value, day)
                routed = InputError([problem]) if problem is not None else self._jurisdictions[route.ruleset.name]
            except InputError as exc:
                routed = exc
            if len(self._routes) >= _MAX_CACHED_ROUTES:
                self._routes.clear()  # a long-running service sees ever new dates
            self._routes[key] = routed
        if isinstance(routed, InputError):
            raise InputError(routed.problems)
        return routed

    def _working_time_of(self, visit: Any) -> WorkingTime | None:
        """The working time of a visit being validated, in its own jurisdiction's calendar; None
        when it cannot be placed (its routing problem is reported after validation)."""
        try:
            jurisdiction = self._route(visit)
        except (InputError, AttributeError):
            return None
        return jurisdiction.working_time(visit.local_moment(self._tz))

    def working_time(self, moment: datetime) -> WorkingTime:
        """Where a local moment falls in the working calendar of the earliest ruleset."""
        return self._jurisdictions[self.ruleset.name].working_time(moment)

    def evaluate(
        self,
        visit: Visit | Mapping[str, Any] | str | bytes,
        *,
        history: History | Iterable[PriorFinding] = (),
        as_of: date | None = None,
    ) -> Result:
        """Evaluate one visit. `history` holds the subjects' earlier findings (a `History`
        kept across a unit's visits saves re-indexing them); `as_of` picks the rules of
        another date than the visit's own."""
        parsed, jurisdiction = self._placed(visit)
        known = history if isinstance(history, History) else self.history(history)
        return jurisdiction.evaluate(parsed, known, as_of, False)[0]

    def evaluate_data(
        self,
        visit: Visit | Mapping[str, Any] | str | bytes,
        *,
        history: History | Iterable[PriorFinding] = (),
        as_of: date | None = None,
    ) -> Evaluation:
        """`evaluate`, giving the result as the exchange format's JSON object (`Evaluation.data`)
        instead of typed objects: what writing results out needs, at a fraction of the cost."""
        parsed, jurisdiction = self._placed(visit)
        known = history if isinstance(history, History) else self.history(history)
        return jurisdiction.evaluate_data(parsed, known, as_of)

    def evaluate_traced(
        self,
        visit: Visit | Mapping[str, Any] | str | bytes,
        *,
        history: History | Iterable[PriorFinding] = (),
        as_of: date | None = None,
    ) -> tuple[Result, Trace]:
        """`evaluate`, with a record of each rule's decision as it was taken (what `compliance
        explain` shows): the same result, and why."""
        parsed, jurisdiction = self._placed(visit)
        known = history if isinstance(history, History) else self.history(history)
        result, trace = jurisdiction.evaluate(parsed, known, as_of, True)
        assert trace is not None
        return result, trace

    def evaluate_under(
        self,
        name: str,
        visit: Visit | Mapping[str, Any] | str | bytes,
        *,
        history: History | Iterable[PriorFinding] = (),
        as_of: date | None = None,
    ) -> Result:
        """Evaluate a visit with the ruleset `name` of this engine, whatever province it names:
        a what-if for comparing two provinces' rules on the same visits (`rules diff`), never how
        a visit is evaluated for the record."""
        parsed = self.visit_format.parse(visit, context=self.parse_context)
        known = history if isinstance(history, History) else self.history(history)
        return self._jurisdictions[name].evaluate(parsed, known, as_of, False)[0]

    def history(self, priors: Iterable[PriorFinding]) -> History:
        """A `History` of `priors`, each checked: a misspelt rule or a date given as text would
        otherwise match nothing and silently drop a repeat. InputError names every bad entry."""
        known = History()
        problems = []
        for index, prior in enumerate(priors):
            where = f"history[{index}]"
            if not isinstance(prior, PriorFinding):
                problems.append(Problem("wrong_type", {"expected_vi": "một PriorFinding (parse_history() đọc dict và JSON)",
                                                       "expected_en": "a PriorFinding (parse_history() reads dicts and JSON)",
                                                       "found": describe(prior)}, path=where))
                continue
            bad = False
            if not isinstance(prior.date, date) or isinstance(prior.date, datetime):
                problems.append(wrong_type("date", prior.date).at(path=f"{where}.date"))
                bad = True
            if prior.rule not in self.rule_keys:
                problems.append(Problem("unknown_rule_ref", {"found": prior.rule, **hint_params(str(prior.rule), self.rule_keys)},
                                        path=f"{where}.rule"))
                bad = True
            if not bad:
                known.add(prior)
        if problems:
            raise InputError(problems)
        return known


class _Jurisdiction:
    """One ruleset and what evaluating with it needs, worked out once: the sanction policy,
    the calendar's days, the plans of each period."""

    def __init__(self, ruleset: Ruleset, checks: tuple[CheckInfo, ...], visit_format: VisitFormat):
        self.ruleset = ruleset
        self.checks = checks
        self.visit_format = visit_format
        self.policy = SanctionPolicy(ruleset.sanctions, {i.check.id: list(i.check.rules) for i in self.checks})
        self._tz = parse_offset(ruleset.calendar.utc_offset)
        self._days: DayCache = {}
        self._last_working: tuple[datetime | None, Any] = (None, None)
        self._refs: dict[date, dict[str, Any]] = {}
        self._identity = {"name": ruleset.name, "version": ruleset.version}
        self._layers: dict[str, Any] = {"digest": ruleset.digest}
        if ruleset.base is not None:
            self._layers["base"] = {"name": ruleset.base.name, "version": ruleset.base.version,
                                    "digest": ruleset.layer_digest("base")}
            self._layers["overlay"] = {"name": ruleset.name, "version": ruleset.version, "digest": ruleset.layer_digest("overlay")}
        self._plans_by_snapshot: dict[int, list[_CheckPlan]] = {}
        self._grader = _Grader()
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

    def working_time(self, moment: datetime) -> WorkingTime:
        """Where a local moment falls in the working calendar in force on its date. The last
        answer is kept: a visit's validation asks it, then its evaluation (one tuple, replaced
        whole, so threads never see half of one)."""
        last = self._last_working
        if last[0] == moment:
            return last[1]
        if len(self._days) >= _MAX_CACHED_DAYS:
            self._days.clear()  # a long-running service sees ever new dates: keep memory bounded
        found = working_time(self.ruleset.in_force(moment.date()).calendar, moment, self._days)
        self._last_working = (moment, found)
        return found

    def evaluate(
        self, visit: Visit, known: History, as_of: date | None, trace: bool
    ) -> tuple[Result, Trace | None]:
        """The typed result (and the trace, if asked), built from the evaluation's record."""
        evaluation, traced = self._evaluate(visit, known, as_of, trace)
        result = Result.from_data(evaluation.data)
        if traced is None:
            return result, None
        return result, self._trace(visit, traced, dict(zip(map(id, evaluation.data["findings"]), result.findings)))

    def evaluate_data(self, visit: Visit, known: History, as_of: date | None) -> Evaluation:
        return self._evaluate(visit, known, as_of, False)[0]

    def _evaluate(
        self,
        visit: Visit,
        known: History,
        as_of: date | None,
        trace: bool,
    ) -> tuple[Evaluation, _Traced | None]:
        if as_of is not None:
            as_of = checked_as_of(as_of)
        moment = visit.local_moment(self._tz)
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # a visit parsed elsewhere, without the offset
            raise InputError([year_out_of_range(str(moment.year)).at(path="inspected_at")])
        visit_date = moment.date()
        rules_date = as_of or visit_date
        snapshot = self.ruleset.in_force(rules_date)
        working = self.working_time(moment)
        unit = visit.unit
        unit_id = unit.id
        lookback_start = months_before(visit_date, self.policy.lookback_months) if known else visit_date
        by_rule = self.policy.repeat_scope == "rule"
        policy = self.policy
        period = policy.period(rules_date)
        decide = policy.decide_in
        people: dict[str, tuple[Any, ...]] | None = None
        officials: dict[str, Official] = {}
        unit_shown: tuple[_Shown, _Shown] | None = None

        decided: list[tuple[tuple[Any, ...], dict[str, Any], str, str, str]] = []
        merged: dict[tuple[int, str, str, str], list[Any]] = {}
        notes: list[Note] | None = [] if trace else None
        traced: dict[str, list[tuple[dict[str, Any], str, str | None, bool | None, tuple[Any, ...]]]] | None = (
            {} if trace else None
        )
        for plan in self._plans(snapshot):
            ctx = Context(rules_date, moment, working, plan.thresholds, notes)
            rules = plan.rules
            for obs in self._observe(plan, visit, ctx):
                rule = rules.get(obs.rule)
                if rule is None:
                    continue
                subject_id = obs.subject_id
                severity = obs.severity or rule.severity
                given = obs.evidence
                if rule.official:
                    if people is None:
                        people = {}
                        officials = {o.id: o for o in visit.personnel}
                    person = people.get(subject_id)
                    if person is None:
                        person = people[subject_id] = self._person(plan, unit, officials.get(subject_id), subject_id, obs.rule)
                    added, category, leader, base_vi, base_en = person
                    target_of = subject_id
                else:
                    if subject_id != unit_id:
                        raise self._bad(plan, f"'{obs.rule}' names unit '{subject_id}' but the visit is to '{unit_id}'")
                    if unit_shown is None:
                        unit_shown = _unit_shown(unit, "vi"), _unit_shown(unit, "en")
                    base_vi, base_en = unit_shown
                    added, category, leader = (), None, False
                    target_of = unit_id
                if given:
                    # The check's evidence, then what the engine adds; codes as their text in the
                    # evidence and in each language's words in the message.
                    evidence = {}
                    shown_vi, shown_en = _Shown(base_vi), _Shown(base_en)
                    for key, value in given.items():
                        kind = type(value)
                        if kind is str:
                            evidence[key] = shown_vi[key] = shown_en[key] = value
                        elif kind is int:
                            evidence[key] = value
                            shown_vi[key] = shown_en[key] = str(value)
                        elif isinstance(value, Code):
                            evidence[key] = value.value
                            shown_vi[key], shown_en[key] = value.word("vi"), value.word("en")
                        else:
                            evidence[key] = value
                            shown_vi[key] = shown_en[key] = shown_value(value)
                    for key, value in added:
                        if key not in evidence:
                            evidence[key] = value
                else:
                    evidence = dict(added)
                    shown_vi, shown_en = base_vi, base_en
                earlier = (
                    known.earlier(unit_id, rule.subject, subject_id, rule.key if by_rule else rule.check, lookback_start, visit_date)
                    if known
                    else ()
                )
                recs = decide(period, rule.key, severity, rule.subject, category, leader, rules_date, len(earlier))
                message = {"vi": rule.message_vi.format_map(shown_vi), "en": rule.message_en.format_map(shown_en)}
                order = rule.order + (subject_id,)
                refs = []
                for r in recs:
                    subject = target_of if r.target == "official" else unit_id
                    refs.append({"code": r.code, "target": r.target, "subject_id": subject, "policy": r.policy})
                    _merge(merged, r, subject, earlier, rule.key, order)
                severity_text = _PLAIN_TEXT[severity]
                finding = {
                    "check": rule.check,
                    "rule": rule.rule,
                    "severity": severity_text,
                    "subject": {"type": rule.subject, "id": subject_id},
                    "evidence": evidence,
                    "message": message,
                    "legal_basis": rule.legal_basis,
                    "rule_version": rule.rule_version,
                    "sanctions": refs,
                    "repeat_of": earlier,
                }
                decided.append((order, finding, rule.key, severity_text, subject_id))
                if traced is not None:
                    matches = policy.explain(rule.key, severity, rule.subject, category, leader, rules_date, len(earlier))
                    traced.setdefault(rule.key, []).append(
                        (finding, rule.severity.value, category, leader if rule.official else None, tuple(matches))
                    )
        decided.sort(key=_first)
        sanctions, codes = _visit_sanctions(merged)
        grade = self._grader.grade(snapshot.grading, decided)
        data = {
            "visit_id": visit.visit_id,
            "unit_id": unit_id,
            "unit_level": unit.level.value,
            "inspected_at": visit.inspected_at.isoformat(),
            "visit_date": visit_date.isoformat(),
            "ruleset": self._ruleset_record(rules_date),
            "grade": grade,
            "findings": [d[1] for d in decided],
            "sanctions": sanctions,
            "unit_name": unit.name,
            "province": unit.province,
        }
        evaluation = Evaluation(
            data,
            visit_date,
            self.ruleset.name,
            tuple([(d[2], d[1]["check"], d[3], d[1]["subject"]["type"], d[4]) for d in decided]),
            codes,
        )
        recorded = None
        if traced is not None and notes is not None:
            recorded = _Traced(snapshot, visit_date, rules_date, moment, working, len(known), traced, notes)
        return evaluation, recorded

    def _person(
        self, plan: _CheckPlan, unit: Any, official: Official | None, subject_id: str, rule: str
    ) -> tuple[tuple[tuple[str, Any], ...], str | None, bool, _Shown, _Shown]:
        """What the engine adds to the evidence of a finding about an official (name, position,
        category, when the visit gives them), the category as text, whether a leader, and what
        the messages may name in each language: worked out once per official and visit."""
        if official is None:
            raise self._bad(plan, f"'{rule}' names official '{subject_id}' who is not in the visit")
        category = _PLAIN_TEXT.get(official.category)
        added: list[tuple[str, Any]] = []
        if official.name is not None:
            added.append(("official_name", official.name))
        if official.position is not None:
            added.append(("position", official.position))
        if category is not None:
            added.append(("category", category))
        shown = []
        for lang in ("vi", "en"):
            words = _unit_shown(unit, lang)
            words["official_id"] = subject_id
            for key, value in added:
                words[key] = value
            if official.category is not None:
                words["category"] = official.category.word(lang)
            shown.append(words)
        leader = self.policy.is_leader(official.position, official.leader)
        return tuple(added), category, leader, shown[0], shown[1]

    def _trace(self, visit: Visit, traced: _Traced, findings: Mapping[int, Finding]) -> Trace:
        """The decisions of one evaluation, rule by rule, from what it recorded; `findings` are the
        result's findings by the id of the record they were made from."""
        snapshot = traced.snapshot
        by_rule: dict[str, list[Note]] = {}
        for note in traced.notes:
            by_rule.setdefault(note.rule, []).append(note)
        rules = []
        checks = []
        for info in self.checks:
            check = info.check
            checks.append(CheckTrace(check.id, dict(getattr(check, "title", {}) or {}), self._read(visit, check)))
            in_force = snapshot.rules.get(check.id, {})
            for rule_id, declared in check.rules.items():
                key = f"{check.id}.{rule_id}"
                version = in_force.get(rule_id)
                fired = tuple(
                    FindingTrace(findings[id(data)], *decision) for data, *decision in traced.findings.get(key, ())
                )
                status = "fired" if fired else ("not_fired" if version is not None else "not_in_force")
                rules.append(
                    RuleTrace(
                        check=check.id,
                        rule=rule_id,
                        subject=declared.subject,
                        summary=declared.summary,
                        evidence_keys=tuple(declared.evidence),
                        status=status,
                        version=version,
                        versions=tuple(
                            (v.effective_from, v.effective_to) for v in self.ruleset.rules.get(check.id, {}).get(rule_id, ())
                        ),
                        findings=fired,
                        notes=tuple(by_rule.get(rule_id, ())),
                    )
                )
        return Trace(
            visit_date=traced.visit_date,
            rules_date=traced.rules_date,
            local_time=traced.moment.strftime("%Y-%m-%d %H:%M"),
            working=traced.working,
            lookback_months=self.policy.lookback_months,
            history_records=traced.history_records,
            checks=tuple(checks),
            rules=tuple(rules),
        )

    def _read(self, visit: Visit, check: Check) -> dict[str, Any]:
        """The values of the observations `check` declares that the visit gives (not null)."""
        out: dict[str, Any] = {}
        for place, fragment in self.visit_format.fragments.get(check.id, {}).items():
            names = list(fragment.model_fields)
            if place == OFFICIAL:
                officials = {
                    o.id: shown for o in visit.personnel if (shown := _given(o, names))
                }
                if officials:
                    out["personnel"] = officials
            elif place == VISIT:
                out.update(_given(visit, names))
            else:
                section = getattr(visit, place, None)
                given = _given(section, names) if section is not None else {}
                if given:
                    out[place] = given
        return out

    def _ruleset_record(self, day: date) -> dict[str, Any]:
        """The result's `ruleset` object for rules of `day` (shared by the day's results)."""
        ref = self._refs.get(day)
        if ref is None:
            if len(self._refs) >= _MAX_CACHED_DAYS:
                self._refs.clear()
            ref = self._refs[day] = {**self._identity, "as_of": day.isoformat(), **self._layers}
        return ref

    def _plans(self, snapshot: Any) -> list[_CheckPlan]:
        """What each check needs on the snapshot's dates, worked out once per period."""
        plans = self._plans_by_snapshot.get(id(snapshot))
        if plans is not None:
            return plans
        plans = []
        for info in self.checks:
            check = info.check
            in_force = snapshot.rules.get(check.id, {})
            if not in_force:
                continue
            rules = {}
            for rule_id, version in in_force.items():
                declared = check.rules[rule_id]
                legal_basis, rule_version = self._version_meta[id(version)]
                rules[rule_id] = _RulePlan(
                    check=check.id,
                    rule=rule_id,
                    key=f"{check.id}.{rule_id}",
                    subject=declared.subject,
                    version=version,
                    legal_basis=legal_basis,
                    rule_version=rule_version,
                    order=(check.id, rule_id, _SUBJECT_ORDER[declared.subject]),
                    placeholders=tuple(sorted(set().union(*version.message.names()))),
                    official=declared.subject == "official",
                    severity=version.severity,
                    message_vi=version.message.vi,
                    message_en=version.message.en,
                )
            evidence = {rule_id: frozenset(declared.evidence) for rule_id, declared in check.rules.items()}
            plans.append(_CheckPlan(info, {r: v.thresholds for r, v in in_force.items()}, rules, evidence))
        self._plans_by_snapshot[id(snapshot)] = plans
        return plans

    @staticmethod
    def _bad(plan: _CheckPlan, detail: str) -> PluginError:
        return PluginError(
            [Problem("plugin_bad_finding", {"plugin": plan.info.plugin, "check": plan.info.check.id, "detail": detail})]
        )

    def _observe(self, plan: _CheckPlan, visit: Visit, ctx: Context) -> list[Observation]:
        # A failing check is reported with its plugin's name; a malformed observation too.
        info = plan.info
        check = info.check
        try:
            observed = list(check.evaluate(visit, ctx) or ())
        except Exception as exc:
            raise PluginError(
                [Problem("plugin_failed", {"plugin": info.plugin, "check": check.id, "detail": f"{type(exc).__name__}: {exc}"})]
            ) from exc
        for obs in observed:
            if type(obs) is not Observation and not isinstance(obs, Observation):
                raise self._bad(plan, f"{obs!r} is not an Observation")
            if obs.rule not in check.rules:
                raise self._bad(plan, f"unknown rule '{obs.rule}'")
            if type(obs.subject_id) is not str or not obs.subject_id:
                raise self._bad(plan, f"subject id {obs.subject_id!r} of '{obs.rule}' is not a non-empty string")
            evidence = obs.evidence
            if evidence:
                if type(evidence) is not dict and not isinstance(evidence, Mapping):
                    raise self._bad(plan, f"evidence of '{obs.rule}' is not a mapping")
                declared = plan.evidence[obs.rule]
                if not declared.issuperset(evidence):
                    # An undeclared key could stand in for a value the engine fills in
                    # (official_name) or be a misspelling no message would ever show.
                    key = next(k for k in evidence if k not in declared)
                    raise self._bad(
                        plan, f"evidence '{key}' of '{obs.rule}' is not among the rule's declared evidence {check.rules[obs.rule].evidence}"
                    )
                for key, value in evidence.items():
                    kind = type(value)
                    if kind is str or kind is int or kind is bool or value is None:
                        continue
                    # NaN and infinity are no numbers JSON can carry: they would come out as
                    # null while the message says "nan".
                    if (kind not in _PLAIN and not isinstance(value, Code)) or (kind is float and not math.isfinite(value)):
                        raise self._bad(
                            plan, f"evidence '{key}' of '{obs.rule}' is not a plain value (text, finite number, true/false, null)"
                        )
            if obs.severity is not None and not isinstance(obs.severity, Severity):
                raise self._bad(plan, f"severity {obs.severity!r} of '{obs.rule}' is not a Severity")
        return observed


def _given(model: Any, names: Sequence[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(model, name, None)
        if value is not None:
            out[name] = value.value if isinstance(value, Code) else value.strftime("%H:%M") if hasattr(value, "strftime") else value
    return out


@dataclass(frozen=True, slots=True)
class _RulePlan:
    check: str
    rule: str
    key: str
    subject: str
    version: RuleVersion[Any]
    legal_basis: list[dict[str, Any]]
    rule_version: dict[str, str | None]
    order: tuple[str, str, int]
    placeholders: tuple[str, ...]
    official: bool
    severity: Severity
    message_vi: str
    message_en: str


@dataclass(frozen=True, slots=True)
class _CheckPlan:
    info: CheckInfo
    thresholds: dict[str, Any]
    rules: dict[str, _RulePlan]
    evidence: dict[str, frozenset[str]]
    """The evidence keys each rule of the check declares."""


_RANK_OF = {s.value: s.rank for s in Severity}


class _Grader:
    """Grades of one engine's gradings, as the result's `grade` object, cached per (grading,
    points, worst severity): results share them."""

    _UNGRADED = {"code": "ungraded", "label": {"vi": "chưa xếp loại", "en": "not graded"}, "points": 0, "worst_severity": None}

    def __init__(self) -> None:
        self._points: dict[int, dict[str, int]] = {}
        self._grades: dict[tuple[int, int, str | None], dict[str, Any]] = {}

    def grade(self, grading: GradingVersion | None, decided: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
        if grading is None:
            return self._UNGRADED
        # Keyed by id(): the gradings belong to the engine's ruleset, which outlives this cache.
        points_of = self._points.get(id(grading))
        if points_of is None:
            points_of = self._points[id(grading)] = {s.value: p for s, p in grading.points.items()}
        points = 0
        worst: str | None = None
        for d in decided:
            severity = d[3]
            points += points_of[severity]
            if worst is None or _RANK_OF[severity] > _RANK_OF[worst]:
                worst = severity
        key = (id(grading), points, worst)
        grade = self._grades.get(key)
        if grade is not None:
            return grade
        for band in grading.bands:
            if band.max_points is not None and points > band.max_points:
                continue
            if band.max_severity is not None and worst is not None and _RANK_OF[worst] > band.max_severity.rank:
                continue
            grade = {"code": band.grade, "label": {"vi": band.label.vi, "en": band.label.en}, "points": points,
                     "worst_severity": worst}
            if len(self._grades) < 10_000:
                self._grades[key] = grade
            return grade
        raise AssertionError("grading validation guarantees a catch-all band")


class _Shown(dict[str, Any]):
    """What a message may name, as it shows it; a value not given shows as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


def _unit_shown(unit: Any, lang: str) -> _Shown:
    words = _Shown(unit_id=unit.id, unit_level=unit.level.word(lang))
    if unit.name is not None:
        words["unit_name"] = unit.name
    return words


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _merge(
    merged: dict[tuple[int, str, str, str], list[Any]],
    rec: Recommendation,
    subject_id: str,
    repeat_of: tuple[str, ...],
    rule_key: str,
    order: tuple[Any, ...],
) -> None:
    """Add one finding's recommendation to the visit's sanctions: one per (target, subject,
    code), naming every finding behind it. A fine stays one entry per offence, since each
    offence carries its own range. Findings arrive in the checks' order; what a merged sanction
    says is settled in the result's order (`_visit_sanctions`)."""
    key = (_TARGET_ORDER[rec.target], subject_id, rec.code, rule_key if rec.fine else "")
    entry = merged.get(key)
    if entry is None:
        merged[key] = [subject_id, [(order, rec, repeat_of)], [rule_key]]
        return
    entry[1].append((order, rec, repeat_of))
    if rule_key not in entry[2]:
        entry[2].append(rule_key)


def _visit_sanctions(merged: dict[tuple[int, str, str, str], list[Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The visit's sanctions as the result's objects, in order, and their codes.

    A merged sanction is the first of its findings' recommendations in the result's order (its
    policy, reason and fine), names the form the first of them replaces, and is escalated by
    the earlier findings of them all."""
    out = []
    codes = []
    for key in sorted(merged):
        subject_id, offers, because = merged[key]
        if len(offers) > 1:
            offers.sort(key=_first)
        _, rec, escalated_by = offers[0]
        replaces = rec.replaces
        for _, later, repeat_of in offers[1:]:
            if repeat_of:
                escalated_by = tuple(sorted(set(escalated_by) | set(repeat_of)))
            replaces = replaces or later.replaces
        codes.append(rec.code)
        out.append(
            {
                "code": rec.code,
                "target": rec.target,
                "subject_id": subject_id,
                "policy": rec.policy,
                "reason": rec.reason,
                "fine": rec.fine,
                "replaces": replaces,
                "escalated_by": escalated_by,
                "because": tuple(because) if len(because) == 1 else tuple(sorted(because)),
            }
        )
    return out, codes


@dataclass(frozen=True, slots=True)
class _Traced:
    """What a traced evaluation recorded, for `_Jurisdiction._trace`."""

    snapshot: Any
    visit_date: date
    rules_date: date
    moment: datetime
    working: WorkingTime
    history_records: int
    findings: Mapping[str, list[tuple[Any, ...]]]
    notes: Sequence[Note]
