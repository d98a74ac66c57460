"""Mistakes in case files: every one reported in a single `rules validate` run, located, in both
languages, with did-you-mean; and `rules test` runs only the cases that can mean something.

The cases live in fixtures/case_file_errors.yaml (a case file in, the expected errors out), so
that a new mistake to catch is a few lines of YAML.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from _authoring_support import copy_rules, run

from compliance import Engine
from compliance.authoring.ruletest import run_rule_tests
from compliance.authoring.validate import validate_case_file
from compliance.cases import run_file
from compliance.errors import RulesError
from compliance.yamlsafe import load_document

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "case_file_errors.yaml").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine.load()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_mistake_of_a_case_file_in_one_run(tmp_path: Path, case: dict[str, Any]) -> None:
    engine = _engine()
    path = tmp_path / "mine.yaml"
    path.write_text(case["file"], encoding="utf-8")
    installed = {info.check.id: info.check for info in engine.checks}
    checked = validate_case_file(path, installed, ruleset=engine.ruleset)

    got = [(p.line, p.path, p.message("en")) for p in checked.problems]
    want = case["errors"]
    assert [(w["line"], w["path"]) for w in want] == [(line, where) for line, where, _ in got], got
    for problem, expected in zip(checked.problems, want):
        assert problem.file == str(path) and problem.column is not None
        assert expected["en"] in problem.message("en")
        if "vi" in expected:
            assert expected["vi"] in problem.message("vi")
    assert [i for i, _ in checked.runnable()] == case["runs"]
    assert checked.skipped == checked.total - len(case["runs"])
    # `rules test` runs exactly those, and counts the others as skipped: as `rules validate` says.
    tested = run_rule_tests(engine, [path])
    listed = load_document(case["file"], "mine.yaml", collect_bad_dates=True).data.get("cases") or []
    names = [c.get("name") if isinstance(c, dict) else None for c in listed]
    assert [o.name for o in tested.outcomes] == [names[i] for i in case["runs"]]
    assert sum(tested.skipped.values()) == checked.skipped
    assert [p.render("en") for p in tested.problems] == [p.render("en") for p in checked.problems]


def test_validate_and_test_report_expectations_with_file_and_line(tmp_path: Path) -> None:
    """The QA report: a case whose expectations cannot hold is refused by `rules validate` and
    reported by `rules test` before running, instead of failing as if the rules had changed."""
    rules = copy_rules(tmp_path, cases=False)
    (rules / "cases").mkdir()
    case = rules / "cases" / "working_hours.yaml"
    case.write_text(CASES[0]["file"], encoding="utf-8")

    done = run("rules", "validate", rules)
    assert done.exit_code == 1, done.output
    assert f"{case}:7:" in done.output and "(did you mean 'visit_time'?)" in done.output
    assert f"{case}:8:" in done.output and "has no grade 'fiar' (did you mean 'fair'?)" in done.output
    # Only a case file is wrong: the rules still evaluate, and validate must not say they do not.
    assert "4 error(s) in 1 case file(s) — the rules themselves are valid" in done.output
    assert run("evaluate", Path(__file__).parent / "fixtures" / "visit.example.yaml", "--rules", rules).exit_code in (0, 1)
    vi = run("rules", "validate", rules, "--lang", "vi")
    assert "(ý bạn là 'reminder'?)" in vi.output and "4 lỗi trong 1 tệp ví dụ — các quy tắc vẫn hợp lệ" in vi.output

    tested = run("rules", "test", rules)
    assert tested.exit_code == 1, tested.output
    assert "Case files with errors:" in tested.output
    assert f"{case}:7:" in tested.output and "never recommends 'remind' (did you mean 'reminder'?)" in tested.output
    assert "every expectation misspelt" not in tested.output  # not run: its failures would repeat the errors
    assert "expected hight" not in tested.output and "sanction remind expected" not in tested.output


def test_the_test_suite_runner_refuses_the_same_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(CASES[0]["file"], encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        run_file(_engine(), path)
    assert [p.line for p in caught.value.problems] == [e["line"] for e in CASES[0]["errors"]]
