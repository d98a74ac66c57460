"""One national base, provincial overlays, and the right jurisdiction for every visit's date.

The shipped catalogue (`rules/`): the national base, Vĩnh Phúc's overlay until 2025-06-30 and
Phú Thọ's from 2025-07-01. Every visit is evaluated with the overlay of its unit's province on
its local date; a visit no overlay covers is an input error naming its province and date.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from compliance import Engine, InputError, RulesError, default_rules_dir
from compliance.cli import main
from compliance.ruleset.catalogue import load_catalogue, province_key

RULES = default_rules_dir()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _visit(visit_id: str, day: str, province: str | None, *, level: str = "commune", **unit: Any) -> dict[str, Any]:
    u: dict[str, Any] = {"id": f"u-{visit_id}", "level": level, **unit}
    if province is not None:
        u["province"] = province
    return {
        "visit_id": visit_id,
        "inspected_at": f"{day}T07:45:00+07:00",
        "unit": u,
        "personnel": [
            {"id": "a", "attendance": "absent"},
            {"id": "b", "attendance": "present", "signed_pledge": False},
        ],
        "workplace": {"pledges_organized": True},
    }


def test_the_shipped_catalogue_is_a_base_and_two_provinces(engine: Engine) -> None:
    assert engine.catalogue.name == "vn"
    assert [r.name for r in engine.rulesets] == ["vinh-phuc", "phu-tho"]
    vp, pt = engine.rulesets
    assert vp.base is not None and vp.base.name == "national" and pt.base is not None
    assert {(o.what, o.kind) for o in vp.overrides} >= {
        ("calendar", "add"), ("alcohol_tobacco.pledges_not_organized", "add"), ("alcohol_tobacco.pledge_not_signed", "add")
    }
    # The province's own requirement is not national: Phú Thọ's rules do not have it.
    assert "pledge_not_signed" in vp.rules["alcohol_tobacco"] and "pledge_not_signed" not in pt.rules["alcohol_tobacco"]
    # National law is written once: both merge the very same versions of the base.
    assert vp.rules["working_hours"]["late_arrival"] == pt.rules["working_hours"]["late_arrival"]
    assert vp.layer_digest("base") == pt.layer_digest("base") != vp.layer_digest("overlay")


def test_each_visit_is_evaluated_with_its_own_province_and_date(engine: Engine) -> None:
    before = engine.evaluate(_visit("V1", "2024-06-11", "Vĩnh Phúc"))
    after = engine.evaluate(_visit("V2", "2025-09-10", "Phú Thọ"))
    assert before.ruleset.name == "vinh-phuc" and after.ruleset.name == "phu-tho"
    assert before.ruleset.base is not None and before.ruleset.base.name == "national"
    assert "alcohol_tobacco.pledge_not_signed" in {f.key for f in before.findings}
    assert "alcohol_tobacco.pledge_not_signed" not in {f.key for f in after.findings}
    data = json.loads(after.to_json())
    assert data["ruleset"]["overlay"]["name"] == "phu-tho" and data["ruleset"]["base"]["name"] == "national"


@pytest.mark.parametrize(
    ("province", "day", "code", "words"),
    [
        ("Hà Nội", "2024-06-11", "province_not_covered", ["'Hà Nội'", "2024-06-11"]),
        ("Phú Thọ", "2024-06-11", "province_not_covered", ["'Phú Thọ'", "2024-06-11"]),  # the old Phú Thọ: no rules here
        ("Vĩnh Phúc", "2025-09-10", "province_merged", ["Vĩnh Phúc", "2025-09-10", "Phú Thọ", "unit.merged_into"]),
    ],
)
def test_a_visit_no_ruleset_covers_is_refused_naming_its_province_and_date(
    engine: Engine, province: str, day: str, code: str, words: list[str]
) -> None:
    with pytest.raises(InputError) as refused:
        engine.evaluate(_visit("X", day, province))
    (problem,) = refused.value.problems
    assert problem.code == code and problem.path == "unit.province"
    for word in words:
        assert word in problem.message("en"), word
    assert day in problem.message("vi")


def test_an_old_province_name_is_routed_only_where_the_data_says_so(engine: Engine) -> None:
    said = engine.evaluate(_visit("X", "2025-09-10", "Vĩnh Phúc", merged_into="Phú Thọ"))
    assert said.ruleset.name == "phu-tho" and said.province == "Vĩnh Phúc"
    with pytest.raises(InputError) as wrong:
        engine.evaluate(_visit("X", "2025-09-10", "Vĩnh Phúc", merged_into="Hà Nội"))
    assert wrong.value.problems[0].code == "merged_into_wrong"
    # Before the merger the old name is simply the province.
    assert engine.evaluate(_visit("X", "2025-06-30", "Vĩnh Phúc", merged_into="Phú Thọ")).ruleset.name == "vinh-phuc"


def test_province_names_are_compared_as_people_write_them() -> None:
    assert province_key("tỉnh Vĩnh Phúc") == province_key("VĨNH PHÚC") == province_key("Vi\u0303nh Phu\u0301c ")


def test_a_district_after_the_reform_is_refused_naming_it(engine: Engine) -> None:
    assert engine.evaluate(_visit("X", "2025-06-30", "Vĩnh Phúc", level="district")).ruleset.name == "vinh-phuc"
    for level in ("district", "district_unit"):
        with pytest.raises(InputError) as refused:
            engine.evaluate(_visit("X", "2025-07-01", "Phú Thọ", level=level))
        (problem,) = refused.value.problems
        assert problem.code == "level_abolished" and problem.path == "unit.level"
        assert "two-level local government" in problem.message("en") and "không còn cấp huyện" in problem.message("vi")


def test_a_visit_without_province_is_the_home_province_s(engine: Engine) -> None:
    assert engine.evaluate(_visit("X", "2018-06-12", None)).ruleset.name == "vinh-phuc"
    assert engine.evaluate(_visit("X", "2025-09-10", None)).ruleset.name == "phu-tho"


# ---- a catalogue of one's own: overlays, overrides, a national change written once


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy, ignore=shutil.ignore_patterns("cases", "schema"))
    return copy


def _overlay(rules: Path, name: str, province: str, start: str, files: dict[str, str]) -> Path:
    path = rules / "provinces" / name
    path.mkdir(parents=True)
    (path / "ruleset.yaml").write_text(
        f'name: {name}\nversion: "1"\nextends: "../.."\ncovers:\n  - {{province: "{province}", effective_from: {start}}}\n',
        encoding="utf-8",
    )
    (path / "calendar.yaml").write_text(
        "versions:\n  - effective_from: 2010-01-01\n    legal_basis: [{document: \"QĐ giờ làm việc ◇\"}]\n"
        "    seasons:\n      - name: all\n        from: \"01-01\"\n        to: \"12-31\"\n"
        "        sessions: [{start: \"08:00\", end: \"12:00\"}, {start: \"13:30\", end: \"17:30\"}]\n",
        encoding="utf-8",
    )
    for file, text in files.items():
        (path / file).write_text(text, encoding="utf-8")
    return path


def test_an_overlay_may_change_thresholds_or_disable_a_rule_with_a_reason(rules: Path) -> None:
    _overlay(rules, "ha-noi", "Hà Nội", "2010-01-01", {
        "working_hours.yaml": "check: working_hours\nrules:\n"
        "  late_arrival: {thresholds: {grace_minutes: 10}, reason: {vi: \"Thành phố cho phép 10 phút\", en: \"The city allows 10 minutes\"}}\n"
        "  high_absence_rate: {disable: true, reason: {vi: \"Thành phố không dùng ngưỡng này\", en: \"The city does not use it\"}}\n",
    })
    engine = Engine.load(rules)
    hanoi = engine.catalogue.by_name["ha-noi"]
    assert {(o.what, o.kind) for o in hanoi.overrides} >= {
        ("working_hours.late_arrival", "thresholds"), ("working_hours.high_absence_rate", "disable")
    }
    assert "high_absence_rate" not in hanoi.rules["working_hours"]
    visit = _visit("H", "2018-06-12", "Hà Nội")
    visit["inspected_at"] = "2018-06-12T09:00:00+07:00"
    visit["personnel"] = [{"id": "late", "attendance": "late", "arrived_at": "08:09"}] + [
        {"id": f"x{i}", "attendance": "absent"} for i in range(5)
    ]
    found = {f.key for f in engine.evaluate(visit).findings}
    assert "working_hours.late_arrival" not in found  # within Hà Nội's 10 minutes, after its 08:00 start
    assert "working_hours.high_absence_rate" not in found and "working_hours.absent_unexcused" in found
    shown = CliRunner().invoke(main, ["rules", "show", str(rules), "--province", "Hà Nội", "--date", "2018-06-12"])
    assert shown.exit_code == 0, shown.output
    assert "The city allows 10 minutes" in shown.output and "provinces/ha-noi/working_hours.yaml:3" in shown.output
    assert "thresholds.grace_minutes: 10" in shown.output


def test_an_overlay_cannot_silently_replace_a_national_rule(rules: Path) -> None:
    _overlay(rules, "ha-noi", "Hà Nội", "2010-01-01", {
        "working_hours.yaml": "check: working_hours\nrules:\n  late_arrival:\n    - effective_from: 2010-01-01\n"
        "      severity: minor\n      message: {vi: \"muộn\", en: \"late\"}\n      legal_basis: [{document: \"x\"}]\n",
    })
    with pytest.raises(RulesError) as refused:
        Engine.load(rules)
    (problem,) = refused.value.problems
    assert problem.code == "overlay_rule_in_base" and problem.file is not None
    assert problem.file.endswith("provinces/ha-noi/working_hours.yaml") and problem.line == 3
    assert "replace:" in problem.message("en") and "reason" in problem.message("en")


def test_a_national_change_written_once_shows_for_every_province(rules: Path, tmp_path: Path) -> None:
    _overlay(rules, "ha-noi", "Hà Nội", "2025-07-01", {})
    base = rules / "working_hours.yaml"
    text = base.read_text(encoding="utf-8")
    last = "    - effective_from: 2016-09-05\n      severity: minor\n      thresholds: {grace_minutes: 0}\n"
    assert last in text
    text = text.replace(last, last.replace("      severity", "      effective_to: 2026-12-31\n      severity"))
    text = text.replace("\n  high_absence_rate:\n", (
        "\n    - effective_from: 2027-01-01\n      severity: moderate\n      thresholds: {grace_minutes: 0}\n"
        "      message: {vi: \"{position} ({official_id}) đi muộn {minutes_late} phút\", en: \"{position} ({official_id}) {minutes_late} minutes late\"}\n"
        "      legal_basis: [{document: \"NĐ xx/2026/NĐ-CP\", issued: 2026-11-01}]\n  high_absence_rate:\n"
    ), 1)
    base.write_text(text, encoding="utf-8")
    engine = Engine.load(rules)
    for ruleset in engine.rulesets:
        late = ruleset.rules["working_hours"]["late_arrival"]
        assert late[-1].effective_from == date(2027, 1, 1) and late[-1].severity.value == "moderate"
    for province in ("Phú Thọ", "Hà Nội"):
        shown = CliRunner().invoke(main, ["rules", "show", str(rules), "--province", province, "--date", "2027-02-02", "--format", "json"])
        assert shown.exit_code == 0, shown.output
        late = next(r for r in json.loads(shown.stdout)["rules"] if r["rule"] == "working_hours.late_arrival")
        assert late["version"].startswith("2027-01-01") and late["source"].startswith("working_hours.yaml:")
    # Its impact on past visits of each province, replayed under the new version's date.
    visits = tmp_path / "visits.jsonl"
    rows = []
    for i, province in enumerate(["Phú Thọ", "Phú Thọ", "Hà Nội"]):
        v = _visit(f"D{i}", "2025-09-10", province)
        v["inspected_at"] = "2025-09-10T09:00:00+07:00"
        v["personnel"] = [{"id": "l", "attendance": "late", "arrived_at": "08:40"}]
        rows.append(json.dumps(v, ensure_ascii=False))
    visits.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = tmp_path / "before"
    shutil.copytree(RULES, before, ignore=shutil.ignore_patterns("cases", "schema"))
    _overlay(before, "ha-noi", "Hà Nội", "2025-07-01", {})
    diff = CliRunner().invoke(main, ["rules", "diff", str(before), str(rules), "--visits", str(visits), "--as-of", "2027-01-05", "--format", "json"])
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.stdout)
    # Made once in the base, seen in every province's ruleset: said once, for all of them.
    late = [c for c in data["changes"] if c["key"] == "working_hours.late_arrival"]
    assert late and {c["ruleset"] for c in late} == {None}
    assert {(c["kind"], c["version"]) for c in late} >= {("added", "2027-01-01")}
    per_province = data["impact"]["per_province"]
    assert per_province["Phú Thọ"]["visits"] == 2 and per_province["Hà Nội"]["visits"] == 1


def test_two_overlays_cannot_cover_one_province_on_one_day(rules: Path) -> None:
    _overlay(rules, "phu-tho-2", "Phú Thọ", "2026-01-01", {})
    with pytest.raises(RulesError) as refused:
        load_catalogue(rules, [i.check for i in Engine.load().checks])
    assert [p.code for p in refused.value.problems] == ["covers_overlap"]


def test_a_batch_over_several_provinces_names_each_ruleset_and_refuses_the_uncovered(tmp_path: Path) -> None:
    visits = tmp_path / "mixed.jsonl"
    rows = [_visit("VP-1", "2024-06-11", "Vĩnh Phúc"), _visit("PT-1", "2025-09-10", "Phú Thọ"), _visit("HN-1", "2024-06-11", "Hà Nội")]
    visits.write_text("\n".join(json.dumps(v, ensure_ascii=False) for v in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["batch", str(visits), "--out", str(out), "--workers", "1"])
    assert run.exit_code == 0, run.output
    results = {r["visit_id"]: r for r in map(json.loads, (out / "results.jsonl").read_text(encoding="utf-8").splitlines())}
    assert results["VP-1"]["ruleset"]["name"] == "vinh-phuc" and results["PT-1"]["ruleset"]["name"] == "phu-tho"
    (error,) = map(json.loads, (out / "errors.jsonl").read_text(encoding="utf-8").splitlines())
    assert error["line"] == 3 and "Hà Nội" in error["problems"][0]["message"]["en"] and "2024-06-11" in error["problems"][0]["message"]["en"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    used = {r["name"]: r for r in summary["ruleset"]["rulesets"]}
    assert used["vinh-phuc"]["visits"] == 1 and used["phu-tho"]["base"]["name"] == "national"
    assert summary["units_by_level_period"] == {"…2025-06-30": {"commune": 1}, "2025-07-01…": {"commune": 1}}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {r["name"] for r in manifest["ruleset"]["rulesets"]} == {"vinh-phuc", "phu-tho"}
    report = CliRunner().invoke(main, ["report", str(out), "--lang", "vi"])
    assert report.exit_code == 0 and "tỉnh Phú Thọ và Vĩnh Phúc" in report.output


@pytest.mark.parametrize(("province", "day", "off", "worked"), [
    # Tết 2024 (08-14/02, with the days given in lieu), Giỗ Tổ, 30/4-1/5 moved with Saturday 04/05 worked.
    ("Vĩnh Phúc", "2024-06-11", ["2024-02-08", "2024-02-14", "2024-04-18", "2024-04-29"], ["2024-05-04"]),
    ("Phú Thọ", "2027-02-02", ["2027-02-08", "2027-09-02"], []),
])
def test_rules_show_gives_the_days_off_of_the_year_with_the_library_s_holidays(province: str, day: str, off: list[str], worked: list[str]) -> None:
    """The days off a policy officer sees are those evaluation uses: the library's public holidays
    as well as what the YAML adds, not only the YAML's (which lists none for these years)."""
    engine = Engine.load()
    shown = CliRunner().invoke(main, ["rules", "show", "--province", province, "--date", day, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    year = json.loads(shown.stdout)["calendar"]["year"]
    assert set(off) <= set(year["days_off"]) and set(worked) <= set(year["days_worked"])
    assert year["source"].startswith("holidays ")
    for text in year["days_off"] + year["days_worked"]:  # each one is what evaluation makes of that day
        visit = _visit("Y", text, province)
        visit["inspected_at"] = f"{text}T09:00:00+07:00"
        visit["personnel"] = [{"id": "a", "attendance": "absent"}]
        absent = [f for f in engine.evaluate(visit).findings if f.rule == "absent_unexcused"]
        assert bool(absent) == (text in year["days_worked"]), text
    text = CliRunner().invoke(main, ["rules", "show", "--province", province, "--date", day]).stdout
    assert off[0] in text and "holidays " in text
