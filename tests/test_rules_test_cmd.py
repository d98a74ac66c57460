"""`compliance rules test`: the example cases beside the rules, failures as a readable diff,
and rule coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _authoring_support import copy_rules, line_of, replace_nth, run, shipped_probe

from compliance.authoring.ruletest import render_text, run_rule_tests
from compliance.engine import Engine
from compliance.errors import PluginError

# A check plugin may ship its own case files (run too); counts below allow for them.
BUILT_IN = ("working_hours", "office_culture", "alcohol_tobacco", "one_stop", "tthc_posting", "altar_ban")

# Our own case file, so that these tests do not depend on the shipped cases.
CASES = """\
# yaml-language-server: $schema=../schema/cases.schema.json
check: working_hours
base:
  visit_id: T-1
  inspected_at: "2018-06-12T08:00:00+07:00"
  unit: {id: xa-a, level: commune}
cases:
  - name: absent with no reason is a finding
    visit:
      personnel: [{id: a1, attendance: absent}]
    expect:
      - {rule: absent_unexcused, subject: a1, severity: moderate, version: 2016-09-05}
  - name: arriving ten minutes late is a finding
    visit:
      personnel: [{id: l1, attendance: late, arrived_at: "07:10"}]
    expect:
      - {rule: late_arrival, subject: l1, evidence: {minutes_late: 10, grace_minutes: 0}}
  - name: on time is no finding
    visit:
      personnel: [{id: p1, attendance: present}]
    expect: []
"""


def _own_cases(tmp_path: Path) -> tuple[Path, Path]:
    rules = copy_rules(tmp_path, cases=False)
    (rules / "cases").mkdir()
    path = rules / "cases" / "working_hours.yaml"
    path.write_text(CASES, encoding="utf-8")
    return rules, path


def test_shipped_rules_pass_and_report_coverage() -> None:
    done = run("rules", "test")
    assert done.exit_code == 0, done.output
    assert "all passed" in done.output
    assert "Coverage:" in done.output


def test_own_cases_pass_and_coverage_names_what_is_untested(tmp_path: Path) -> None:
    rules, _ = _own_cases(tmp_path)
    done = run("rules", "test", rules)
    assert done.exit_code == 0, done.output
    assert re.search(r"✓ \d+ cases: all passed", done.output)
    assert "rules no case makes fire" in done.output
    assert "working_hours.high_absence_rate" in done.output  # no case makes it fire
    assert "versions no case exercises" in done.output
    assert "working_hours.late_arrival (from 2010-01-01)" in done.output
    assert run("rules", "test", rules, "--require-coverage").exit_code == 1


def test_breaking_a_threshold_fails_with_a_readable_diff(tmp_path: Path) -> None:
    rules, cases = _own_cases(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: 30}", -1)
    done = run("rules", "test", rules)
    assert done.exit_code == 1, done.output
    case_line = line_of(cases, "  - name: arriving ten minutes late")
    assert f"✗ working_hours: arriving ten minutes late is a finding  ({cases}:{case_line})" in done.output
    assert "findings (− expected but missing, + found but not expected, ~ found but differs):" in done.output
    assert "      − working_hours.late_arrival@l1" in done.output
    assert "• expected working_hours.late_arrival@l1, not found" in done.output
    assert re.search(r"✗ \d+ cases: \d+ passed, 1 failed", done.output)

    vi = run("rules", "test", rules, "--lang", "vi")
    assert vi.exit_code == 1
    assert "mong đợi phát hiện working_hours.late_arrival@l1 nhưng không có" in vi.output
    assert re.search(r"\d+ ví dụ: \d+ đạt, 1 không đạt", vi.output)


def test_details_that_differ_are_marked(tmp_path: Path) -> None:
    rules, cases = _own_cases(tmp_path)
    replace_nth(cases, "{rule: absent_unexcused, subject: a1, severity: moderate", "{rule: absent_unexcused, subject: a1, severity: serious")
    done = run("rules", "test", rules)
    assert done.exit_code == 1
    assert "      ~ working_hours.absent_unexcused@a1" in done.output
    assert "working_hours.absent_unexcused@a1: severity moderate, expected serious" in done.output


def test_unexpected_finding_is_a_plus_line(tmp_path: Path) -> None:
    rules, cases = _own_cases(tmp_path)
    replace_nth(cases, "personnel: [{id: p1, attendance: present}]", "personnel: [{id: p1, attendance: absent}]")
    done = run("rules", "test", rules)
    assert done.exit_code == 1
    assert "      + working_hours.absent_unexcused@p1" in done.output
    assert "unexpected working_hours.absent_unexcused@p1" in done.output


def test_json_format(tmp_path: Path) -> None:
    rules, _ = _own_cases(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: 30}", -1)
    done = run("rules", "test", rules, "--format", "json")
    assert done.exit_code == 1
    data = json.loads(done.stdout)
    assert data["passed"] is False and data["total"] >= 3 and data["failed"] == 1
    failed = next(c for c in data["cases"] if not c["passed"])
    assert failed["expected"] == ["working_hours.late_arrival@l1"] and failed["actual"] == []
    assert failed["failures"][0]["vi"].startswith("mong đợi phát hiện")
    assert "working_hours.high_absence_rate" in data["coverage"]["never_fired"]


def test_a_broken_case_file_fails_with_its_location(tmp_path: Path) -> None:
    rules, cases = _own_cases(tmp_path)
    line = replace_nth(cases, "{rule: late_arrival, subject: l1", "{rule: late_arival, subject: l1")
    done = run("rules", "test", rules)
    assert done.exit_code == 1
    assert f"{cases}:{line}:" in done.output
    assert "check 'working_hours' has no rule 'late_arival' (did you mean 'late_arrival'?)" in done.output

    cases.write_text("check: working_hours\ncases: []\n", encoding="utf-8")
    done = run("rules", "test", rules)
    assert done.exit_code == 1
    assert f"{cases}:2:" in done.output and "expected at least 1 item(s), found 0" in done.output


def test_a_case_with_an_invalid_visit_is_skipped_by_test_as_validate_says(tmp_path: Path) -> None:
    """`rules validate` said such a case is skipped by `rules test`, which then ran it and
    counted it failed ("the case's visit is not valid"), as if the rules had changed. Both
    commands now say and do the same: the mistake at its file:line:column, the case skipped."""
    rules, cases = _own_cases(tmp_path)
    line = replace_nth(cases, "personnel: [{id: p1, attendance: present}]", "personnel: [{id: p1, attendance: here}]")
    for lang, said, problem, counted in [
        ("en", "'rules test' skips the broken cases", "invalid value 'here'", "0 failed, 1 skipped because of errors"),
        ("vi", "'rules test' bỏ qua các ví dụ có lỗi", "giá trị 'here' không hợp lệ", "0 không đạt, 1 bị bỏ qua do lỗi"),
    ]:
        validated = run("rules", "validate", rules, "--lang", lang)
        assert validated.exit_code == 1 and said in validated.output, validated.output
        (located,) = [x for x in validated.output.splitlines() if x.startswith(f"{cases}:{line}:")]
        assert problem in located
        tested = run("rules", "test", rules, "--lang", lang)
        assert tested.exit_code == 1, tested.output
        assert located in tested.output.splitlines()
        assert counted in tested.output
        assert "on time is no finding" not in tested.output
        assert "the case's visit is not valid" not in tested.output and "lần kiểm tra của ví dụ không hợp lệ" not in tested.output


def test_no_case_files(tmp_path: Path) -> None:
    import importlib

    rules = copy_rules(tmp_path, cases=False)
    modules = [importlib.import_module(f"compliance_checks.{name}") for name in BUILT_IN]
    engine = Engine.load(rules, plugins=modules, entry_points=False)
    report = run_rule_tests(engine)
    assert report.passed and not report.outcomes
    lines = [text for text, _ in render_text(report, "en")]
    assert any("No case files" in line for line in lines)
    assert report.coverage is not None and len(report.coverage.never_fired) == sum(len(r) for r in engine.ruleset.rules.values())


def test_invalid_rules_are_refused(tmp_path: Path) -> None:
    rules, _ = _own_cases(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}")
    done = run("rules", "test", rules)
    assert done.exit_code == 2
    assert "expected a whole number, found 'five'" in done.output


def test_a_plugin_that_raises_stops_the_run_naming_it_not_failing_each_case_as_invalid(tmp_path: Path) -> None:
    """The plugin is broken, not the cases' visits: the run stops as evaluation does (exit 2)."""
    engine = Engine.load(copy_rules(tmp_path), plugins=[shipped_probe(tmp_path, raises=True)])
    with pytest.raises(PluginError) as caught:
        run_rule_tests(engine)
    assert [p.code for p in caught.value.problems] == ["plugin_failed"]
    assert "check 'probe'" in caught.value.render("en") and "boom in probe" in caught.value.render("en")


