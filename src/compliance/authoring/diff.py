"""`compliance rules diff`: what changed between two rulesets, and what it does to past visits.

The textual part compares every dated item of the two rulesets (rule versions, calendar,
grading, sanction policies, fines, disciplinary forms) and says what was added, removed or
changed, with the old and new values and dates. A version added after another is compared
with the version it takes over from (the one in force in the old ruleset on its first day).

The impact part replays historical visits through both rulesets, in date order, each subject's
earlier findings from the same replay fed back as history so that escalation is compared too,
and counts the findings and sanctions gained and lost, per rule, per unit level and per year,
and the visits whose grade changes, with a few example visit ids.

Warnings (never errors): a threshold or severity changed inside a version whose
`effective_from` did not change (it rewrites the past) in the looser direction — looser meaning
"gives fewer findings" or, for as many findings, "gives them a lower severity", measured on the
replay; without visits any such change is flagged — and rules that fire on most visits (too
strict?) or on none (dead?).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..common import Severity
from ..engine import Engine
from ..errors import InputError, Lang
from ..history import History
from ..result import Result
from ..ruleset.loader import Ruleset
from ..visit import Visit
from .words import yaml_value

EXAMPLES = 3
STRICT_SHARE = 0.5
_SEVERITY_RANK = {s.value: s.rank for s in Severity}

# ---- the textual change


@dataclass
class Change:
    area: str  # ruleset | calendar | grading | rule | policy | fine | discipline_forms | sanctions
    key: str  # what: 'working_hours.late_arrival', a policy id, ...
    kind: str  # added | removed | changed
    version: str | None = None  # effective_from of the version concerned
    field: str | None = None  # 'thresholds.grace_minutes', 'severity', 'effective_to', ...
    old: Any = None
    new: Any = None
    in_place: bool = False  # changed inside a version whose effective_from did not change
    compared_to: str | None = None  # for a new version: effective_from of the one it takes over from
    effective_to: str | None = None
    ruleset: str | None = None  # in a catalogue: the province's ruleset the change is seen in

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _dump(item: Any) -> dict[str, Any]:
    data: dict[str, Any] = item.model_dump(mode="json", by_alias=True)
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key not in ("legal_basis",):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any], skip: Iterable[str] = ("effective_from",)) -> list[tuple[str, Any, Any]]:
    a, b = _flatten(old), _flatten(new)
    out = []
    for name in list(a) + [k for k in b if k not in a]:
        if name in skip:
            continue
        if a.get(name, _MISSING) != b.get(name, _MISSING):
            out.append((name, a.get(name), b.get(name)))
    return out


_MISSING = object()


def _keyed(items: Iterable[Any], key: Any) -> dict[tuple[str, str], Any]:
    return {(key(i), i.effective_from.isoformat()): i for i in items}


def _in_force_on(items: Iterable[Any], day: date) -> Any:
    return next((i for i in items if i.covers(day)), None)


def _versioned_diff(
    area: str,
    old_items: Sequence[Any],
    new_items: Sequence[Any],
    key: Any,
    out: list[Change],
) -> None:
    """Compare two lists of dated items grouped by `key(item)` (e.g. a policy id)."""
    a, b = _keyed(old_items, key), _keyed(new_items, key)
    for k in sorted(set(a) | set(b), key=lambda k: (k[0], k[1])):
        name, start = k
        if k in a and k in b:
            for fname, old, new in _field_changes(_dump(a[k]), _dump(b[k])):
                out.append(Change(area, name, "changed", start, fname, old, new, in_place=fname != "effective_to",
                                  effective_to=_iso(b[k].effective_to)))
        elif k in b:
            item = b[k]
            out.append(Change(area, name, "added", start, None, None, None, effective_to=_iso(item.effective_to)))
            before = _in_force_on([i for (n, _), i in a.items() if n == name], item.effective_from)
            if before is not None:
                for fname, old, new in _field_changes(_dump(before), _dump(item), skip=("effective_from", "effective_to")):
                    out.append(Change(area, name, "changed", start, fname, old, new,
                                      compared_to=before.effective_from.isoformat(), effective_to=_iso(item.effective_to)))
        else:
            item = a[k]
            out.append(Change(area, name, "removed", start, None, None, None, effective_to=_iso(item.effective_to)))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def ruleset_changes(old: Ruleset, new: Ruleset) -> list[Change]:
    out: list[Change] = []
    for fname, a, b in _field_changes(_dump(old.meta), _dump(new.meta), skip=()):
        out.append(Change("ruleset", "ruleset.yaml", "changed", None, fname, a, b))
    if old.base is not None and new.base is not None:
        for fname, a, b in _field_changes(_dump(old.base), _dump(new.base), skip=()):
            out.append(Change("ruleset", "base:ruleset.yaml", "changed", None, fname, a, b))
    if old.calendar.utc_offset != new.calendar.utc_offset:
        out.append(Change("calendar", "utc_offset", "changed", None, "utc_offset", old.calendar.utc_offset, new.calendar.utc_offset))
    _versioned_diff("calendar", old.calendar.versions, new.calendar.versions, lambda _: "calendar", out)
    _versioned_diff("grading", old.grading.versions, new.grading.versions, lambda _: "grading", out)
    checks = sorted(set(old.rules) | set(new.rules))
    for check in checks:
        rules_a, rules_b = old.rules.get(check, {}), new.rules.get(check, {})
        for rule in sorted(set(rules_a) | set(rules_b)):
            name = f"{check}.{rule}"
            if rule not in rules_a:
                out.append(Change("rule", name, "added"))
            elif rule not in rules_b:
                out.append(Change("rule", name, "removed"))
            _versioned_diff("rule", rules_a.get(rule, ()), rules_b.get(rule, ()), lambda _, n=name: n, out)
    sa, sb = old.sanctions, new.sanctions
    for attr in ("lookback_months", "repeat_scope", "leader_titles", "discipline_ladder"):
        if getattr(sa, attr) != getattr(sb, attr):
            out.append(Change("sanctions", attr, "changed", None, attr, getattr(sa, attr), getattr(sb, attr)))
    _versioned_diff("policy", sa.policies, sb.policies, lambda p: p.id, out)
    _versioned_diff("discipline_forms", sa.discipline_forms, sb.discipline_forms, lambda f: f.category, out)
    fines_a = [(f.rule, v) for f in sa.fines for v in f.versions]
    fines_b = [(f.rule, v) for f in sb.fines for v in f.versions]
    for rule in sorted({r for r, _ in fines_a} | {r for r, _ in fines_b}):
        _versioned_diff(
            "fine", [v for r, v in fines_a if r == rule], [v for r, v in fines_b if r == rule], lambda _, n=rule: n, out
        )
    return out


# ---- the impact on historical visits


@dataclass
class Bucket:
    visits: int = 0
    changed: int = 0
    findings_old: int = 0
    findings_new: int = 0
    gained: int = 0
    lost: int = 0
    sanctions_gained: int = 0
    sanctions_lost: int = 0
    grade_changed: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class RuleImpact:
    findings_old: int = 0
    findings_new: int = 0
    gained: int = 0
    lost: int = 0
    severity_changed: int = 0
    visits_in_force_old: int = 0
    visits_in_force_new: int = 0
    visits_fired_old: int = 0
    visits_fired_new: int = 0
    sanctions_gained: Counter[str] = field(default_factory=Counter)
    sanctions_lost: Counter[str] = field(default_factory=Counter)
    examples_gained: list[str] = field(default_factory=list)
    examples_lost: list[str] = field(default_factory=list)
    examples_severity: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["sanctions_gained"] = dict(sorted(self.sanctions_gained.items()))
        data["sanctions_lost"] = dict(sorted(self.sanctions_lost.items()))
        data["share_fired_old"] = round(self.visits_fired_old / self.visits_in_force_old, 4) if self.visits_in_force_old else None
        data["share_fired_new"] = round(self.visits_fired_new / self.visits_in_force_new, 4) if self.visits_in_force_new else None
        return data


@dataclass
class SanctionImpact:
    old: int = 0
    new: int = 0
    gained: int = 0
    lost: int = 0
    examples_gained: list[str] = field(default_factory=list)
    examples_lost: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class GradeMove:
    visits: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Impact:
    visits: int = 0
    visits_changed: int = 0
    refused: int = 0
    """Visits one of the two could not evaluate (no ruleset for their province on their date)."""
    as_of: str | None = None
    history: bool = True
    totals: Bucket = field(default_factory=Bucket)
    severity_changed: int = 0
    sanctions_old: int = 0
    sanctions_new: int = 0
    per_rule: dict[str, RuleImpact] = field(default_factory=lambda: defaultdict(RuleImpact))
    per_level: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    per_year: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    per_province: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    per_sanction: dict[str, SanctionImpact] = field(default_factory=lambda: defaultdict(SanctionImpact))
    per_version_old: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_version_new: Counter[tuple[str, str]] = field(default_factory=Counter)
    severity_down: Counter[tuple[str, str]] = field(default_factory=Counter)  # findings per (rule, version)
    severity_up: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples_changed: list[str] = field(default_factory=list)
    grades: dict[str, dict[str, str]] = field(default_factory=dict)  # code → label, in band order
    grades_old: Counter[str] = field(default_factory=Counter)
    grades_new: Counter[str] = field(default_factory=Counter)
    grade_moves: dict[tuple[str, str], GradeMove] = field(default_factory=lambda: defaultdict(GradeMove))

    def to_dict(self) -> dict[str, Any]:
        return {
            "visits": self.visits,
            "visits_changed": self.visits_changed,
            "refused": self.refused,
            "as_of": self.as_of,
            "history": self.history,
            "findings": {
                "old": self.totals.findings_old,
                "new": self.totals.findings_new,
                "gained": self.totals.gained,
                "lost": self.totals.lost,
                "severity_changed": self.severity_changed,
            },
            "sanctions": {
                "old": self.sanctions_old,
                "new": self.sanctions_new,
                "gained": self.totals.sanctions_gained,
                "lost": self.totals.sanctions_lost,
            },
            "grades": self._grades_dict(),
            "examples_changed": self.examples_changed,
            "per_rule": {k: v.to_dict() for k, v in sorted(self.per_rule.items())},
            "per_level": {k: v.to_dict() for k, v in sorted(self.per_level.items())},
            "per_year": {k: v.to_dict() for k, v in sorted(self.per_year.items())},
            "per_province": {k: v.to_dict() for k, v in sorted(self.per_province.items())},
            "per_sanction": {k: v.to_dict() for k, v in sorted(self.per_sanction.items())},
        }

    def _grades_dict(self) -> dict[str, Any]:
        order = {code: i for i, code in enumerate(self.grades)}
        return {
            "changed": self.totals.grade_changed,
            "per_grade": {
                code: {"label": label, "old": self.grades_old[code], "new": self.grades_new[code]}
                for code, label in self.grades.items()
                if self.grades_old[code] or self.grades_new[code]
            },
            "moves": [
                {"old": old, "new": new, "visits": move.visits, "examples": move.examples}
                for (old, new), move in sorted(self.grade_moves.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
            ],
        }


def _example(bucket: list[str], visit_id: str) -> None:
    if len(bucket) < EXAMPLES and visit_id not in bucket:
        bucket.append(visit_id)


def replay(
    old: Engine,
    new: Engine,
    visits: Iterable[Visit],
    *,
    as_of: date | None = None,
    history: bool = True,
) -> Impact:
    """Evaluate every visit with both engines, in date order, and count what differs."""
    ordered = sorted(visits, key=lambda v: (v.inspected_at, v.visit_id))
    impact = Impact(as_of=as_of.isoformat() if as_of else None, history=history, grades=_grade_labels(new.ruleset, old.ruleset))
    prior_old: dict[str, History] = defaultdict(History)
    prior_new: dict[str, History] = defaultdict(History)
    # Two single rulesets (one province's overlay against another's, say) compare what the same
    # visits would give under each, whatever province they name: a what-if, not a routing.
    pinned = len(old.rulesets) == 1 and len(new.rulesets) == 1
    for visit in ordered:
        unit = visit.unit.id
        try:
            r_old = _evaluate(old, visit, prior_old[unit] if history else History(), as_of, pinned)
            r_new = _evaluate(new, visit, prior_new[unit] if history else History(), as_of, pinned)
        except InputError:  # a province one of the catalogues does not cover on that date
            impact.refused += 1
            continue
        if history:
            prior_old[unit].add_result(r_old)
            prior_new[unit].add_result(r_new)
        _count(impact, old, new, r_old, r_new)
    return impact


def _evaluate(engine: Engine, visit: Visit, history: History, as_of: date | None, pinned: bool) -> Result:
    if pinned:
        return engine.evaluate_under(engine.ruleset.name, visit, history=history, as_of=as_of)
    return engine.evaluate(visit, history=history, as_of=as_of)


def _grade_labels(*rulesets: Ruleset) -> dict[str, dict[str, str]]:
    """Every grade of the rulesets' bands, worst last, named as the first ruleset names it."""
    out: dict[str, dict[str, str]] = {}
    for ruleset in rulesets:
        for version in ruleset.grading.versions:
            for band in version.bands:
                out.setdefault(band.grade, {"vi": band.label.vi, "en": band.label.en})
    return out


