"""Run every example case of every installed check (rules/cases/*.yaml and plugin-shipped ones).

Each case is one test, named "<check>: <case name>". The same files drive
`compliance rules test`, so policy staff and developers test the rules the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from compliance import ComplianceError, Engine
from compliance.cases import CaseOutcome, case_files, coverage, load_case_file, run_file


@functools.lru_cache(maxsize=1)
def _engine() -> Engine:
    """The engine, loaded once per test session (collection and the fixtures share it)."""
    return Engine.load()


def _case_params() -> Iterator[object]:
    engine = _engine()
    for path in case_files(engine):
        try:
            spec, _ = load_case_file(path)
        except ComplianceError as exc:
            yield pytest.param(path, None, exc.render("en"), id=f"{path.name}: does not load")
            continue
        for index, case in enumerate(spec.cases):
            yield pytest.param(path, index, None, id=f"{spec.check}: {case.name}")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return _engine()


_REFUSED: dict[Path, str] = {}
"""Why a case file that loads could not be run (an expectation that can never hold), by file."""


@pytest.fixture(scope="module")
def outcomes(engine: Engine) -> dict[Path, list[CaseOutcome]]:
    """Every case file run once; the per-case tests pick their outcome from here."""
    ran: dict[Path, list[CaseOutcome]] = {}
    for path in case_files(engine):
        try:
            ran[path] = run_file(engine, path)
        except ComplianceError as exc:
            _REFUSED[path] = exc.render("en")  # reported by each case of the file
    return ran


def _explain(outcome: CaseOutcome) -> str:
    where = f"{outcome.file}:{outcome.line}" if outcome.line else outcome.file
    lines = [f"case {outcome.id!r} ({where}) failed:"]
    lines += [f"  - {failure}" for failure in outcome.failures]
    lines.append("  expected findings: " + (", ".join(outcome.expected) or "(none)"))
    lines.append("  actual findings:   " + (", ".join(outcome.actual) or "(none)"))
    if outcome.result is not None:
        lines.append("  all findings of the visit:")
        for f in outcome.result.findings:
            lines.append(
                f"    {f.check}.{f.rule}@{f.subject.id} severity={f.severity} "
                f"version={f.rule_version['effective_from']} evidence={f.evidence} "
                f"sanctions={[s.code for s in f.sanctions]}"
            )
        lines.append("  visit sanctions: " + ", ".join(f"{s.code}->{s.target}:{s.subject_id}" for s in outcome.result.sanctions))
    return "\n".join(lines)


@pytest.mark.parametrize(("path", "index", "load_error"), list(_case_params()))
def test_case(outcomes: dict[Path, list[CaseOutcome]], path: Path, index: int | None, load_error: str | None) -> None:
    assert load_error is None, f"{path} does not load:\n{load_error}"
    assert path in outcomes, f"{path} could not be run:\n{_REFUSED.get(path, '')}"
    outcome = outcomes[path][index]
    assert outcome.passed, _explain(outcome)


def test_case_names_are_unique_per_file(engine: Engine) -> None:
    for path in case_files(engine):
        spec, _ = load_case_file(path)
        names = [case.name for case in spec.cases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        assert not duplicates, f"{path}: duplicate case names {duplicates}"


def test_every_installed_check_has_cases(engine: Engine) -> None:
    with_cases = {load_case_file(p)[0].check for p in case_files(engine)}
    missing = sorted(info.check.id for info in engine.checks if info.check.id not in with_cases)
    assert not missing, f"checks without a case file: {missing}"


def test_coverage_is_complete(engine: Engine, outcomes: dict[Path, list[CaseOutcome]]) -> None:
    everything = [o for ran in outcomes.values() for o in ran]
    report = coverage(engine, everything)
    assert report.never_fired == [], f"rules no case makes fire: {report.never_fired}"
    assert report.never_silent == [], f"rules no case leaves alone: {report.never_silent}"
    assert report.versions_untested == [], f"rule versions no case fires: {report.versions_untested}"
    assert report.complete


# Fine ranges (VND) the alcohol/tobacco cases must show, by offence and date of the rules.
_FINES: dict[str, list[tuple[date, date | None, int, int]]] = {
    "alcohol_tobacco.alcohol_during_work": [(date(2020, 11, 15), None, 1_000_000, 3_000_000)],
    "alcohol_tobacco.smoking_at_office": [
        (date(2014, 1, 1), date(2020, 11, 14), 100_000, 300_000),
        (date(2020, 11, 15), None, 200_000, 500_000),
    ],
    "alcohol_tobacco.no_smoking_sign_missing": [
        (date(2014, 1, 1), date(2020, 11, 14), 3_000_000, 5_000_000),
        (date(2020, 11, 15), None, 6_000_000, 10_000_000),  # an organisation pays double (NĐ 117 Điều 4 khoản 5)
    ],
}


def _expected_fine(rule: str, day: date) -> tuple[int, int] | None:
    for start, end, low, high in _FINES.get(rule, ()):
        if start <= day and (end is None or day <= end):
            return low, high
    return None


def test_fine_ranges_follow_the_date(outcomes: dict[Path, list[CaseOutcome]]) -> None:
    """Every fine the alcohol/tobacco cases recommend has the range in force on the rules date,
    no fine appears where none was in force, and every range period is exercised."""
    seen: set[tuple[str, date]] = set()
    problems: list[str] = []
    for ran in outcomes.values():
        for outcome in ran:
            if outcome.check != "alcohol_tobacco" or outcome.result is None:
                continue
            day = date.fromisoformat(outcome.result.ruleset.as_of)
            fined = set()
            for sanction in outcome.result.sanctions:
                if sanction.code != "administrative_fine":
                    continue
                for rule in sanction.because:
                    fined.add(rule)
                    want = _expected_fine(rule, day)
                    got = (sanction.fine or {}).get("min"), (sanction.fine or {}).get("max")
                    if want is None:
                        problems.append(f"{outcome.id}: fine {got} for {rule} on {day}, none in force")
                    elif got != want:
                        problems.append(f"{outcome.id}: fine {got} for {rule} on {day}, expected {want}")
                    else:
                        seen.add((rule, next(s for s, e, *_ in _FINES[rule] if s <= day and (e is None or day <= e))))
            for finding in outcome.result.findings:
                key = f"{finding.check}.{finding.rule}"
                if key in _FINES and _expected_fine(key, day) is not None and key not in fined:
                    problems.append(f"{outcome.id}: {key} on {day} has no fine, expected one")
    assert not problems, "\n".join(problems)
    periods = {(rule, start) for rule, versions in _FINES.items() for start, *_ in versions}
    assert periods <= seen, f"fine periods no case exercises: {sorted(periods - seen)}"


def test_coverage_counts_a_finding_only_in_a_case_of_its_own_check() -> None:
    """A case of office_culture whose visit also makes alcohol_tobacco fire states nothing about
    alcohol_tobacco: that rule is still never made to fire by a case of its own."""
    engine = Engine.load()
    visit = {
        "visit_id": "COV", "inspected_at": "2018-06-12T08:00:00+07:00", "unit": {"id": "u", "level": "commune"},
        "personnel": [{"id": "a", "attendance": "present", "wearing_id_card": False, "signed_pledge": False}],
    }
    result = engine.evaluate(visit)
    assert {f.key for f in result.findings} >= {"office_culture.no_id_card", "alcohol_tobacco.pledge_not_signed"}
    outcome = CaseOutcome(file="x.yaml", check="office_culture", name="card", line=1, result=result)
    found = coverage(engine, [outcome])
    assert "office_culture.no_id_card" not in found.never_fired
    assert "alcohol_tobacco.pledge_not_signed" in found.never_fired
    assert coverage(engine, [outcome], not_run=["office_culture"]).not_run == [
        f"office_culture.{r}" for r in engine.ruleset.rules["office_culture"]
    ]
