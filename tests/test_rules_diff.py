"""`compliance rules diff`: the textual change between two rulesets and its impact on past visits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from _authoring_support import RULES, copy_rules, replace_nth, run, write_jsonl
from _generated import generated_visits

from compliance import Engine
from compliance.authoring.diff import diff_rulesets
from compliance import parse_visit


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 realistic visits, 2016-2025, from the repo's seeded generator."""
    return write_jsonl(tmp_path_factory.mktemp("visits") / "visits.jsonl", generated_visits(600))


def _loosen_grace_in_place(tmp_path: Path) -> Path:
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: 15}", -1)
    return new


def test_one_threshold_changed_reports_the_change_and_its_impact(tmp_path: Path, visits: Path) -> None:
    new = _loosen_grace_in_place(tmp_path)
    done = run("rules", "diff", RULES, new, "--visits", visits, "--format", "json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)

    [change] = data["changes"]
    assert change["key"] == "working_hours.late_arrival" and change["version"] == "2016-09-05"
    assert (change["field"], change["old"], change["new"], change["in_place"]) == ("thresholds.grace_minutes", 0, 15, True)

    impact = data["impact"]
    assert impact["visits"] == 600
    late = impact["per_rule"]["working_hours.late_arrival"]
    assert late["lost"] > 0 and late["gained"] == 0 and late["findings_new"] == late["findings_old"] - late["lost"]
    assert 1 <= len(late["examples_lost"]) <= 3
    assert impact["findings"]["lost"] == late["lost"]
    assert impact["sanctions"]["lost"] > 0 and impact["per_sanction"]["reminder"]["lost"] > 0
    assert sum(b["lost"] for b in impact["per_level"].values()) == late["lost"]
    assert sum(b["lost"] for b in impact["per_year"].values()) == late["lost"]
    assert set(impact["per_year"]) <= {str(y) for y in range(2016, 2026)}
    # Other rules are untouched.
    assert all(r["gained"] == r["lost"] == 0 for k, r in impact["per_rule"].items() if k != "working_hours.late_arrival")

    loosened = [w for w in data["warnings"] if w["code"] == "loosened_in_place"]
    assert len(loosened) == 1 and loosened[0]["rule"] == "working_hours.late_arrival"
    assert "loosened inside the version from 2016-09-05" in loosened[0]["message"]["en"]
    assert "nới lỏng" in loosened[0]["message"]["vi"]


def test_terminal_and_markdown_output(tmp_path: Path, visits: Path) -> None:
    new = _loosen_grace_in_place(tmp_path)
    text = run("rules", "diff", RULES, new, "--visits", visits)
    assert text.exit_code == 0, text.output
    out = text.output
    assert "thresholds.grace_minutes (changed in place)" in out
    assert "Warnings" in out and "loosened inside the version from 2016-09-05" in out
    assert "600 visits replayed with both rulesets" in out
    for title in ("Per rule", "Per unit level", "Per year", "Per sanction"):
        assert title in out

    md = run("rules", "diff", RULES, new, "--visits", visits, "--format", "markdown", "--lang", "vi")
    assert md.exit_code == 0
    assert md.output.startswith("# So sánh bộ quy tắc:")
    assert "| working_hours.late_arrival | 2016-09-05 → … | thresholds.grace_minutes (sửa ngay trong phiên bản) | 0 | 15 |" in md.output
    assert "### Theo quy tắc" in md.output and "### Theo năm" in md.output
    # Unit levels are named in the report's language, not by their keys.
    assert "| UBND xã, phường, thị trấn |" in md.output and "| commune |" not in md.output
    vi = run("rules", "diff", RULES, new, "--visits", visits, "--lang", "vi")
    assert "UBND xã, phường, thị trấn" in vi.output and "commune" not in vi.output


def test_a_grading_change_counts_the_visits_whose_grade_changes(tmp_path: Path, visits: Path) -> None:
    """No finding changes, yet a visit graded otherwise has a different result."""
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "grading.yaml", "max_points: 16", "max_points: 6")
    old_engine, new_engine = Engine.load(RULES), Engine.load(new)
    records = [parse_visit(json.loads(line)) for line in visits.read_text(encoding="utf-8").splitlines()]
    moved = Counter(
        (a.grade.code, b.grade.code)
        for a, b in ((old_engine.evaluate(v), new_engine.evaluate(v)) for v in records)
        if a.grade.code != b.grade.code
    )
    assert moved  # else this test proves nothing

    data = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--no-history", "--format", "json").stdout)
    impact, changed = data["impact"], sum(moved.values())
    assert impact["findings"]["gained"] == impact["findings"]["lost"] == 0
    assert impact["visits_changed"] == impact["grades"]["changed"] == changed
    assert {(m["old"], m["new"]): m["visits"] for m in impact["grades"]["moves"]} == moved
    per_grade = impact["grades"]["per_grade"]
    assert sum(g["old"] for g in per_grade.values()) == sum(g["new"] for g in per_grade.values()) == 600
    assert per_grade["poor"]["new"] - per_grade["poor"]["old"] == changed
    assert sum(b["grade_changed"] for b in impact["per_level"].values()) == changed

    for args, shown in (
        ((), [f"{changed} with a different result", f"Grade changed: {changed} of 600 visits", "Needs improvement → Poor"]),
        (("--lang", "vi"), [f"{changed} lần có kết quả khác", f"Đổi xếp loại: {changed}/600 lần kiểm tra"]),
        (("--format", "markdown"), ["### Per grade", f"| Needs improvement → Poor | {changed} |"]),
        (("--format", "markdown", "--lang", "vi"), ["### Theo xếp loại", f"| Trung bình, cần chấn chỉnh → Yếu kém | {changed} |"]),
    ):
        done = run("rules", "diff", RULES, new, "--visits", visits, "--no-history", *args)
        assert done.exit_code == 0, done.output
        for text in shown:
            assert text in done.output, (args, text)


