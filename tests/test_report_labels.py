"""Reports name every rule by the title its check gives it, and never name an unknown province.

A third-party check's rules used to show as raw ids ("leadership_presence.no_leader_present")
because the reports kept their own table of the built-in rules; and visits without
`unit.province` put "và —" at the end of the report's title.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from _report_dir import make_report_dir

from compliance import Check, Rule, installed_checks
from compliance.reports import (
    ReportDir,
    data,
    html_report,
    markdown_report,
    narrative,
    tables,
    write_xlsx,
)

PLUGIN_RULE = "leadership_presence.no_leader_present"
PLUGIN_TITLE = {"vi": "Không có lãnh đạo đơn vị tại trụ sở", "en": "No leader of the unit at the office"}
PLUGIN_WORDS = {
    "vi": "một số cơ quan, đơn vị không có lãnh đạo nào có mặt tại trụ sở trong giờ làm việc",
    "en": "some agencies and units had no leader at the office during working hours",
}
"""How the plugin's own rules file (`report:`) has the narrative speak of the rule."""


# -- Rule.title and Check.rule_titles ---------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [{"vi": "Chỉ tiếng Việt"}, {"vi": "", "en": "Empty Vietnamese"}, {"vi": "Một", "en": 2}, "Không phải từ điển"],
)
def test_a_rule_title_must_be_bilingual(title: Any) -> None:
    with pytest.raises(ValueError, match="'vi' and 'en'"):
        Rule("unit", "A rule.", title=title)


class _Desk(Check):
    id = "reception_desk"
    title = {"vi": "Bàn tiếp dân", "en": "Reception desk"}
    rules = {
        "desk_understaffed": Rule("unit", "Too few staff.", title={"vi": "Thiếu người trực", "en": "Understaffed"}),
        "desk_missing": Rule("unit", "No desk."),
    }


def test_a_rule_without_title_is_named_by_its_check_and_id() -> None:
    assert _Desk().rule_titles() == {
        "desk_understaffed": {"vi": "Thiếu người trực", "en": "Understaffed"},
        "desk_missing": {"vi": "Bàn tiếp dân: desk_missing", "en": "Reception desk: desk_missing"},
    }


def test_every_built_in_rule_has_its_own_title() -> None:
    built_in = [i.check for i in installed_checks() if i.module.startswith("compliance_checks.")]
    assert len(built_in) == 6
    untitled = [f"{c.id}.{r}" for c in built_in for r, rule in c.rules.items() if rule.title is None]
    assert untitled == []


# -- Where a report finds the names ------------------------------------------------------------


def _summary(**extra: Any) -> dict[str, Any]:
    counts = {"office_culture.no_id_card": 2, "reception_desk.desk_understaffed": 1}
    return {"visits": 3, "findings_by_rule": counts, "subjects_by_rule": counts, **extra}


@pytest.mark.parametrize(
    ("summary", "lang", "expected"),
    [
        # Written by the batch: used even though no such check is installed here.
        (_summary(rule_titles={"reception_desk.desk_understaffed": {"vi": "Thiếu người trực", "en": "Understaffed"}}),
         "vi", {"office_culture.no_id_card": "Không đeo thẻ", "reception_desk.desk_understaffed": "Thiếu người trực"}),
        (_summary(rule_titles={"reception_desk.desk_understaffed": {"vi": "Thiếu người trực", "en": "Understaffed"}}),
         "en", {"office_culture.no_id_card": "Staff card not worn", "reception_desk.desk_understaffed": "Understaffed"}),
        # An older summary: the installed checks name theirs, the others keep their ids.
        (_summary(), "vi", {"office_culture.no_id_card": "Không đeo thẻ",
                            "reception_desk.desk_understaffed": "reception_desk.desk_understaffed"}),
        # A malformed entry is passed over, not shown.
        (_summary(rule_titles={"reception_desk.desk_understaffed": {"vi": "Thiếu"}}), "en",
         {"office_culture.no_id_card": "Staff card not worn",
          "reception_desk.desk_understaffed": "reception_desk.desk_understaffed"}),
    ],
)
def test_rule_names_come_from_the_summary_then_the_installed_checks(
    summary: dict[str, Any], lang: str, expected: dict[str, str]
) -> None:
    by_rule = next(t for t in tables(summary, lang) if t.key == "by_rule")  # type: ignore[arg-type]
    assert {row[1]: row[0] for row in by_rule.rows} == expected


def test_the_narrative_names_other_rules_by_their_titles() -> None:
    summary = _summary(rule_titles={"reception_desk.desk_understaffed": {"vi": "Thiếu người trực", "en": "Understaffed"}})
    vi = dict(narrative(summary, "vi").paragraphs)["shortcomings"]
    en = dict(narrative(summary, "en").paragraphs)["shortcomings"]
    assert "vi phạm các quy định khác (thiếu người trực)" in vi
    assert "broke other rules (understaffed)" in en
    assert "reception_desk" not in vi + en


def test_a_plugin_failing_to_load_leaves_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance.errors import PluginError, Problem

    def broken() -> list[Any]:
        raise PluginError([Problem("plugin_load_failed", {"plugin": "x", "source": "x", "detail": "boom"})])

    data._installed_rule_titles.cache_clear()
    monkeypatch.setattr(data, "installed_checks", broken)
    try:
        assert data.rule_names(_summary()) == {}
    finally:
        data._installed_rule_titles.cache_clear()


