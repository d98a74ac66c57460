"""From a finding to recommended sanctions, following the YAML sanction policy.

The decision depends only on a small tuple: (rule, severity, subject type, personnel category,
leader or not, legal period of the date, repeat count). Each distinct tuple is decided once by
the durable-rules network and remembered, so the rules engine never runs on the per-official
hot path. The disciplinary forms the law allows for the person's category on that date are
applied after the policy: a form that is not allowed gives way to the nearest milder one.
"""

from __future__ import annotations

import bisect
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..common import Severity
from ..ruleset.model import DISCIPLINE, Policy, SanctionsFile, Versioned
from .durable import Clause, RuleNetwork

_NO_CATEGORY = "-"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A sanction the policy recommends for one finding, before it is tied to a subject."""

    code: str
    target: str
    policy: str
    reason: Mapping[str, str]
    fine: Mapping[str, Any] | None = None
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """One condition of a policy's `when`, checked against one finding."""

    field: str
    op: str
    expected: Any
    actual: Any
    ok: bool


@dataclass(frozen=True, slots=True)
class PolicyMatch:
    """Whether one policy applies to a finding, and each of its conditions."""

    policy: Policy
    matched: bool
    conditions: tuple[ConditionCheck, ...]


def _check_clause(clause: Clause, fact: Mapping[str, Any]) -> ConditionCheck:
    op, name, value = clause
    actual = fact[name]
    if op == "in":
        ok = actual in value
    elif op == ">=":
        ok = actual >= value
    else:
        ok = actual <= value
    return ConditionCheck(name, op, value, actual, ok)


def _ordinal_bounds(v: Versioned) -> list[Clause]:
    clauses: list[Clause] = [(">=", "day", v.effective_from.toordinal())]
    if v.effective_to is not None:
        clauses.append(("<=", "day", v.effective_to.toordinal()))
    return clauses


def _in_force(versions: Sequence[Versioned], day: date) -> Any:
    return next((v for v in versions if v.covers(day)), None)


def recommendable_codes(spec: SanctionsFile) -> list[str]:
    """Every code `spec` can put on a finding, so that a case file cannot expect one it never can:
    the codes its policies recommend, and the milder forms of the discipline ladder that stand in
    for a form the law does not allow (see `SanctionPolicy._milder_allowed`)."""
    codes: dict[str, None] = {}
    ladder = list(spec.discipline_ladder)
    for policy in spec.policies:
        for rec in policy.recommend:
            if rec.code in DISCIPLINE and rec.code in ladder:
                codes.update(dict.fromkeys(ladder[: ladder.index(rec.code)]))
            codes[rec.code] = None
    return list(codes)