def test_a_new_version_with_its_own_date_gives_no_in_place_warning(tmp_path: Path, visits: Path) -> None:
    new = copy_rules(tmp_path, "new")
    path = new / "working_hours.yaml"
    old_version = "    - effective_from: 2016-09-05\n      severity: minor\n      thresholds: {grace_minutes: 0}\n"
    replace_nth(path, old_version, old_version.replace("      severity", "      effective_to: 2020-12-31\n      severity"))
    text = path.read_text(encoding="utf-8")
    start = text.index("    - effective_from: 2016-09-05\n      effective_to: 2020-12-31\n      severity: minor")
    block = text[start:text.index("\n  high_absence_rate:", start) + 1]
    new_block = block.replace("effective_from: 2016-09-05\n      effective_to: 2020-12-31", "effective_from: 2021-01-01").replace("grace_minutes: 0", "grace_minutes: 10")
    path.write_text(text.replace(block, block + new_block), encoding="utf-8")
    assert run("rules", "validate", new, "--no-cases").exit_code == 0

    data = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--format", "json").stdout)
    kinds = {(c["kind"], c["version"], c["field"]) for c in data["changes"]}
    assert ("changed", "2016-09-05", "effective_to") in kinds
    assert ("added", "2021-01-01", None) in kinds
    threshold = next(c for c in data["changes"] if c["field"] == "thresholds.grace_minutes")
    assert (threshold["old"], threshold["new"], threshold["compared_to"], threshold["in_place"]) == (0, 10, "2016-09-05", False)
    assert not [w for w in data["warnings"] if w["code"].endswith("_in_place") or w["code"].startswith("changed_in_place")]
    late = data["impact"]["per_rule"]["working_hours.late_arrival"]
    assert late["lost"] > 0  # visits from 2021 on are judged with the 10 grace minutes
    assert all(year >= "2021" for year, b in data["impact"]["per_year"].items() if b["lost"])


def test_without_visits_any_in_place_threshold_change_is_flagged(tmp_path: Path) -> None:
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "working_hours.yaml", "min_share: 0.2", "min_share: 0.1", -1)  # stricter, but unmeasured
    data = json.loads(run("rules", "diff", RULES, new, "--format", "json").stdout)
    assert data["impact"] is None
    [warning] = data["warnings"]
    assert warning["code"] == "changed_in_place_unmeasured" and warning["rule"] == "working_hours.high_absence_rate"
    text = run("rules", "diff", RULES, new)
    assert "No visits given (--visits): impact not measured." in text.output


