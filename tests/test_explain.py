"""`compliance explain`: rule by rule, fired or not and why, with the sanction reasoning."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import orjson
from _authoring_support import VISIT_2018, copy_rules, replace_nth, run, write_jsonl

from compliance import Engine
from compliance.common import Severity


def _visit_file(tmp_path: Path, visit: dict | None = None) -> Path:  # type: ignore[type-arg]
    return write_jsonl(tmp_path / "visit.jsonl", [visit or VISIT_2018])


def _rule(data: dict, rule: str) -> dict:  # type: ignore[type-arg]
    return next(r for r in data["rules"] if r["rule"] == rule)


def test_every_rule_is_explained(tmp_path: Path) -> None:
    done = run("explain", _visit_file(tmp_path), "--format", "json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    engine = Engine.load()
    assert {r["rule"] for r in data["rules"]} == {f"{i.check.id}.{r}" for i in engine.checks for r in i.check.rules}
    assert data["rules_date"] == "2018-06-12" and data["working_time"]["in_working_hours"] is True

    absent = _rule(data, "working_hours.absent_unexcused")
    assert absent["status"] == "fired"
    assert absent["version"]["effective_from"] == "2016-09-05" and absent["version"]["legal_basis"][0]["document"] == "Chỉ thị 26/CT-TTg"
    finding = absent["findings"][0]
    assert finding["subject"] == {"type": "official", "id": "a1"}
    assert finding["evidence"]["visit_time"] == "08:10"
    applied = {p["id"] for p in finding["policies"] if p["applies"]}
    assert "official-explanation" in applied
    repeat = next(p for p in finding["policies"] if p["id"] == "official-repeat")
    assert repeat["applies"] is False
    assert {"field": "repeats", "op": ">=", "expected": 1, "actual": 0, "ok": False} in repeat["conditions"]
    assert {r["code"] for r in finding["recommended"]} >= {"explanation_report", "emulation_review"}

    late = _rule(data, "working_hours.late_arrival")
    assert late["status"] == "fired" and late["version"]["thresholds"] == {"grace_minutes": 0}
    assert late["findings"][0]["evidence"]["minutes_late"] == 40

    rate = _rule(data, "working_hours.high_absence_rate")
    assert rate["status"] == "not_fired" and rate["version"]["thresholds"]["min_share"] == 0.2
    # The explanation and `evaluate` agree on the result.
    assert data["result"]["findings"] == json.loads(orjson.dumps(engine.evaluate(VISIT_2018)))["findings"]


def test_terminal_output(tmp_path: Path) -> None:
    done = run("explain", _visit_file(tmp_path))
    assert done.exit_code == 0, done.output
    out = done.output
    assert "● working_hours.absent_unexcused  FIRED (1)" in out
    assert "Version 2016-09-05 → …; severity moderate" in out
    assert "Legal basis: Chỉ thị 26/CT-TTg" in out
    assert "● working_hours.high_absence_rate  did not fire" in out
    assert "thresholds: min_share=0.2, min_count=3, min_checked=5" in out
    assert "✓ official-explanation" in out
    assert "✗ official-repeat: earlier findings ≥ 1 (has 0)" in out
    assert "in the working session 07:00–11:30 (summer season)" in out
    vi = run("explain", _visit_file(tmp_path), "--lang", "vi", "--rule", "working_hours")
    assert "PHÁT SINH" in vi.output and "không phát sinh" in vi.output
    assert "số lần vi phạm trước ≥ 1 (có 0)" in vi.output
    assert "office_culture" not in vi.output


def test_a_rule_not_in_force_says_so_with_dates(tmp_path: Path) -> None:
    visit = {**VISIT_2018, "visit_id": "EX-2006", "inspected_at": "2006-03-14T08:10:00+07:00"}
    done = run("explain", _visit_file(tmp_path, visit), "--rule", "one_stop.one_stop_missing", "--rule", "alcohol_tobacco.pledge_not_signed")
    assert done.exit_code == 0, done.output
    assert "● one_stop.one_stop_missing  not in force" in done.output
    assert "No version is in force on 2006-03-14. Versions: 2007-07-22 → 2015-05-09" in done.output
    data = json.loads(run("explain", _visit_file(tmp_path, visit), "--rule", "one_stop_missing", "--format", "json").stdout)
    assert [r["status"] for r in data["rules"]] == ["not_in_force"]
    assert data["rules"][0]["versions"][0] == {"effective_from": "2007-07-22", "effective_to": "2015-05-09"}


def test_as_of_picks_another_version(tmp_path: Path) -> None:
    data = json.loads(run("explain", _visit_file(tmp_path), "--rule", "late_arrival", "--as-of", "2012-01-02", "--format", "json").stdout)
    assert data["rules_date"] == "2012-01-02"
    assert data["rules"][0]["version"]["effective_from"] == "2010-01-01"


def test_history_explains_escalation(tmp_path: Path) -> None:
    engine = Engine.load()
    earlier = []
    for i, day in enumerate(("2018-02-06", "2018-03-13", "2018-05-08")):
        visit = {**VISIT_2018, "visit_id": f"EX-PRIOR-{i}", "inspected_at": f"{day}T08:10:00+07:00"}
        earlier.append(engine.evaluate(visit).to_dict())
    history = write_jsonl(tmp_path / "history.jsonl", earlier)
    done = run("explain", _visit_file(tmp_path), "--history", history, "--rule", "absent_unexcused", "--format", "json")
    assert done.exit_code == 0, done.output
    finding = json.loads(done.stdout)["rules"][0]["findings"][0]
    assert [p["visit_id"] for p in finding["repeat_of"]] == ["EX-PRIOR-0", "EX-PRIOR-1", "EX-PRIOR-2"]
    assert finding["repeat_of"][0]["date"] == "2018-02-06"
    applied = {p["id"] for p in finding["policies"] if p["applies"]}
    assert {"official-repeat", "official-repeat-discipline", "official-persistent"} <= applied
    codes = {r["code"]: r for r in finding["recommended"]}
    assert "reprimand" in codes and "salary_downgrade" in codes

    text = run("explain", _visit_file(tmp_path), "--history", history, "--rule", "absent_unexcused")
    assert "Repeat: 3 earlier finding(s) within 12 months: EX-PRIOR-0 (2018-02-06)" in text.output
    assert "escalated by EX-PRIOR-0, EX-PRIOR-1, EX-PRIOR-2" in text.output

    # The same history as prior-finding records.
    priors = [
        {"visit_id": f"EX-P{i}", "date": day, "unit_id": "xa-a", "subject_type": "official", "subject_id": "a1", "rule": "working_hours.absent_unexcused"}
        for i, day in enumerate(("2018-01-09", "2018-04-10"))
    ]
    done = run("explain", _visit_file(tmp_path), "--history", write_jsonl(tmp_path / "priors.jsonl", priors), "--rule", "absent_unexcused", "--format", "json")
    finding = json.loads(done.stdout)["rules"][0]["findings"][0]
    assert [p["visit_id"] for p in finding["repeat_of"]] == ["EX-P0", "EX-P1"]
    assert "reprimand" in {r["code"] for r in finding["recommended"]}


def test_replaced_disciplinary_form_is_explained(tmp_path: Path) -> None:
    # In 2026 salary downgrade is abolished for civil servants (NĐ 172/2025): the milder allowed form replaces it.
    visit = {**VISIT_2018, "visit_id": "EX-2026", "inspected_at": "2026-03-10T08:10:00+07:00"}
    priors = [
        {"visit_id": f"EX-P{i}", "date": day, "unit_id": "xa-a", "subject_id": "a1", "rule": "working_hours.absent_unexcused"}
        for i, day in enumerate(("2025-09-09", "2025-11-11", "2026-01-13"))
    ]
    history = write_jsonl(tmp_path / "priors.jsonl", priors)
    done = run("explain", _visit_file(tmp_path, visit), "--history", history, "--rule", "absent_unexcused", "--format", "json")
    recommended = json.loads(done.stdout)["rules"][0]["findings"][0]["recommended"]
    replaced = [r for r in recommended if r["replaces"] == "salary_downgrade"]
    assert replaced and replaced[0]["code"] == "warning"
    text = run("explain", _visit_file(tmp_path, visit), "--history", history, "--rule", "absent_unexcused")
    assert "instead of Salary downgrade" in text.output


def test_bad_arguments_and_inputs(tmp_path: Path) -> None:
    visit = _visit_file(tmp_path)
    done = run("explain", visit, "--rule", "late_arival")
    assert done.exit_code == 2 and "did you mean 'late_arrival'?" in done.output
    bad_history = tmp_path / "bad.jsonl"
    bad_history.write_text('{"visit_id": "X", "rule": "working_hours"}\n', encoding="utf-8")
    done = run("explain", visit, "--history", bad_history)
    assert done.exit_code == 2 and f"{bad_history}:1" in done.output
    done = run("explain", visit, "--visit-id", "nope")
    assert done.exit_code == 2
    rules = copy_rules(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}")
    done = run("explain", visit, "--rules", rules)
    assert done.exit_code == 2 and "expected a whole number, found 'five'" in done.output


def test_policy_explain_agrees_with_decide() -> None:
    engine = Engine.load()
    policy = engine.policy
    rules = ["working_hours.absent_unexcused", "office_culture.no_id_card", "altar_ban.altar_in_office", "alcohol_tobacco.smoking_at_office"]
    for rule, severity, category, leader, day, repeats in itertools.product(
        rules, list(Severity), [None, "civil_servant", "public_employee"], [False, True],
        [date(2015, 1, 5), date(2021, 6, 1), date(2025, 8, 1)], [0, 1, 2, 3],
    ):
        subject = "unit" if rule.startswith("altar") else "official"
        matches = policy.explain(rule, severity, subject, category, leader, day, repeats)
        decided = policy.decide(rule, severity, subject, category, leader, day, repeats)
        applied = {m.policy.id for m in matches if m.matched}
        assert {r.policy for r in decided} <= applied
        for m in matches:
            assert m.matched == all(c.ok for c in m.conditions), (m.policy.id, m.conditions)
