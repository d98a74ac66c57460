"""Example cases that live beside the rules: a visit in, the expected findings out.

A case file (`rules/cases/<check>.yaml`) holds a `base` visit and a list of cases; each case
deep-merges its `visit` onto the base (mappings merge, lists replace) and names the findings
of that check it expects, exactly. The same files drive the test suite and
`compliance rules test`, so policy staff and developers test rules the same way.

```yaml
check: working_hours
base: {visit_id: T-1, inspected_at: "2018-06-12T08:00:00+07:00", unit: {id: u, level: commune}}
cases:
  - name: absent with no reason is a finding
    visit: {personnel: [{id: a, attendance: absent}]}
    expect:
      - {rule: absent_unexcused, subject: a, severity: moderate}
```
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .check import Check, SubjectType
from .common import Severity, described
from .engine import Engine
from .errors import ComplianceError, InputError, PluginError, RulesError
from .result import PriorFinding, Result
from .ruleset.model import Target
from .validation import problems as validation_problems
from .yamlsafe import YamlDocument, load_document, read_at_most

MAX_CASE_FILE_BYTES = 4 * 1024 * 1024
Day = date
"""`date`, for a field that is itself called `date`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedFinding(_Strict):
    rule: str = Field(**described("Rule id within the case file's check, e.g. 'late_arrival'.", "Mã quy tắc thuộc kiểm tra của tệp ví dụ, ví dụ 'late_arrival'."))
    subject: str | None = Field(default=None, **described("Official or unit id; omitted: any.", "Mã cá nhân hoặc đơn vị; bỏ trống: bất kỳ."))
    severity: Severity | None = Field(default=None, **described("The severity expected.", "Mức độ mong đợi."))
    version: date | None = Field(default=None, **described(
        "effective_from of the rule version expected to apply.", "effective_from của phiên bản quy tắc mong đợi được áp dụng."
    ))
    evidence: dict[str, Any] | None = Field(default=None, **described("Evidence values that must match (a subset).", "Các giá trị bằng chứng phải khớp (một phần)."))
    sanctions: list[str] | None = Field(default=None, **described(
        "Sanction codes expected on this finding (a subset).", "Các kiến nghị xử lý mong đợi cho phát hiện này (một phần)."
    ))


class ExpectedSanction(_Strict):
    code: str = Field(**described("The sanction's code, e.g. 'reminder'.", "Mã hình thức xử lý, ví dụ 'reminder'."))
    target: Target | None = Field(default=None, **described("Who it is for; omitted: anyone.", "Đối tượng; bỏ trống: bất kỳ."))
    subject: str | None = Field(default=None, **described("Official or unit id; omitted: any.", "Mã cá nhân hoặc đơn vị; bỏ trống: bất kỳ."))


class SanctionExpectations(_Strict):
    include: list[ExpectedSanction] = Field(default_factory=list, **described("Sanctions that must be recommended.", "Các kiến nghị phải có."))
    exclude: list[ExpectedSanction] = Field(default_factory=list, **described("Sanctions that must not be recommended.", "Các kiến nghị không được có."))


class HistoryEntry(_Strict):
    visit_id: str = Field(**described("The earlier visit's id.", "Mã lần kiểm tra trước."))
    date: Day = Field(**described("The earlier visit's date, YYYY-MM-DD.", "Ngày của lần kiểm tra trước, YYYY-MM-DD."))
    rule: str = Field(**described("'check.rule' of the earlier finding.", "Mã quy tắc 'check.rule' của phát hiện trước."))
    subject: str = Field(**described("Official or unit id of the earlier finding.", "Mã cá nhân hoặc đơn vị của phát hiện trước."))
    subject_type: SubjectType = Field("official", **described("Whether the subject is an official or a unit.", "Đối tượng là cá nhân hay đơn vị."))
    unit_id: str | None = Field(default=None, **described("Defaults to the case visit's unit.", "Mặc định là đơn vị của lần kiểm tra trong ví dụ."))


class Case(_Strict):
    name: str = Field(**described("What the case shows, in a few words.", "Ví dụ này cho thấy điều gì, trong vài từ."))
    visit: dict[str, Any] = Field(default_factory=dict, **described(
        "Merged onto `base`: mappings merge, lists replace.", "Được gộp vào `base`: mapping được gộp, danh sách được thay thế."
    ))
    as_of: date | None = Field(default=None, **described("Evaluate with the rules in force on this date.", "Đánh giá theo quy tắc có hiệu lực vào ngày này."))
    history: list[HistoryEntry] = Field(default_factory=list, **described("Earlier findings, for repeats.", "Các phát hiện trước đó, để xét lặp lại."))
    expect: list[ExpectedFinding] = Field(**described(
        "Exactly the findings of this check expected; [] when it stays silent.", "Đúng các phát hiện của kiểm tra này được mong đợi; [] khi không có phát hiện."
    ))
    sanctions: SanctionExpectations | None = Field(default=None, **described("Sanctions that must or must not be recommended.", "Các kiến nghị phải có hoặc không được có."))
    grade: str | None = Field(default=None, **described("The grade expected, e.g. 'fair'.", "Xếp loại mong đợi, ví dụ 'fair'."))