def test_a_case_with_a_bad_field_is_skipped_alone_and_counted_and_coverage_does_not_guess(tmp_path: Path) -> None:
    """Before, one misspelt severity skipped the file's every case behind '3 cases: 3 passed',
    and coverage then said the file's rules never fire."""
    rules, cases = _own_cases(tmp_path)
    replace_nth(cases, "severity: moderate", "severity: moderat")
    done = run("rules", "test", rules, "--format", "json")
    assert done.exit_code == 1, done.output
    data = json.loads(done.output)
    ran = [c["name"] for c in data["cases"] if c["check"] == "working_hours"]
    assert ran == ["arriving ten minutes late is a finding", "on time is no finding"]
    total = data["total"]  # a plugin's shipped cases run too
    assert (total, data["failed"], data["skipped"]) == (len(data["cases"]) + 1, 0, 1)
    assert "working_hours.high_absence_rate" in data["coverage"]["not_run"]  # no case here fires it
    assert not [r for r in data["coverage"]["never_fired"] + data["coverage"]["never_silent"] if r.startswith("working_hours.")]
    for lang, summary in [
        ("en", f"✗ {total} cases: {total - 1} passed, 0 failed, 1 skipped because of errors"),
        ("vi", f"✗ {total} ví dụ: {total - 1} đạt, 0 không đạt, 1 bị bỏ qua do lỗi"),
    ]:
        text = run("rules", "test", rules, "--lang", lang).output
        assert summary in text, text
        assert ("so not run" if lang == "en" else "chưa biết có phát sinh hay không") in text