class SanctionPolicy:
    """A compiled sanction policy. Thread-safe; decisions are cached per distinct fact tuple."""

    def __init__(self, spec: SanctionsFile, rules_by_check: Mapping[str, Sequence[str]]):
        self.spec = spec
        self.lookback_months = spec.lookback_months
        self.repeat_scope = spec.repeat_scope
        self._leader_titles = tuple(unicodedata.normalize("NFC", t).casefold() for t in spec.leader_titles)
        self._leaders: dict[str, bool] = {}
        self._ladder = list(spec.discipline_ladder)
        self._policies: list[Policy] = list(spec.policies)
        conditions = [self._condition(p, rules_by_check) for p in self._policies]
        self._conditions = conditions
        self._network = RuleNetwork(conditions)
        self.repeat_cap = max((p.when.repeats.min for p in self._policies), default=0)
        self.repeat_cap = max(
            [self.repeat_cap] + [p.when.repeats.max + 1 for p in self._policies if p.when.repeats.max is not None]
        )
        points: set[date] = set()
        everything: list[Versioned] = [*self._policies, *spec.discipline_forms]
        for fine in spec.fines:
            everything.extend(fine.versions)
        for v in everything:
            points.add(v.effective_from)
            if v.effective_to is not None:
                points.add(v.effective_to + timedelta(days=1))
        self._breakpoints = sorted(points)
        self._fines = {fine.rule: fine.versions for fine in spec.fines}
        self._cache: dict[tuple[Any, ...], tuple[Recommendation, ...]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _condition(policy: Policy, rules_by_check: Mapping[str, Sequence[str]]) -> list[Clause]:
        when = policy.when
        clauses = _ordinal_bounds(policy)
        if when.rules is not None:
            expanded: list[str] = []
            for ref in when.rules:
                check, _, rule = ref.partition(".")
                if rule == "*":
                    expanded.extend(f"{check}.{r}" for r in rules_by_check.get(check, ()))
                else:
                    expanded.append(ref)
            clauses.append(("in", "rule", expanded or ["<none>"]))
        if when.subject is not None:
            clauses.append(("in", "subject", [when.subject]))
        if when.min_severity is not None:
            clauses.append((">=", "severity", when.min_severity.rank))
        if when.max_severity is not None:
            clauses.append(("<=", "severity", when.max_severity.rank))
        if when.categories is not None:
            clauses.append(("in", "category", list(when.categories)))
        if when.leader is not None:
            clauses.append(("in", "leader", [int(when.leader)]))
        clauses.append((">=", "repeats", when.repeats.min))
        if when.repeats.max is not None:
            clauses.append(("<=", "repeats", when.repeats.max))
        return clauses

    def is_leader(self, position: str | None, declared: bool | None) -> bool:
        """A leader as the visit says, or by the position's title when it does not."""
        if declared is not None:
            return declared
        if not position:
            return False
        known = self._leaders.get(position)
        if known is None:
            folded = unicodedata.normalize("NFC", position).casefold().strip()
            known = any(folded.startswith(title) for title in self._leader_titles)
            if len(self._leaders) < 100_000:
                self._leaders[position] = known
        return known

    def period(self, day: date) -> int:
        """Which stretch between the policy's effective dates `day` falls in."""
        return bisect.bisect_right(self._breakpoints, day)

    def decide(
        self,
        rule: str,
        severity: Severity,
        subject: str,
        category: str | None,
        leader: bool,
        day: date,
        repeats: int,
    ) -> tuple[Recommendation, ...]:
        """The recommendations for one finding. Pure: the same inputs give the same answer."""
        return self.decide_in(self.period(day), rule, severity, subject, category, leader, day, repeats)

    def decide_in(
        self,
        period: int,
        rule: str,
        severity: Severity,
        subject: str,
        category: str | None,
        leader: bool,
        day: date,
        repeats: int,
    ) -> tuple[Recommendation, ...]:
        """`decide` with the period of `day` already known (the engine computes it once per visit)."""
        key = (rule, severity, subject, category, leader, period, min(repeats, self.repeat_cap))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        fact = {
            "rule": rule,
            "severity": severity.rank,
            "subject": subject,
            "category": category or _NO_CATEGORY,
            "leader": int(leader),
            "day": day.toordinal(),
            "repeats": min(repeats, self.repeat_cap),
        }
        matched = self._network.matching(fact)
        decided = self._materialise([self._policies[i] for i in matched], rule, category, leader, day)
        with self._lock:
            self._cache[key] = decided
        return decided

    def explain(
        self,
        rule: str,
        severity: Severity,
        subject: str,
        category: str | None,
        leader: bool,
        day: date,
        repeats: int,
    ) -> list[PolicyMatch]:
        """Every policy, whether it applies to this finding, and why (condition by condition).

        The same inputs as `decide`; which policies match is asked of the same rule network.
        """
        fact: dict[str, str | int] = {
            "rule": rule,
            "severity": severity.rank,
            "subject": subject,
            "category": category or _NO_CATEGORY,
            "leader": int(leader),
            "day": day.toordinal(),
            "repeats": min(repeats, self.repeat_cap),
        }
        matched = set(self._network.matching(fact))
        return [
            PolicyMatch(policy, index in matched, tuple(_check_clause(c, fact) for c in clauses))
            for index, (policy, clauses) in enumerate(zip(self._policies, self._conditions))
        ]

    @property
    def cached_decisions(self) -> int:
        return len(self._cache)

    def _allowed_forms(self, category: str | None, leader: bool, day: date) -> list[str] | None:
        if category is None:
            return None
        forms = _in_force([f for f in self.spec.discipline_forms if f.category == category], day)
        if forms is None:
            return None
        return list(forms.leader if leader else forms.non_leader)

    def _materialise(
        self, policies: Sequence[Policy], rule: str, category: str | None, leader: bool, day: date
    ) -> tuple[Recommendation, ...]:
        allowed = self._allowed_forms(category, leader, day)
        out: list[Recommendation] = []
        seen: set[tuple[str, str]] = set()
        for policy in policies:
            reason = {"vi": policy.reason.vi, "en": policy.reason.en}
            for rec in policy.recommend:
                code, replaces, fine = rec.code, None, None
                if code in DISCIPLINE and allowed is not None and code not in allowed:
                    replaces, code = code, self._milder_allowed(code, allowed)
                    if code is None:
                        continue
                if code == "administrative_fine":
                    fine_version = _in_force(self._fines.get(rule, ()), day)
                    if fine_version is None or fine_version.target != rec.target:
                        continue
                    fine = {
                        "min": fine_version.min,
                        "max": fine_version.max,
                        "currency": fine_version.currency,
                        "legal_basis": [ref.model_dump(exclude_none=True, mode="json") for ref in fine_version.legal_basis],
                    }
                if (code, rec.target) in seen:
                    continue
                seen.add((code, rec.target))
                out.append(Recommendation(code, rec.target, policy.id, reason, fine, replaces))
        return tuple(out)

    def _milder_allowed(self, code: str, allowed: Sequence[str]) -> str | None:
        if code not in self._ladder:
            return None
        for candidate in reversed(self._ladder[: self._ladder.index(code)]):
            if candidate in allowed:
                return candidate
        return None
