"""History and repeats in `compliance batch`: each unit's visits are evaluated in date order
with their earlier findings, so a repeat within the sanctions policy's look-back window
(rules/sanctions.yaml: 12 months) escalates the recommended sanction and names the earlier
visits as the reason, whatever the order of the input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _batch_support import read_jsonl, run_batch, write_jsonl

UNIT = "vp.commune.hist"


def _visit(vid: str, when: str, unit: str = UNIT, altar: bool = True) -> dict[str, Any]:
    """Official '<unit>-A' absent with no reason, an altar in one of two rooms."""
    return {
        "visit_id": vid,
        "inspected_at": when,
        "unit": {"id": unit, "name": "UBND xã Lịch Sử", "level": "commune", "province": "Vĩnh Phúc"},
        "personnel": [
            {"id": f"{unit}-A", "name": "Nguyễn Văn An", "category": "civil_servant",
             "position": "Chuyên viên", "attendance": "absent"},
            {"id": f"{unit}-B", "name": "Trần Thị Bình", "category": "civil_servant",
             "position": "Chuyên viên", "attendance": "present"},
        ],
        "workplace": {"rooms_inspected": 2, "rooms_with_altar": 1 if altar else 0},
    }


# Three visits within 12 months, a fourth 13 months after the third.
SERIES = [
    _visit("H-1", "2018-03-05T08:30:00+07:00"),
    _visit("H-2", "2018-06-05T08:30:00+07:00"),
    _visit("H-3", "2018-09-04T08:30:00+07:00"),
    _visit("H-4", "2019-10-08T08:30:00+07:00"),
]
# The same official id and an altar at another unit, at the same dates: not a repeat of theirs.
ELSEWHERE = [_visit(f"E-{i}", v["inspected_at"], unit="vp.commune.other") for i, v in enumerate(SERIES, 1)]
for _e in ELSEWHERE:
    _e["personnel"][0]["id"] = f"{UNIT}-A"


def _finding(result: dict[str, Any], rule: str) -> dict[str, Any]:
    (found,) = [f for f in result["findings"] if f["rule"] == rule]
    return found


def _sanctions(result: dict[str, Any], target: str) -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in result["sanctions"] if s["target"] == target}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    d = tmp_path_factory.mktemp("history")
    # Newest first, and the unit's visits split over two files, the other unit in between.
    write_jsonl(d / "late.jsonl", [SERIES[3], ELSEWHERE[2], SERIES[2], ELSEWHERE[0]])
    write_jsonl(d / "early.jsonl", [ELSEWHERE[3], SERIES[1], ELSEWHERE[1], SERIES[0]])
    proc = run_batch("late.jsonl", "early.jsonl", "--out", "out", "--workers", "1", cwd=d)
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(d / "out" / "errors.jsonl") == []
    results = read_jsonl(d / "out" / "results.jsonl")
    # Sorted by unit, then date.
    assert [r["visit_id"] for r in results] == ["H-1", "H-2", "H-3", "H-4", "E-1", "E-2", "E-3", "E-4"]
    return {r["visit_id"]: r for r in results}


def test_first_visit_has_no_repeat(evaluated: dict[str, dict[str, Any]]) -> None:
    first = evaluated["H-1"]
    assert _finding(first, "absent_unexcused")["repeat_of"] == []
    official = _sanctions(first, "official")
    assert set(official) == {"explanation_report", "emulation_review"}
    assert all(s["escalated_by"] == [] for s in first["sanctions"])


def test_second_absence_within_12_months_escalates_to_self_criticism(evaluated: dict[str, dict[str, Any]]) -> None:
    second = evaluated["H-2"]
    absent = _finding(second, "absent_unexcused")
    assert absent["subject"] == {"type": "official", "id": f"{UNIT}-A"}
    assert absent["repeat_of"] == ["H-1"]
    official = _sanctions(second, "official")
    assert "self_criticism" in official and "reprimand" not in official
    assert official["self_criticism"]["escalated_by"] == ["H-1"]
    assert official["self_criticism"]["subject_id"] == f"{UNIT}-A"
    assert official["self_criticism"]["policy"] == "official-repeat"


def test_third_absence_within_12_months_recommends_a_reprimand(evaluated: dict[str, dict[str, Any]]) -> None:
    third = evaluated["H-3"]
    assert _finding(third, "absent_unexcused")["repeat_of"] == ["H-1", "H-2"]
    official = _sanctions(third, "official")
    assert official["reprimand"]["escalated_by"] == ["H-1", "H-2"]
    assert official["self_criticism"]["escalated_by"] == ["H-1", "H-2"]


def test_a_visit_13_months_later_does_not_count_the_old_ones(evaluated: dict[str, dict[str, Any]]) -> None:
    fourth = evaluated["H-4"]
    assert _finding(fourth, "absent_unexcused")["repeat_of"] == []
    assert _finding(fourth, "altar_in_office")["repeat_of"] == []
    official = _sanctions(fourth, "official")
    assert "self_criticism" not in official and "reprimand" not in official
    assert "emulation_review" not in _sanctions(fourth, "unit")


def test_unit_repeats_escalate_per_the_unit_repeat_policy(evaluated: dict[str, dict[str, Any]]) -> None:
    assert "emulation_review" not in _sanctions(evaluated["H-1"], "unit")
    second = evaluated["H-2"]
    altar = _finding(second, "altar_in_office")
    assert altar["subject"] == {"type": "unit", "id": UNIT}
    assert altar["repeat_of"] == ["H-1"]
    assert "emulation_review" in {s["code"] for s in altar["sanctions"] if s["target"] == "unit"}
    review = _sanctions(second, "unit")["emulation_review"]
    assert review["policy"] == "unit-repeat" and review["escalated_by"] == ["H-1"]
    assert _sanctions(second, "unit_head")["head_accountability"]["escalated_by"] == ["H-1"]
    assert _sanctions(evaluated["H-3"], "unit")["emulation_review"]["escalated_by"] == ["H-1", "H-2"]


def test_history_stays_within_its_unit(evaluated: dict[str, dict[str, Any]]) -> None:
    """The other unit's official has the same id and was absent at the same dates: each unit's
    history is its own, so its repeats name only its own visits."""
    assert _finding(evaluated["E-1"], "absent_unexcused")["repeat_of"] == []
    assert _finding(evaluated["E-2"], "absent_unexcused")["repeat_of"] == ["E-1"]
    assert _finding(evaluated["E-3"], "absent_unexcused")["repeat_of"] == ["E-1", "E-2"]


def test_history_does_not_depend_on_input_order_or_files(tmp_path: Path, evaluated: dict[str, dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "all.jsonl", SERIES + ELSEWHERE)
    proc = run_batch("all.jsonl", "--out", "out", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {r["visit_id"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")} == evaluated


def test_a_bad_record_between_visits_does_not_break_the_series(tmp_path: Path) -> None:
    broken = _visit("H-BAD", "2018-04-05T08:30:00+07:00")
    broken["personnel"][0]["attendance"] = "gone"
    write_jsonl(tmp_path / "in.jsonl", [SERIES[1], broken, SERIES[0]])
    proc = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (error,) = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert (error["line"], error["visit_id"]) == (2, "H-BAD")
    assert "personnel[0].attendance" in error["message"]["en"] and "'gone'" in error["message"]["en"]
    results = {r["visit_id"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert _finding(results["H-2"], "absent_unexcused")["repeat_of"] == ["H-1"]


def test_a_repeated_visit_id_in_a_unit_is_one_error_and_counts_once(tmp_path: Path) -> None:
    again = dict(SERIES[0], inspected_at="2018-04-05T08:30:00+07:00")
    write_jsonl(tmp_path / "in.jsonl", [SERIES[0], again, SERIES[1]])
    proc = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (error,) = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert (error["line"], error["visit_id"]) == (2, "H-1")
    assert "duplicate id 'H-1'" in error["message"]["en"] and "in.jsonl:1" in error["message"]["en"]
    results = {r["visit_id"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert _finding(results["H-2"], "absent_unexcused")["repeat_of"] == ["H-1"]


# A visit id typed twice: "H-2" reused for a visit to another unit, earlier in the year. The
# earlier visit keeps the id, although its unit sorts after UNIT.
REUSED = _visit("H-2", "2018-01-10T08:30:00+07:00", unit="vp.commune.zzz")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_visit_id_reused_by_another_unit_is_one_error_and_leaves_no_trace(tmp_path: Path, workers: str) -> None:
    """Which visit keeps a repeated id does not depend on the input order or files; the other
    one is an error naming it, and its unit is evaluated as if it were not there (no escalation
    from it, not counted in the summary)."""
    layouts = {
        "a": [[SERIES[0], SERIES[1], SERIES[2], REUSED]],
        "b": [[REUSED, SERIES[2], SERIES[0], SERIES[1]]],
        # H-2 and H-3 both on line 2, of different files: only H-2 is the repeat.
        "c": [[SERIES[0], SERIES[1]], [REUSED, SERIES[2]]],
    }
    where = {"a": ("a-1.jsonl:4", "a-1.jsonl", 2), "b": ("b-1.jsonl:1", "b-1.jsonl", 4), "c": ("c-2.jsonl:1", "c-1.jsonl", 2)}
    outs = {}
    for name, files in layouts.items():
        for i, visits in enumerate(files, 1):
            write_jsonl(tmp_path / f"{name}-{i}.jsonl", visits)
        names = [f"{name}-{i}.jsonl" for i in range(1, len(files) + 1)]
        proc = run_batch(*names, "--out", f"out-{name}", "--workers", workers, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        out = outs[name] = tmp_path / f"out-{name}"
        kept, dropped_file, dropped_line = where[name]
        (error,) = read_jsonl(out / "errors.jsonl")
        assert (error["source"], error["line"], error["visit_id"]) == (dropped_file, dropped_line, "H-2")
        assert f"first at {kept}" in error["message"]["en"]
        results = {r["visit_id"]: r for r in read_jsonl(out / "results.jsonl")}
        assert sorted(results) == ["H-1", "H-2", "H-3"] and results["H-2"]["unit_id"] == "vp.commune.zzz"
        # H-3 (September) repeats only H-1 (March): the dropped June visit is not its history.
        assert _finding(results["H-3"], "absent_unexcused")["repeat_of"] == ["H-1"]
    summaries = {(out / "summary.json").read_bytes() for out in outs.values()}
    assert len(summaries) == 1 and b'"visits": 3' in summaries.pop()
    assert len({(out / "results.jsonl").read_bytes() for out in outs.values()}) == 1


def test_a_run_stopped_while_re_evaluating_for_duplicates_resumes_to_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compliance.batch import evaluate, runner

    write_jsonl(tmp_path / "in.jsonl", [SERIES[0], SERIES[1], SERIES[2], REUSED, *ELSEWHERE])
    runner.run([str(tmp_path / "in.jsonl")], tmp_path / "whole", runner.Options(workers=1))

    real = evaluate.run_partition

    def stop_when_re_evaluating(task: evaluate.PartitionTask) -> dict[str, Any]:
        if task.exclusions is not None:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(runner, "run_partition", stop_when_re_evaluating)
    with pytest.raises(KeyboardInterrupt):
        runner.run([str(tmp_path / "in.jsonl")], tmp_path / "stopped", runner.Options(workers=1))
    assert (tmp_path / "stopped" / ".work" / "duplicates.json").is_file()
    monkeypatch.setattr(runner, "run_partition", real)
    outcome = runner.run([str(tmp_path / "in.jsonl")], tmp_path / "stopped", runner.Options(workers=1, resume=True))
    assert outcome.complete and (outcome.results, outcome.errors) == (7, 1)
    for name in ("results.jsonl", "errors.jsonl", "summary.json"):
        whole = (tmp_path / "whole" / name).read_bytes()
        assert (tmp_path / "stopped" / name).read_bytes() == whole.replace(b"whole", b"stopped"), name


def test_a_run_stopped_after_re_evaluating_for_duplicates_resumes_with_the_merge_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every partition was finished, those with a repeated id evaluated again without it: a
    resumed run must not take them for unfinished and evaluate the whole of pass 2 again."""
    from compliance.batch import evaluate, runner

    write_jsonl(tmp_path / "in.jsonl", [SERIES[0], SERIES[1], SERIES[2], REUSED, *ELSEWHERE])
    runner.run([str(tmp_path / "in.jsonl")], tmp_path / "whole", runner.Options(workers=1))

    def stop_at(name: str, total: int | None) -> None:
        if name == "merge":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run([str(tmp_path / "in.jsonl")], tmp_path / "stopped", runner.Options(workers=1), runner.Progress(phase=stop_at))
    assert json.loads((tmp_path / "stopped" / ".work" / "duplicates.json").read_bytes())["evaluate_again"]

    real = evaluate.run_partition
    evaluated: list[tuple[int, str | None]] = []
    phases: list[str] = []

    def recording(task: evaluate.PartitionTask) -> dict[str, Any]:
        evaluated.append((task.index, task.exclusions))
        return real(task)

    monkeypatch.setattr(runner, "run_partition", recording)
    outcome = runner.run([str(tmp_path / "in.jsonl")], tmp_path / "stopped", runner.Options(workers=1, resume=True),
                         runner.Progress(phase=lambda name, total: phases.append(name)))
    assert evaluated == []
    assert "duplicates" not in phases and outcome.resumed_partitions == outcome.partitions
    for name in ("results.jsonl", "errors.jsonl", "summary.json"):
        whole = (tmp_path / "whole" / name).read_bytes()
        assert (tmp_path / "stopped" / name).read_bytes() == whole.replace(b"whole", b"stopped"), name