class CaseFile(_Strict):
    check: str = Field(**described("The check whose findings the cases expect.", "Kiểm tra mà các ví dụ mong đợi phát hiện."))
    base: dict[str, Any] = Field(default_factory=dict, **described("The visit every case starts from.", "Lần kiểm tra mà mọi ví dụ dựa vào."))
    cases: list[Case] = Field(min_length=1, **described("The cases: a visit in, the findings expected out.", "Các ví dụ: một lần kiểm tra vào, các phát hiện mong đợi ra."))


@dataclass
class CaseOutcome:
    file: str
    check: str
    name: str
    line: int | None
    failures: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)
    result: Result | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def id(self) -> str:
        return f"{self.check}: {self.name}"


def merge(base: Any, override: Any) -> Any:
    """Deep-merge mappings; anything else in `override` replaces what `base` had."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)


def load_case_file(path: str | Path) -> tuple[CaseFile, YamlDocument]:
    path = Path(path)
    doc = load_document(read_at_most(path, MAX_CASE_FILE_BYTES), str(path), max_bytes=MAX_CASE_FILE_BYTES)
    try:
        return CaseFile.model_validate(doc.data or {}), doc
    except ValidationError as exc:
        raise RulesError(validation_problems(exc, CaseFile, source=str(path), doc=doc, style="arrows")) from None


def case_files(engine: Engine) -> list[Path]:
    """The case files of the engine's rules: `cases/*.yaml` of the catalogue and of each of its
    rulesets, plus plugin-shipped ones."""
    return find_case_files(engine.catalogue.case_dirs, [info.check for info in engine.checks])


def find_case_files(directories: Path | Iterable[Path], checks: Iterable[Check]) -> list[Path]:
    """`case_files` for rules that may not load: `rules validate` checks the same files
    that `rules test` runs, a plugin's shipped cases included."""
    roots = [directories] if isinstance(directories, (str, Path)) else list(directories)
    found = []
    for root in roots:
        found.extend(p for p in sorted((Path(root) / "cases").glob("*.yaml")) if p not in found)
    names = {p.stem for p in found}
    for check in checks:
        shipped = check.rules_dir
        if shipped is not None and check.id not in names:
            candidate = Path(shipped) / "cases" / f"{check.id}.yaml"
            if candidate.is_file():
                found.append(candidate)
    return found


def _describe(check: str, rule: str, subject: str | None) -> str:
    return f"{check}.{rule}@{subject}" if subject else f"{check}.{rule}"


def run_case(engine: Engine, spec: CaseFile, case: Case, *, file: str, line: int | None) -> CaseOutcome:
    outcome = CaseOutcome(file=file, check=spec.check, name=case.name, line=line)
    visit = merge(spec.base, case.visit)
    try:
        unit_id = visit.get("unit", {}).get("id", "")
        history = [
            PriorFinding(h.visit_id, h.date, h.unit_id or unit_id, h.subject_type, h.subject, h.rule)
            for h in case.history
        ]
        result = engine.evaluate(visit, history=history, as_of=case.as_of)
    except PluginError:
        raise  # the plugin is broken, not the case: stop with its name, as evaluation does
    except ComplianceError as exc:
        outcome.failures.append("the case's visit is not valid: " + exc.render("en"))
        return outcome
    outcome.result = result
    mine = [f for f in result.findings if f.check == spec.check]
    outcome.actual = sorted(_describe(f.check, f.rule, f.subject.id) for f in mine)
    outcome.expected = sorted(_describe(spec.check, e.rule, e.subject) for e in case.expect)
    unmatched = list(mine)
    for expected in case.expect:
        match = next(
            (f for f in unmatched if f.rule == expected.rule and (expected.subject is None or f.subject.id == expected.subject)),
            None,
        )
        label = _describe(spec.check, expected.rule, expected.subject)
        if match is None:
            outcome.failures.append(f"expected {label}, not found")
            continue
        unmatched.remove(match)
        if expected.severity and match.severity != expected.severity:
            outcome.failures.append(f"{label}: severity {match.severity}, expected {expected.severity}")
        if expected.version and match.rule_version["effective_from"] != expected.version.isoformat():
            outcome.failures.append(
                f"{label}: rule version from {match.rule_version['effective_from']}, expected {expected.version}"
            )
        for key, value in (expected.evidence or {}).items():
            if match.evidence.get(key) != value:
                outcome.failures.append(f"{label}: evidence {key}={match.evidence.get(key)!r}, expected {value!r}")
        codes = {s.code for s in match.sanctions}
        for code in expected.sanctions or ():
            if code not in codes:
                outcome.failures.append(f"{label}: sanction {code} expected, got {sorted(codes)}")
    for extra in unmatched:
        outcome.failures.append(f"unexpected {_describe(extra.check, extra.rule, extra.subject.id)}")
    if case.sanctions:
        for want in case.sanctions.include:
            if not any(_sanction_matches(s, want) for s in result.sanctions):
                outcome.failures.append(f"expected sanction {_sanction_label(want)}, not recommended")
        for unwanted in case.sanctions.exclude:
            if any(_sanction_matches(s, unwanted) for s in result.sanctions):
                outcome.failures.append(f"sanction {_sanction_label(unwanted)} recommended, expected not")
    if case.grade and result.grade.code != case.grade:
        outcome.failures.append(f"grade {result.grade.code}, expected {case.grade}")
    return outcome