def test_stricter_in_place_change_is_a_note_and_gains_findings(tmp_path: Path, visits: Path) -> None:
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "working_hours.yaml", "min_share: 0.2", "min_share: 0.1", -1)
    data = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--format", "json").stdout)
    rate = data["impact"]["per_rule"]["working_hours.high_absence_rate"]
    assert rate["gained"] > 0 and rate["lost"] == 0
    assert rate["sanctions_gained"].get("head_accountability", 0) > 0
    [note] = [w for w in data["warnings"] if w["rule"] == "working_hours.high_absence_rate"]
    assert note["code"] == "tightened_in_place" and note["level"] == "note"


@pytest.mark.parametrize(
    ("severity", "code", "level", "en", "vi"),
    [
        ("minor", "severity_lowered_in_place", "warning", "get a lower severity", "nhận mức độ thấp hơn"),
        ("serious", "severity_raised_in_place", "note", "get a higher severity", "nhận mức độ cao hơn"),
    ],
)
def test_a_severity_changed_in_place_is_worded_as_a_severity_change(
    tmp_path: Path, visits: Path, severity: str, code: str, level: str, en: str, vi: str
) -> None:
    """The count of findings does not move, so the warning says how many findings change severity."""
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "working_hours.yaml", "      severity: moderate\n      message:", f"      severity: {severity}\n      message:", 2)
    data = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--format", "json").stdout)
    rule = data["impact"]["per_rule"]["working_hours.absent_unexcused"]
    assert rule["gained"] == rule["lost"] == 0 and rule["severity_changed"] > 0
    [warning] = [w for w in data["warnings"] if w["rule"] == "working_hours.absent_unexcused"]
    assert (warning["code"], warning["level"], warning["version"]) == (code, level, "2016-09-05")
    assert warning["changed"] == rule["severity_changed"] and warning["changed"] <= warning["findings"] <= rule["findings_new"]
    assert f"{warning['changed']} of its {warning['findings']} findings on the given visits {en}" in warning["message"]["en"]
    assert f"{warning['changed']} trong {warning['findings']} phát hiện" in warning["message"]["vi"] and vi in warning["message"]["vi"]
    assert f"severity moderate → {severity}" in warning["message"]["en"]


def test_as_of_replays_last_year_under_a_future_version(tmp_path: Path, visits: Path) -> None:
    new = copy_rules(tmp_path, "new")
    path = new / "working_hours.yaml"
    replace_nth(path, "      thresholds: {min_share: 0.2, min_count: 3, min_checked: 5}", "      effective_to: 2025-12-31\n      thresholds: {min_share: 0.2, min_count: 3, min_checked: 5}", -1)
    path.write_text(
        path.read_text(encoding="utf-8")
        + "    - effective_from: 2026-01-01\n      severity: serious\n      thresholds: {min_share: 0.1, min_count: 3, min_checked: 5}\n"
        '      message: {vi: "{absent}/{checked} vắng ({share})", en: "{absent} of {checked} absent ({share})"}\n'
        '      legal_basis: [{document: "QĐ xx/2025/QĐ-UBND"}]\n',
        encoding="utf-8",
    )
    own_date = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--format", "json").stdout)
    assert own_date["impact"]["visits_changed"] == 0  # every visit is before 2026
    as_of = json.loads(run("rules", "diff", RULES, new, "--visits", visits, "--as-of", "2026-01-01", "--format", "json").stdout)
    assert as_of["impact"]["as_of"] == "2026-01-01"
    assert as_of["impact"]["per_rule"]["working_hours.high_absence_rate"]["gained"] > 0


def test_escalation_is_compared_through_the_replay_history(tmp_path: Path) -> None:
    new = copy_rules(tmp_path, "new")
    # Official repeats escalate from the second repeat instead of the first.
    replace_nth(new / "sanctions.yaml", "when: {subject: official, repeats: {min: 1}}", "when: {subject: official, repeats: {min: 2}}")
    replace_nth(new / "sanctions.yaml", "when: {subject: official, max_severity: minor, repeats: {max: 0}}", "when: {subject: official, max_severity: minor, repeats: {max: 1}}")
    old_engine, new_engine = Engine.load(RULES), Engine.load(new)
    # One unit visited four times: the same official is absent every time.
    base = generated_visits(1)[0]
    series = []
    for i, day in enumerate(("2019-03-05", "2019-05-07", "2019-07-09", "2019-09-10")):
        visit = {**base, "visit_id": f"S-{i}", "inspected_at": f"{day}T09:00:00+07:00"}
        visit["personnel"] = [{"id": "x1", "attendance": "absent"}, *({"id": f"p{j}", "attendance": "present"} for j in range(9))]
        series.append(parse_visit(visit))
    with_history = diff_rulesets(old_engine, new_engine, series).to_dict()
    assert any(c["key"] == "official-repeat" and c["field"] == "when.repeats.min" for c in with_history["changes"])
    assert with_history["impact"]["per_sanction"]["self_criticism"]["lost"] == 1  # the second visit no longer escalates
    without = diff_rulesets(old_engine, new_engine, series, history=False).to_dict()
    assert without["impact"]["visits_changed"] == 0