def _firing(impact: Impact, engine: Engine, result: Result, which: str) -> None:
    ruleset = engine.catalogue.by_name.get(result.ruleset.name, engine.ruleset)
    snapshot = ruleset.in_force(date.fromisoformat(result.ruleset.as_of))
    fired = {f.key for f in result.findings}
    for check, by_rule in snapshot.rules.items():
        for rule in by_rule:
            key = f"{check}.{rule}"
            ri = impact.per_rule[key]
            if which == "old":
                ri.visits_in_force_old += 1
                ri.visits_fired_old += key in fired
            else:
                ri.visits_in_force_new += 1
                ri.visits_fired_new += key in fired


def _count(impact: Impact, old: Engine, new: Engine, r_old: Result, r_new: Result) -> None:
    vid = r_new.visit_id
    impact.visits += 1
    level = impact.per_level[r_new.unit_level]
    year = impact.per_year[r_new.visit_date[:4]]
    province = impact.per_province[r_new.province or "—"]
    buckets = (impact.totals, level, year, province)
    for b in buckets:
        b.visits += 1
        b.findings_old += len(r_old.findings)
        b.findings_new += len(r_new.findings)
    _firing(impact, old, r_old, "old")
    _firing(impact, new, r_new, "new")

    def fkey(f: Any) -> tuple[str, str, str]:
        return (f.key, f.subject.type, f.subject.id)

    fo = {fkey(f): f for f in r_old.findings}
    fn = {fkey(f): f for f in r_new.findings}
    for f in r_old.findings:
        impact.per_rule[f.key].findings_old += 1
        impact.per_version_old[(f.key, str(f.rule_version["effective_from"]))] += 1
    for f in r_new.findings:
        impact.per_rule[f.key].findings_new += 1
        impact.per_version_new[(f.key, str(f.rule_version["effective_from"]))] += 1
    changed = False
    for k in fn.keys() - fo.keys():
        changed = True
        ri = impact.per_rule[k[0]]
        ri.gained += 1
        _example(ri.examples_gained, vid)
        for b in buckets:
            b.gained += 1
    for k in fo.keys() - fn.keys():
        changed = True
        ri = impact.per_rule[k[0]]
        ri.lost += 1
        _example(ri.examples_lost, vid)
        for b in buckets:
            b.lost += 1
    for k in fo.keys() & fn.keys():
        if fo[k].severity != fn[k].severity:
            changed = True
            ri = impact.per_rule[k[0]]
            ri.severity_changed += 1
            _example(ri.examples_severity, vid)
            impact.severity_changed += 1
            version = (k[0], str(fn[k].rule_version["effective_from"]))
            if _SEVERITY_RANK[fn[k].severity] < _SEVERITY_RANK[fo[k].severity]:
                impact.severity_down[version] += 1
            else:
                impact.severity_up[version] += 1

    def skey(s: Any) -> tuple[str, str, str]:
        return (s.code, s.target, s.subject_id)

    so = Counter(skey(s) for s in r_old.sanctions)
    sn = Counter(skey(s) for s in r_new.sanctions)
    impact.sanctions_old += sum(so.values())
    impact.sanctions_new += sum(sn.values())
    for code, n in Counter(s.code for s in r_old.sanctions).items():
        impact.per_sanction[code].old += n
    for code, n in Counter(s.code for s in r_new.sanctions).items():
        impact.per_sanction[code].new += n
    for key, n in (sn - so).items():
        changed = True
        si = impact.per_sanction[key[0]]
        si.gained += n
        _example(si.examples_gained, vid)
        for b in buckets:
            b.sanctions_gained += n
        for s in r_new.sanctions:
            if skey(s) == key:
                for rule in set(s.because):
                    impact.per_rule[rule].sanctions_gained[key[0]] += n
                break
    for key, n in (so - sn).items():
        changed = True
        si = impact.per_sanction[key[0]]
        si.lost += n
        _example(si.examples_lost, vid)
        for b in buckets:
            b.sanctions_lost += n
        for s in r_old.sanctions:
            if skey(s) == key:
                for rule in set(s.because):
                    impact.per_rule[rule].sanctions_lost[key[0]] += n
                break
    grade_old, grade_new = r_old.grade.code, r_new.grade.code
    impact.grades_old[grade_old] += 1
    impact.grades_new[grade_new] += 1
    if grade_old != grade_new:
        changed = True
        move = impact.grade_moves[(grade_old, grade_new)]
        move.visits += 1
        _example(move.examples, vid)
        for b in buckets:
            b.grade_changed += 1
    if changed:
        for b in buckets:
            b.changed += 1
        impact.visits_changed += 1
        _example(impact.examples_changed, vid)