# -- A batch with the example plugin, reported in every format and both languages ------------


def _visit(n: int, province: str | None) -> dict[str, Any]:
    unit = {"id": f"vp.test.c{n}", "name": f"UBND xã Thử {n}", "level": "commune"}
    if province:
        unit["province"] = province
    return {
        "visit_id": f"LP-{n}",
        "inspected_at": "2018-06-12T08:00:00+07:00",
        "unit": unit,
        "personnel": [
            {"id": f"ct{n}", "position": "Chủ tịch UBND", "attendance": "absent"},
            {"id": f"cc{n}", "position": "Công chức Tư pháp - Hộ tịch", "attendance": "present"},
        ],
    }


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("compliance_leadership_presence", reason="pip install -e examples/leadership_presence")
    root = tmp_path_factory.mktemp("plugin")
    visits = root / "visits.jsonl"
    visits.write_text(
        "".join(json.dumps(_visit(n, p), ensure_ascii=False) + "\n" for n, p in enumerate(["Vĩnh Phúc", None])),
        encoding="utf-8",
    )
    return make_report_dir(root / "out", visits)


def test_the_batch_keeps_the_rule_titles_it_used(plugin_dir: Path) -> None:
    summary = orjson.loads((plugin_dir / "summary.json").read_bytes())
    assert summary["rule_titles"][PLUGIN_RULE] == PLUGIN_TITLE
    assert set(summary["rule_titles"]) == set(summary["findings_by_rule"])


def _xlsx_rule_names(report: ReportDir, lang: str, tmp_path: Path) -> set[str]:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / f"{lang}.xlsx"
    write_xlsx(report, out, lang)  # type: ignore[arg-type]
    rows = list(openpyxl.load_workbook(out, read_only=True)["findings"].iter_rows(values_only=True))
    column = rows[0].index("Quy tắc / Rule")
    return {row[column] for row in rows[1:]}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_plugin_rule_is_named_in_every_format(plugin_dir: Path, lang: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine where the plugin is not installed: the names and words come from summary.json.
    monkeypatch.setattr(data, "_installed_rule_titles", dict)
    monkeypatch.setattr(data, "_installed_vocabulary", data.ReportVocabulary)
    report = ReportDir.open(plugin_dir)
    title = PLUGIN_TITLE[lang]
    md = markdown_report(report, lang)  # type: ignore[arg-type]
    assert f"| {title} | {PLUGIN_RULE} | 2 | 2 |" in md
    story = narrative(report.summary, lang)  # type: ignore[arg-type]
    assert PLUGIN_WORDS[lang] in story.text() and PLUGIN_RULE not in story.text()
    # Without words of its own, a rule is still named, by its title, among "other rules".
    bare = {k: v for k, v in report.summary.items() if k != "report_words"}
    monkeypatch.setattr(data, "_installed_vocabulary", data.ReportVocabulary)
    assert title[0].lower() + title[1:] in narrative(bare, lang).text()  # type: ignore[arg-type]
    page = html_report(report, lang)  # type: ignore[arg-type]
    assert f"<td>{title}</td><td>{PLUGIN_RULE}</td>" in page
    assert title in _xlsx_rule_names(report, lang, tmp_path)


# -- Units with no province ------------------------------------------------------------------


@pytest.mark.parametrize("unknown", ["—", ""])
@pytest.mark.parametrize(
    ("lang", "named", "row"),
    [
        ("vi", "trên địa bàn tỉnh Vĩnh Phúc", "Chưa rõ tỉnh"),
        ("en", "in Vĩnh Phúc province", "Province unknown"),
    ],
)
def test_an_unknown_province_is_not_named(unknown: str, lang: str, named: str, row: str) -> None:
    summary = {
        "visits": 2,
        "units_by_level": {"commune": 2},
        "grades": {"good": 2},
        "period": {"from": "2018-06-12", "to": "2018-06-12"},
        "by_province": {"Vĩnh Phúc": {"visits": 1, "units": 1}, unknown: {"visits": 1, "units": 1}},
    }
    story = narrative(summary, lang)  # type: ignore[arg-type]
    assert story.title.endswith(named)
    close = dict(story.paragraphs)["close"]
    assert "Vĩnh Phúc" in close and " và —" not in close and " and —" not in close
    provinces = next(t for t in tables(summary, lang) if t.key == "by_province")  # type: ignore[arg-type]
    assert [r[0] for r in provinces.rows] == ["Vĩnh Phúc", row]

    only_unknown = copy.deepcopy(summary)
    del only_unknown["by_province"]["Vĩnh Phúc"]
    alone = narrative(only_unknown, lang)  # type: ignore[arg-type]
    assert alone.title.endswith("12/06/2018" if lang == "vi" else "12 June 2018")
    assert "—" not in alone.text()


def test_a_batch_with_a_visit_lacking_its_province(plugin_dir: Path) -> None:
    report = ReportDir.open(plugin_dir)
    for lang in ("vi", "en"):
        md = markdown_report(report, lang)  # type: ignore[arg-type]
        first = md.splitlines()[0]
        assert "Vĩnh Phúc" in first and "—" not in first
        assert ("| Chưa rõ tỉnh |" if lang == "vi" else "| Province unknown |") in md
