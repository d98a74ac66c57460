"""The batch's lean path (`Engine.evaluate_data`) and the embedders' typed path
(`Engine.evaluate`) give the same result, byte for byte, with the same history behind it.

The batch writes `Evaluation.to_json()` and counts its summary and history from what the
evaluation noted; embedders get `Result` objects. Both come from one evaluation, but each
has its own way out, so a test keeps them equal on visits that repeat, escalate and merge
sanctions (units visited again and again) and on the shipped campaign.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from _batch_support import pooled_visits

from compliance import Engine, History
from compliance.batch.summary import SummaryBuilder
from compliance.io import read_path

CAMPAIGN = Path(__file__).resolve().parents[1] / "fixtures" / "campaign-2018.jsonl"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _by_unit(engine: Engine, visits: list[Any]) -> list[list[Any]]:
    parsed = sorted((engine.parse_visit(v) for v in visits), key=lambda v: (v.unit.id, v.inspected_at))
    return [list(group) for _, group in itertools.groupby(parsed, key=lambda v: v.unit.id)]


def _compare(engine: Engine, units: list[list[Any]]) -> tuple[int, int, int]:
    findings = repeats = merged = 0
    for visits in units:
        typed, lean = History(), History()
        for visit in visits:
            result = engine.evaluate(visit, history=typed)
            evaluation = engine.evaluate_data(visit, history=lean)
            assert evaluation.to_json() == result.to_json(), visit.visit_id
            assert evaluation.result() == result
            typed.add_result(result)
            lean.add_evaluation(evaluation)
            assert len(lean) == len(typed)
            # What the batch counts is what the result says.
            assert [(f"{f.check}.{f.rule}", f.check, f.severity, f.subject.type, f.subject.id) for f in result.findings] == list(
                evaluation.findings
            )
            assert [s.code for s in result.sanctions] == evaluation.sanction_codes
            findings += len(result.findings)
            repeats += sum(1 for f in result.findings if f.repeat_of)
            merged += sum(1 for s in result.sanctions if len(s.because) > 1)
    return findings, repeats, merged


def test_the_lean_path_writes_the_typed_results_bytes_on_visits_that_repeat_and_escalate(engine: Engine) -> None:
    findings, repeats, merged = _compare(engine, _by_unit(engine, pooled_visits(400, seed=15, units=12)))
    assert findings > 500 and repeats > 50 and merged > 10  # the cases that differ are there


def test_the_lean_path_writes_the_typed_results_bytes_on_the_shipped_campaign(engine: Engine) -> None:
    visits = [orjson.loads(record.raw) for record in read_path(CAMPAIGN) if record.raw is not None]
    assert len(visits) == 100
    findings, _, _ = _compare(engine, _by_unit(engine, visits))
    assert findings > 100


def test_the_summary_counts_the_same_from_evaluations_as_from_their_results(engine: Engine) -> None:
    """The summary reads what the evaluation noted (rules, severities, subjects, sanction codes),
    never the result again: the counts must be those the results' own fields give."""
    units = _by_unit(engine, pooled_visits(150, seed=16, units=6))
    builder = SummaryBuilder(engine.catalogue.level_periods)
    by_rule: dict[str, int] = {}
    subjects: dict[str, set[tuple[str, str, str]]] = {}
    codes: dict[str, int] = {}
    for visits in units:
        history, evaluations = History(), []
        for visit in visits:
            evaluation = engine.evaluate_data(visit, history=history)
            history.add_evaluation(evaluation)
            evaluations.append(evaluation)
            data = evaluation.data
            for f in data["findings"]:
                key = f"{f['check']}.{f['rule']}"
                by_rule[key] = by_rule.get(key, 0) + 1
                subjects.setdefault(key, set()).add((data["unit_id"], f["subject"]["type"], f["subject"]["id"]))
            for s in data["sanctions"]:
                codes[s["code"]] = codes.get(s["code"], 0) + 1
        builder.add_unit(evaluations)
    partial = builder.partial()
    assert partial["visits"] == sum(len(v) for v in units)
    assert partial["findings_by_rule"] == by_rule
    assert partial["subjects_by_rule"] == {key: len(found) for key, found in subjects.items()}
    assert partial["sanctions_by_code"] == codes