# ---- warnings


@dataclass
class Warning:
    code: str
    rule: str
    params: dict[str, Any]
    level: str = "warning"  # warning | note

    def message(self, lang: Lang) -> str:
        vi, en = WARNINGS[self.code]
        return (vi if lang == "vi" else en).format(rule=self.rule, **self.params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "rule": self.rule,
            **self.params,
            "message": {"vi": self.message("vi"), "en": self.message("en")},
        }


WARNINGS: dict[str, tuple[str, str]] = {
    "loosened_in_place": (
        (
            "{rule}: {what} đã được nới lỏng ngay trong phiên bản từ {version} (không có ngày hiệu lực mới): "
            "số phát hiện của phiên bản này trên các lần kiểm tra đã cho giảm từ {old} xuống {new}. "
            "Nên đóng phiên bản cũ (effective_to) và thêm phiên bản mới có ngày hiệu lực riêng."
        ),
        (
            "{rule}: {what} loosened inside the version from {version} (no new effective date): its findings "
            "on the given visits fall from {old} to {new}. Close the old version (effective_to) and add a "
            "new one with its own effective date."
        ),
    ),
    "tightened_in_place": (
        (
            "{rule}: {what} đã được thắt chặt ngay trong phiên bản từ {version} (không có ngày hiệu lực mới): "
            "số phát hiện tăng từ {old} lên {new}; kết quả của các lần kiểm tra trước đây sẽ thay đổi."
        ),
        (
            "{rule}: {what} tightened inside the version from {version} (no new effective date): findings "
            "rise from {old} to {new}; results of past visits change."
        ),
    ),
    "severity_lowered_in_place": (
        (
            "{rule}: mức độ bị hạ ngay trong phiên bản từ {version} (không có ngày hiệu lực mới; {what}): "
            "{changed} trong {findings} phát hiện của phiên bản này trên các lần kiểm tra đã cho nhận mức độ thấp hơn. "
            "Nên đóng phiên bản cũ (effective_to) và thêm phiên bản mới có ngày hiệu lực riêng."
        ),
        (
            "{rule}: severity lowered inside the version from {version} (no new effective date; {what}): "
            "{changed} of its {findings} findings on the given visits get a lower severity. Close the old "
            "version (effective_to) and add a new one with its own effective date."
        ),
    ),
    "severity_raised_in_place": (
        (
            "{rule}: mức độ bị nâng ngay trong phiên bản từ {version} (không có ngày hiệu lực mới; {what}): "
            "{changed} trong {findings} phát hiện của phiên bản này trên các lần kiểm tra đã cho nhận mức độ cao hơn; "
            "kết quả của các lần kiểm tra trước đây sẽ thay đổi."
        ),
        (
            "{rule}: severity raised inside the version from {version} (no new effective date; {what}): "
            "{changed} of its {findings} findings on the given visits get a higher severity; results of "
            "past visits change."
        ),
    ),
    "changed_in_place_unmeasured": (
        (
            "{rule}: {what} đã thay đổi ngay trong phiên bản từ {version} (không có ngày hiệu lực mới); "
            "không có lần kiểm tra nào để đo là nới lỏng hay thắt chặt (dùng --visits)."
        ),
        (
            "{rule}: {what} changed inside the version from {version} (no new effective date); no visits "
            "to measure whether it is looser or stricter (use --visits)."
        ),
    ),
    "changed_in_place_no_effect": (
        (
            "{rule}: {what} đã thay đổi ngay trong phiên bản từ {version} (không có ngày hiệu lực mới); "
            "trên {visits} lần kiểm tra đã cho không thấy khác biệt nên không xác định được chiều thay đổi."
        ),
        (
            "{rule}: {what} changed inside the version from {version} (no new effective date); the {visits} "
            "given visits show no difference, so its direction is unknown."
        ),
    ),
    "too_strict": (
        "{rule}: phát sinh ở {share} số lần kiểm tra ({fired}/{in_force}) — ngưỡng có quá chặt không?",
        "{rule}: fires on {share} of visits ({fired}/{in_force}) — too strict?",
    ),
    "dead": (
        "{rule}: không phát sinh ở lần kiểm tra nào trong {in_force} lần mà quy tắc có hiệu lực — quy tắc có còn tác dụng không?",
        "{rule}: never fires on the {in_force} visits where it is in force — dead rule?",
    ),
}