def _sanction_matches(sanction: Any, want: ExpectedSanction) -> bool:
    return (
        sanction.code == want.code
        and (want.target is None or sanction.target == want.target)
        and (want.subject is None or sanction.subject_id == want.subject)
    )


def _sanction_label(want: ExpectedSanction) -> str:
    return want.code + (f" → {want.target}" if want.target else "") + (f" {want.subject}" if want.subject else "")


def run_file(engine: Engine, path: str | Path) -> list[CaseOutcome]:
    """Run a case file's cases, once `rules validate` would find nothing wrong with it: an
    expectation that can never hold (a misspelt sanction, grade or evidence key) or a visit that
    is not one is a RulesError naming all of them, not a case failure that reads like a change
    in the rules."""
    from .authoring.validate import validate_case_file  # authoring builds on this module

    installed = {info.check.id: info.check for info in engine.checks}
    checked = validate_case_file(path, installed, ruleset=engine.catalogue)
    if checked.problems or checked.spec is None or checked.doc is None:
        raise RulesError(checked.problems)
    spec, doc = checked.spec, checked.doc
    out = []
    for index, case in checked.runnable():
        line, _ = doc.locate(("cases", index))
        out.append(run_case(engine, spec, case, file=str(path), line=line))
    return out


def run_all(engine: Engine, paths: Iterable[str | Path] | None = None) -> list[CaseOutcome]:
    outcomes: list[CaseOutcome] = []
    for path in paths if paths is not None else case_files(engine):
        outcomes.extend(run_file(engine, path))
    return outcomes


@dataclass
class Coverage:
    never_fired: list[str]
    never_silent: list[str]
    versions_untested: list[str]
    not_run: list[str] = field(default_factory=list)
    """Rules that would be listed above but whose check had cases skipped because of errors:
    what the skipped cases would have shown is not known, so it is not claimed."""

    @property
    def complete(self) -> bool:
        return not (self.never_fired or self.never_silent or self.versions_untested or self.not_run)


def coverage(engine: Engine, outcomes: Sequence[CaseOutcome], not_run: Iterable[str] = ()) -> Coverage:
    """Which rules no case makes fire or leaves alone, and which rule versions no case fires;
    the rules of the checks in `not_run` (cases skipped because of errors) are said not run."""
    fired: set[str] = set()
    silent: set[str] = set()
    fired_versions: set[tuple[str, str]] = set()
    for outcome in outcomes:
        if outcome.result is None:
            continue
        # Only the case's own check counts: another check's case never states what it expects
        # of this one, so a finding there tests nothing.
        own = [f for f in outcome.result.findings if f.check == outcome.check]
        seen = {(f.check, f.rule) for f in own}
        for f in own:
            fired.add(f.key)
            fired_versions.add((f.key, str(f.rule_version["effective_from"])))
        for rule in engine.catalogue.rule_versions.get(outcome.check, {}):
            if (outcome.check, rule) not in seen:
                silent.add(f"{outcome.check}.{rule}")
    skipped = set(not_run)

    def known(rule: str) -> bool:
        return rule.partition(".")[0] not in skipped

    every = engine.catalogue.rule_versions
    all_rules = [f"{c}.{r}" for c, rules in every.items() for r in rules]
    # A skipped case may have been the one to make a rule fire or stay silent: its check's rules
    # are "not run", whatever the other cases show, and coverage is not complete.
    unsure = [r for r in all_rules if not known(r)]

    versions = [
        (f"{c}.{r}", v.effective_from.isoformat())
        for c, rules in every.items()
        for r, vs in rules.items()
        for v in vs
    ]
    never_fired = [r for r in all_rules if r not in fired and known(r)]
    never_silent = [r for r in all_rules if r not in silent and known(r)]
    untested = [f"{r} (from {d})" for r, d in versions if (r, d) not in fired_versions and known(r)]
    return Coverage(never_fired, never_silent, untested, unsure)


__all__ = ["Case", "CaseFile", "CaseOutcome", "Coverage", "case_files", "coverage", "merge", "run_all", "run_file", "InputError"]