def test_strict_and_dead_rules_are_warned_about(tmp_path: Path, visits: Path) -> None:
    data = json.loads(run("rules", "diff", RULES, RULES, "--visits", visits, "--format", "json").stdout)
    assert data["changes"] == []
    assert data["impact"]["visits_changed"] == 0 and data["impact"]["findings"]["gained"] == 0
    codes = {(w["code"], w["rule"]) for w in data["warnings"]}
    assert ("too_strict", "office_culture.no_id_card") in codes  # ~60% of generated visits
    assert ("dead", "one_stop.one_stop_closed") in codes  # the generator never closes a desk
    strict = json.loads(run("rules", "diff", RULES, RULES, "--visits", visits, "--strict-share", "0.99", "--format", "json").stdout)
    assert not [w for w in strict["warnings"] if w["code"] == "too_strict"]


def test_other_changes_are_listed(tmp_path: Path) -> None:
    new = copy_rules(tmp_path, "new")
    replace_nth(new / "ruleset.yaml", 'version: "', 'version: "9.')
    replace_nth(new / "office_culture.yaml", "severity: minor", "severity: moderate")
    replace_nth(new / "sanctions.yaml", "lookback_months: 12", "lookback_months: 24")
    replace_nth(new / "sanctions.yaml", "min: 200000", "min: 250000")
    data = json.loads(run("rules", "diff", RULES, new, "--format", "json").stdout)
    fields = {(c["area"], c["field"]) for c in data["changes"]}
    assert ("ruleset", "version") in fields
    assert ("rule", "severity") in fields
    assert ("sanctions", "lookback_months") in fields
    assert ("fine", "min") in fields


def test_bad_visits_and_bad_rules(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"visit_id": "X"}\n', encoding="utf-8")
    done = run("rules", "diff", RULES, RULES, "--visits", bad)
    assert done.exit_code == 2 and f"{bad}:1" in done.output
    broken = copy_rules(tmp_path, "broken")
    replace_nth(broken / "working_hours.yaml", "severity: serious", "severity: grave")
    done = run("rules", "diff", RULES, broken)
    assert done.exit_code == 2 and "invalid value 'grave'" in done.output


@pytest.mark.parametrize(
    ("file", "old", "new", "shown"),
    [
        ("grading.yaml", "max_points: 16", "max_points: 10", ["max_points=16", "max_points=10"]),
        ("sanctions.yaml", "      - {code: reminder, target: official}\n", "      - {code: warning, target: official}\n",
         ["[code=reminder, target=official]", "[code=warning, target=official]"]),
        ("sanctions.yaml", 'document: "QĐ 129/2007/QĐ-TTg"', 'document: "QĐ xx/2025/QĐ-UBND [sửa đổi, bổ sung]"',
         ["QĐ xx/2025/QĐ-UBND [sửa đổi, bổ sung]"]),
        ("sanctions.yaml", 'document: "QĐ 129/2007/QĐ-TTg"', 'document: "QĐ xx [/b]"', ["QĐ xx [/b]"]),
    ],
    ids=["grading-bands", "policy-recommend", "bracketed-words", "closing-tag"],
)
def test_terminal_output_shows_values_in_brackets_as_written(tmp_path: Path, file: str, old: str, new: str, shown: list[str]) -> None:
    """Lists and legal bases hold square brackets, which rich would read as markup."""
    changed = copy_rules(tmp_path, "new")
    replace_nth(changed / file, old, new)
    done = run("rules", "diff", RULES, changed)
    assert done.exit_code == 0, done.output
    for text in shown:  # word by word: a long cell folds onto several lines
        assert all(word in done.output for word in text.split()), done.output