def _what(fields: Sequence[Change]) -> str:
    return ", ".join(f"{c.field} {yaml_value(c.old)} → {yaml_value(c.new)}" for c in fields)



def warnings_for(changes: Sequence[Change], impact: Impact | None, *, strict_share: float = STRICT_SHARE) -> list[Warning]:
    out: list[Warning] = []
    in_place: dict[tuple[str, str], list[Change]] = defaultdict(list)
    for c in changes:
        if c.area == "rule" and c.kind == "changed" and c.in_place and c.field and (
            c.field.startswith("thresholds.") or c.field == "severity"
        ):
            in_place[(c.key, c.version or "")].append(c)
    for (rule, version), fields in sorted(in_place.items()):
        params: dict[str, Any] = {"version": version, "what": _what(fields), "fields": [c.field for c in fields]}
        if impact is None or impact.visits == 0:
            severity_only = all(c.field == "severity" for c in fields)
            if severity_only:
                lowered = any(_SEVERITY_RANK.get(c.new, 0) < _SEVERITY_RANK.get(c.old, 0) for c in fields)
                out.append(Warning("changed_in_place_unmeasured", rule, params, "warning" if lowered else "note"))
            else:
                out.append(Warning("changed_in_place_unmeasured", rule, params))
            continue
        old_n = impact.per_version_old[(rule, version)]
        new_n = impact.per_version_new[(rule, version)]
        down, up = impact.severity_down[(rule, version)], impact.severity_up[(rule, version)]
        if new_n < old_n:
            out.append(Warning("loosened_in_place", rule, {**params, "old": old_n, "new": new_n}))
        elif new_n > old_n:
            out.append(Warning("tightened_in_place", rule, {**params, "old": old_n, "new": new_n}, "note"))
        elif down > up:
            out.append(Warning("severity_lowered_in_place", rule, {**params, "changed": down, "findings": new_n}))
        elif up > down:
            out.append(Warning("severity_raised_in_place", rule, {**params, "changed": up, "findings": new_n}, "note"))
        else:
            params["visits"] = impact.visits
            out.append(Warning("changed_in_place_no_effect", rule, params))
    if impact is not None and impact.visits:
        for rule, ri in sorted(impact.per_rule.items()):
            if not ri.visits_in_force_new:
                continue
            share = ri.visits_fired_new / ri.visits_in_force_new
            params = {"share": f"{share:.0%}", "fired": ri.visits_fired_new, "in_force": ri.visits_in_force_new}
            if share > strict_share:
                out.append(Warning("too_strict", rule, params))
            elif ri.visits_fired_new == 0:
                out.append(Warning("dead", rule, params))
    return out


