"""The public Python façade: names, typing, many visits, history, schemas and thread safety."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from _generated import generated_visits

import compliance
from compliance import Engine, InputError, PriorFinding, Result
from compliance.api import (
    evaluate,
    evaluate_many,
    iter_evaluations,
    list_checks,
    parse_history,
    parse_request,
    request_schema,
    result_schema,
    ruleset_info,
    to_jsonable,
    visit_schema,
)

ROOT = Path(__file__).resolve().parents[1]

# The names the package exported before the embedding API: they must stay. (`Workplace` and
# `OneStop` left with the observations they held: the checks that read them declare them, and
# `Engine.visit_model` holds them, composed.)
ORIGINAL_NAMES = {
    "Check", "CheckInfo", "ComplianceError", "Context", "Engine", "Finding", "Grade", "InputError",
    "LegalRef", "Observation", "Official", "PluginError", "PriorFinding", "Problem",
    "Result", "Rule", "Ruleset", "RulesetRef", "RulesError", "Sanction", "Severity", "Subject",
    "Thresholds", "Unit", "Visit", "WorkingTime", "default_rules_dir", "history_from",
    "hookimpl", "installed_checks", "load_ruleset", "parse_visit", "__version__",
}
API_NAMES = {
    "evaluate_many", "iter_evaluations", "list_checks", "ruleset_info", "visit_schema", "result_schema",
    "parse_history", "Outcome", "RuleInfo", "RulesetInfo",
    # the plugin boundary: what a check declares it reads, and the trace of an evaluation
    "Code", "Observed", "observed", "VisitFormat", "Trace", "Note",
}

# The contract's check.rule table (shared/spec/CONTRACT.md).
CONTRACT_RULES = {
    "working_hours": {"absent_unexcused", "late_arrival", "high_absence_rate"},
    "office_culture": {"no_id_card", "improper_attire", "no_nameplate", "untidy_office"},
    "alcohol_tobacco": {"alcohol_during_work", "smoking_at_office", "no_smoking_sign_missing",
                        "pledges_not_organized", "pledge_not_signed"},
    "one_stop": {"one_stop_missing", "one_stop_closed", "restricted_hours", "shared_software_not_used"},
    "tthc_posting": {"procedures_not_posted", "posting_outdated"},
    "altar_ban": {"altar_in_office", "incense_in_office"},
}



@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def visits() -> list[dict[str, Any]]:
    return generated_visits(300, seed=5)


VISIT: dict[str, Any] = {
    "visit_id": "VP-1",
    "inspected_at": "2018-06-12T07:50:00+07:00",
    "unit": {"id": "u1", "level": "commune"},
    "personnel": [
        {"id": "o1", "category": "civil_servant", "attendance": "absent"},
        {"id": "o2", "category": "cadre", "attendance": "late", "arrived_at": "08:25", "wearing_id_card": False},
    ],
}


# --------------------------------------------------------------------------- the façade


def test_public_names() -> None:
    exported = set(compliance.__all__)
    assert ORIGINAL_NAMES <= exported
    assert API_NAMES <= exported
    for name in exported:
        assert hasattr(compliance, name), name
    assert len(exported) == len(compliance.__all__)


def test_py_typed_marker() -> None:
    assert (Path(compliance.__file__).parent / "py.typed").is_file()


def test_import_needs_no_web_stack() -> None:
    code = (
        "import sys, compliance, compliance.api, compliance.cli.main, compliance.service\n"
        "assert not {'fastapi', 'uvicorn', 'starlette'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_mypy_strict_on_public_surface() -> None:
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "src/compliance/__init__.py", "src/compliance/api.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- evaluation


def test_model_dict_and_json_give_the_same_result(engine: Engine) -> None:
    from_dict = engine.evaluate(VISIT)
    from_json = engine.evaluate(orjson.dumps(VISIT))
    from_text = engine.evaluate(orjson.dumps(VISIT).decode())
    from_model = engine.evaluate(compliance.parse_visit(VISIT))
    assert from_dict == from_json == from_text == from_model
    assert isinstance(from_dict, Result)
    assert evaluate(engine, VISIT) == from_dict
    assert {f"{f.check}.{f.rule}" for f in from_dict.findings} >= {
        "working_hours.absent_unexcused", "working_hours.late_arrival", "office_culture.no_id_card",
    }


def test_evaluate_many_in_order(engine: Engine, visits: list[dict[str, Any]]) -> None:
    results = evaluate_many(engine, visits[:20])
    assert [r.visit_id for r in results] == [v["visit_id"] for v in visits[:20]]
    assert results == [engine.evaluate(v) for v in visits[:20]]
    assert evaluate_many(engine, []) == []


def test_evaluate_many_names_every_bad_visit(engine: Engine) -> None:
    bad_type = {**VISIT, "personnel": [{"id": "o1", "attendance": "gone"}]}
    unknown = {**VISIT, "inspectd_at": "x"}
    with pytest.raises(InputError) as caught:
        evaluate_many(engine, [VISIT, bad_type, VISIT, unknown])
    located = [(p.record, p.path, p.code) for p in caught.value.problems]
    assert (2, "personnel[0].attendance", "invalid_choice") in located
    assert (4, "inspectd_at", "unknown_observation") in located
    assert all(record in (2, 4) for record, _, _ in located)
    assert "did you mean 'inspected_at'" in caught.value.render("en")
    assert "ý bạn là 'inspected_at'" in caught.value.render("vi")


def test_iter_evaluations_keeps_going(engine: Engine) -> None:
    outcomes = list(iter_evaluations(engine, [VISIT, "{not json", {"visit_id": "x"}, VISIT]))
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert [o.index for o in outcomes] == [1, 2, 3, 4]
    assert outcomes[1].problems[0].code == "bad_json"
    assert outcomes[0].result == outcomes[3].result


def test_implausible_times_are_input_errors(engine: Engine) -> None:
    # The local date (the jurisdiction's, +07:00) is what must fall in 1900-2999, not the written one.
    for moment in ("0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59+00:00", "1899-12-31T16:59:59+00:00",
                   "2999-12-31T20:00:00-12:00", "2999-12-31T23:00:00+00:00"):
        with pytest.raises(InputError) as caught:
            evaluate(engine, {**VISIT, "inspected_at": moment})
        assert caught.value.problems[0].path == "inspected_at"
        assert caught.value.problems[0].code == "out_of_range"
    for moment in ("1899-12-31T23:59:59+00:00", "2999-12-31T16:00:00+00:00"):
        assert evaluate(engine, {**VISIT, "inspected_at": moment}).visit_id == VISIT["visit_id"]
    # A visit validated on its own (no offset known) is still refused when the engine sees its local date.
    visit = compliance.parse_visit({**VISIT, "inspected_at": "2999-12-31T23:00:00+00:00"})
    with pytest.raises(InputError):
        evaluate(engine, visit)


def test_as_of_picks_other_rules(engine: Engine) -> None:
    result = engine.evaluate(VISIT, as_of=date(2026, 1, 1))
    assert result.ruleset.as_of == "2026-01-01"
    assert result.visit_date == "2018-06-12"


# --------------------------------------------------------------------------- history


def test_history_round_trip_and_escalation(engine: Engine) -> None:
    first = engine.evaluate({**VISIT, "visit_id": "VP-0", "inspected_at": "2018-03-05T08:30:00+07:00"})
    history = compliance.history_from(first)
    assert history and all(isinstance(p, PriorFinding) for p in history)
    stored = orjson.dumps(to_jsonable(history))
    assert parse_history(stored) == history
    assert parse_history(orjson.loads(stored)) == history
    again = engine.evaluate(VISIT, history=parse_history(stored))
    absent = next(f for f in again.findings if f.rule == "absent_unexcused")
    assert absent.repeat_of == ("VP-0",)


def test_to_json_is_every_field_of_the_result(engine: Engine, visits: list[dict[str, Any]]) -> None:
    """`to_json` hands orjson plain dicts for speed; it must still carry every dataclass field,
    so it is compared with orjson's own reading of the dataclasses (repeats, fines and
    escalations included, from a shared history)."""
    history = compliance.History()
    seen = set()
    for visit in sorted(visits, key=lambda v: v["inspected_at"]):
        result = engine.evaluate(visit, history=history)
        history.add_result(result)
        assert result.to_json() == orjson.dumps(result)
        assert orjson.loads(result.to_json()) == result.to_dict()
        seen |= {"repeat" for f in result.findings if f.repeat_of}
        seen |= {"fine" for s in result.sanctions if s.fine} | {"escalated" for s in result.sanctions if s.escalated_by}
    assert seen == {"repeat", "fine", "escalated"}


def test_visit_validation_never_turns_json_containers_into_python_first() -> None:
    """A before/wrap validator around a list or an object makes pydantic build that JSON as
    Python objects and validate them again: one on `personnel` once doubled the cost of
    validating a visit (measured by benchmarks/batch.py). Only scalars may have one."""
    wrapped: list[tuple[str, Any]] = []

    def walk(schema: Any) -> None:
        if isinstance(schema, dict):
            if schema.get("type") in ("function-before", "function-wrap", "function-plain"):
                wrapped.append((schema["type"], schema.get("schema", {}).get("type")))
            for value in schema.values():
                walk(value)
        elif isinstance(schema, list):
            for value in schema:
                walk(value)

    walk(compliance.Visit.__pydantic_core_schema__)
    assert wrapped and all(inner in ("str", "int", "time", "datetime", "date", None) for _, inner in wrapped), wrapped
    assert not [kind for kind, inner in wrapped if inner is None and kind != "function-plain"], wrapped


def test_history_naming_no_known_rule_or_a_text_date_is_refused(engine: Engine) -> None:
    """A misspelt rule or a date given as text would match nothing and silently drop a repeat."""
    wrong_rule = PriorFinding("VP-0", date(2018, 3, 5), "u1", "official", "o1", "working_hours.absent")
    text_date = PriorFinding("VP-0", "2018-03-05", "u1", "official", "o1", "working_hours.absent_unexcused")  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        engine.evaluate(VISIT, history=[wrong_rule, text_date, {"visit_id": "VP-0"}])  # type: ignore[list-item]
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {"history[0].rule", "history[1].date", "history[2]"}
    assert "did you mean 'working_hours.absent_unexcused'" in found["history[0].rule"].message("en")
    assert "parse_history" in found["history[2]"].message("vi")
    with pytest.raises(InputError):
        list(compliance.iter_evaluations(engine, [VISIT], history=[wrong_rule]))


def test_as_of_outside_plausible_years_is_refused(engine: Engine) -> None:
    with pytest.raises(InputError) as caught:
        engine.evaluate(VISIT, as_of=date(1800, 1, 1))
    (problem,) = caught.value.problems
    assert problem.path == "as_of" and "1900" in problem.message("en") and "1900" in problem.message("vi")


@pytest.mark.parametrize(("as_of", "code"), [("2018-13-01", "bad_date"), (datetime(2018, 1, 1), "wrong_type"), (5, "wrong_type")])
def test_as_of_of_the_wrong_kind_is_an_input_error_not_a_crash(engine: Engine, as_of: Any, code: str) -> None:
    with pytest.raises(InputError) as caught:
        engine.evaluate(VISIT, as_of=as_of)
    assert [(p.code, p.path) for p in caught.value.problems] == [(code, "as_of")]
    assert engine.evaluate(VISIT, as_of="2018-01-01") == engine.evaluate(VISIT, as_of=date(2018, 1, 1))  # type: ignore[arg-type]


def test_personnel_null_is_nobody_checked_and_a_repeated_official_is_named_by_path(engine: Engine) -> None:
    assert engine.evaluate({**VISIT, "personnel": None}) == engine.evaluate({k: v for k, v in VISIT.items() if k != "personnel"})
    assert compliance.visit_schema()["properties"]["personnel"]["anyOf"][1] == {"type": "null"}
    with pytest.raises(InputError) as caught:
        engine.evaluate({**VISIT, "personnel": [{"id": "a"}, {"id": "b"}, {"id": "a"}]})
    (problem,) = caught.value.problems
    assert (problem.code, problem.path) == ("duplicate_id", "personnel[2].id")


@pytest.mark.parametrize(
    ("visit_id", "en", "vi"),
    [
        ("x" * 300, "must be at most 200 characters long", "phải dài nhiều nhất 200 ký tự"),
        ("   ", "must be at least 1 characters long", "phải dài ít nhất 1 ký tự"),
    ],
)
def test_length_messages_read_right_in_both_languages(engine: Engine, visit_id: str, en: str, vi: str) -> None:
    with pytest.raises(InputError) as caught:
        engine.evaluate({**VISIT, "visit_id": visit_id})
    (problem,) = caught.value.problems
    assert en in problem.message("en") and "be be" not in problem.message("en")
    assert vi in problem.message("vi")


def test_a_history_rule_of_the_wrong_form_is_explained_in_vietnamese_too() -> None:
    entry = {"visit_id": "v", "date": "2018-01-01", "unit_id": "u", "subject_type": "official", "subject_id": "s", "rule": "Working.x"}
    with pytest.raises(InputError) as caught:
        parse_history([entry])
    (problem,) = caught.value.problems
    assert problem.code == "pattern_mismatch" and problem.path == "history[0].rule"
    assert "không đúng dạng" in problem.message("vi") and "String should" not in problem.message("vi")


def test_parse_history_problems() -> None:
    with pytest.raises(InputError) as caught:
        parse_history([{"visit_id": "v", "date": "2018-02-30", "unit_id": "u", "subject_type": "person",
                        "subject_id": "s", "rule": "working_hours.late_arrival", "extra": 1}])
    paths = {p.path: p.code for p in caught.value.problems}
    assert paths == {
        "history[0].date": "bad_date",
        "history[0].subject_type": "invalid_choice",
        "history[0].extra": "unknown_field",
    }
    with pytest.raises(InputError) as caught:
        parse_history("[{")
    assert caught.value.problems[0].code == "bad_json"


def test_parse_request_envelope(engine: Engine) -> None:
    visit, history = parse_request(VISIT)
    assert visit.visit_id == "VP-1" and history == []
    envelope = {
        "visit": VISIT,
        "history": [{"visit_id": "VP-0", "date": "2018-03-05", "unit_id": "u1", "subject_type": "official",
                     "subject_id": "o1", "rule": "working_hours.absent_unexcused"}],
    }
    visit, history = parse_request(envelope)
    assert history[0].date == date(2018, 3, 5)
    with pytest.raises(InputError) as caught:
        parse_request({"visit": {**VISIT, "personnel": [{"id": 5}]}, "histroy": []})
    paths = {p.path for p in caught.value.problems}
    assert paths == {"visit.personnel[0].id", "histroy"}
    with pytest.raises(InputError) as caught:
        parse_request({"visit": {**VISIT, "inspected_at": 1528764600}})
    assert [p.path for p in caught.value.problems] == ["visit.inspected_at"]
    with pytest.raises(InputError) as caught:
        parse_request({"visit": {**VISIT, "inspected_at": "1800-01-01T00:00:00+00:00"}})
    assert [p.path for p in caught.value.problems] == ["visit.inspected_at"]


# --------------------------------------------------------------------------- listings and schemas


def test_list_checks_cover_the_contract(engine: Engine) -> None:
    rules = list_checks(engine)
    by_check: dict[str, set[str]] = {}
    for rule in rules:
        by_check.setdefault(rule.check, set()).add(rule.rule)
        assert rule.subject in ("official", "unit")
        assert rule.versions, f"{rule.check}.{rule.rule} has no version"
        for version in rule.versions:
            assert version.effective_to is None or version.effective_from <= version.effective_to
    for check, expected in CONTRACT_RULES.items():
        assert expected <= by_check.get(check, set()), check


def test_ruleset_info(engine: Engine) -> None:
    info = ruleset_info(engine)
    assert info.name == engine.ruleset.name and info.version == engine.ruleset.version
    assert info.digest == engine.ruleset.digest
    # A province's overlay holds its own files and its national base's ("base:...").
    assert {f.name.removeprefix("base:") for f in info.files} >= {"ruleset.yaml", "calendar.yaml", "grading.yaml", "sanctions.yaml"}
    assert all(len(f.sha256) == 64 for f in info.files)
    assert info.calendar and info.grading and info.rules
    plain = to_jsonable(info)
    assert plain["digest"] == info.digest and isinstance(plain["files"], list)


def test_schemas_describe_the_documents(engine: Engine, visits: list[dict[str, Any]]) -> None:
    try:
        from jsonschema import Draft202012Validator
    except ImportError:  # schemathesis brings jsonschema-rs
        Draft202012Validator = pytest.importorskip("jsonschema_rs").Draft202012Validator
    visit_validator = Draft202012Validator(visit_schema())
    result_validator = Draft202012Validator(result_schema())
    request_validator = Draft202012Validator(request_schema())
    for visit in visits[:30] + [VISIT]:
        visit_validator.validate(visit)
        request_validator.validate({"visit": visit, "history": []})
        result_validator.validate(engine.evaluate(visit).to_dict())
    assert not visit_validator.is_valid({**VISIT, "personel": []})
    assert not visit_validator.is_valid({**VISIT, "inspected_at": 5})
    assert not visit_validator.is_valid({**VISIT, "personnel": [{"id": "o", "arrived_at": "8:25:00"}]})
    assert visit_schema() is not visit_schema()  # a fresh copy each time: callers may edit it


# --------------------------------------------------------------------------- threads


def test_concurrent_evaluations_equal_sequential(engine: Engine, visits: list[dict[str, Any]]) -> None:
    """Many threads sharing one engine (and durable-rules, which is process-global)."""
    rng = random.Random(11)
    # Visits 35 days later stay in the same province's rules (no merger in between).
    visits = [v for v in visits if v["inspected_at"] < "2025-05-01"]
    # Histories make repeats escalate, which exercises more sanction-policy decisions.
    sequential = [engine.evaluate(v) for v in visits]
    histories = [compliance.history_from(r) for r in sequential]
    later = [
        {
            **v,
            "visit_id": v["visit_id"] + "-again",
            "inspected_at": (datetime.fromisoformat(v["inspected_at"]) + timedelta(days=35)).isoformat(),
        }
        for v in visits
    ]
    jobs: list[tuple[dict[str, Any], list[PriorFinding]]] = []
    for i, v in enumerate(visits):
        jobs.append((v, []))
        jobs.append((later[i], histories[rng.randrange(len(histories))] + histories[i]))
    fresh = Engine.load()  # a second engine: its durable-rules rulesets live in the same process
    expected = [fresh.evaluate(v, history=h).to_json() for v, h in jobs]
    start = threading.Barrier(16)

    def run(chunk: int) -> list[tuple[int, bytes]]:
        start.wait()
        mine = []
        for index in range(chunk, len(jobs), 16):
            v, h = jobs[index]
            target = engine if index % 2 else fresh
            mine.append((index, target.evaluate(v, history=h).to_json()))
        return mine

    with ThreadPoolExecutor(max_workers=16) as pool:
        got = dict(pair for chunk in pool.map(run, range(16)) for pair in chunk)
    assert [got[i] for i in range(len(jobs))] == expected


def test_concurrent_cold_engines() -> None:
    """Engines loaded and first used concurrently (cold caches, durable-rules compiling)."""
    def load_and_run(_: int) -> bytes:
        engine = Engine.load()
        return engine.evaluate(VISIT).to_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = set(pool.map(load_and_run, range(8)))
    assert len(results) == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"visit_id":"D","visit_id":"E","inspected_at":"2018-06-12T08:00:00+07:00","unit":{"id":"u","level":"commune"}}',
        # A key written with a space before its colon must not hide a repeated key elsewhere.
        '{"visit_id" : "D","inspected_at":"2018-06-12T08:00:00+07:00","unit":{"id":"u","level":"commune"},'
        '"personnel":[{"id":"a","smoking":true,"smoking":null}]}',
        '{\n  "visit_id": "D",\n  "inspected_at": "2018-06-12T08:00:00+07:00",\n  "unit": {"id": "u", "level": "commune",\n'
        '  "level"\t: "district"}\n}',
    ],
)
def test_a_key_given_twice_in_json_text_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        compliance.parse_visit(text)
    assert [p.code for p in caught.value.problems] == ["json_duplicate_key"]


def test_json_written_any_way_without_repeats_is_accepted(visits: list[dict[str, Any]]) -> None:
    import json

    for visit in visits[:20]:
        for text in (json.dumps(visit), json.dumps(visit, indent=2), json.dumps(visit, separators=(" , ", " : "))):
            assert compliance.parse_visit(text) == compliance.parse_visit(visit)