# ---- the whole report


@dataclass
class DiffReport:
    old: Any
    new: Any
    """The two catalogues compared (a single ruleset is a catalogue of one)."""
    changes: list[Change]
    impact: Impact | None
    warnings: list[Warning]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": {"directory": str(self.old.directory), "name": self.old.name, "version": self.old.version, "digest": self.old.digest},
            "new": {"directory": str(self.new.directory), "name": self.new.name, "version": self.new.version, "digest": self.new.digest},
            "changes": [c.to_dict() for c in self.changes],
            "warnings": [w.to_dict() for w in self.warnings],
            "impact": self.impact.to_dict() if self.impact is not None else None,
        }


def diff_rulesets(
    old: Engine,
    new: Engine,
    visits: Iterable[Visit] | None = None,
    *,
    as_of: date | None = None,
    history: bool = True,
    strict_share: float = STRICT_SHARE,
) -> DiffReport:
    changes = catalogue_changes(old, new)
    impact = replay(old, new, visits, as_of=as_of, history=history) if visits is not None else None
    return DiffReport(old.catalogue, new.catalogue, changes, impact, warnings_for(changes, impact, strict_share=strict_share))


def catalogue_changes(old: Engine, new: Engine) -> list[Change]:
    """The changes of each province's ruleset that both engines have (a national change made
    once in the base shows in every province it applies to); two single rulesets are compared
    with each other whatever their names."""
    olds, news = old.catalogue.by_name, new.catalogue.by_name
    if len(olds) == 1 and len(news) == 1:
        return ruleset_changes(old.ruleset, new.ruleset)
    out: list[Change] = []
    both = sorted(set(olds) & set(news))
    for name in sorted(set(olds) ^ set(news)):
        out.append(Change("ruleset", name, "added" if name in news else "removed", ruleset=name))
    seen: dict[str, list[tuple[str, Change]]] = {}
    for name in both:
        for change in ruleset_changes(olds[name], news[name]):
            seen.setdefault(repr(change), []).append((name, change))
    # A change every province's ruleset shows (a national one, made once in the base) is said
    # once; one only some provinces show names them.
    for found in seen.values():
        if len(found) == len(both):
            out.append(found[0][1])
            continue
        for name, change in found:
            change.ruleset = name
            out.append(change)
    return out


__all__ = ["Change", "DiffReport", "catalogue_changes", "Impact", "Warning", "diff_rulesets", "replay", "ruleset_changes", "warnings_for"]
