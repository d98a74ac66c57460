"""docs/writing-a-check.md builds a plugin from nothing: its code, rules and cases run as written.

The page's files (fences whose first line is `# file: <path>`) are written out as a package and
registered in-process, as a plugin author would try them before packaging. The plugin reads an
observation of each official and a section of its own that the core does not define; it must
evaluate, explain, pass its cases, change the visit format by exactly its own fields, and be
spoken of in a report with its own words.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from compliance import Engine, InputError, installed_checks, visit_schema
from compliance.batch.summary import SummaryBuilder, combine
from compliance.cases import coverage, run_all
from compliance.reports import narrative
from compliance.ruleset.words import vocabulary

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "writing-a-check.md"
_FENCE = re.compile(r"^```(\w*)\n# file: (\S+)[^\n]*\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tutorial")
    files: dict[str, str] = {}
    for match in _FENCE.finditer(DOC.read_text(encoding="utf-8")):
        files[match.group(2)] = files.get(match.group(2), "") + match.group(3)
    assert {"pyproject.toml", "src/compliance_phone_use/__init__.py", "src/compliance_phone_use/rules/phone_use.yaml",
            "src/compliance_phone_use/rules/cases/phone_use.yaml"} <= set(files)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def plugin(package: Path) -> Any:
    spec = importlib.util.spec_from_file_location("compliance_phone_use", package / "src/compliance_phone_use/__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compliance_phone_use"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("compliance_phone_use", None)


@pytest.fixture(scope="module")
def engine(plugin: Any) -> Engine:
    return Engine.load(plugins=[plugin])


VISIT: dict[str, Any] = {
    "visit_id": "PU-9",
    "inspected_at": "2018-06-12T08:30:00+07:00",
    "unit": {"id": "u-9", "name": "UBND xã Chín", "level": "commune"},
    "personnel": [
        {"id": "a", "attendance": "present", "phone_gaming": True},
        {"id": "b", "attendance": "present", "phone_gaming": False},
    ],
    "phone_use": {"rules_cover_phones": False},
}


def test_the_tutorial_check_evaluates_its_own_observations(engine: Engine) -> None:
    result = engine.evaluate(VISIT)
    found = {(f.key, f.subject.id) for f in result.findings if f.check == "phone_use"}
    assert found == {("phone_use.playing_games", "a"), ("phone_use.no_phone_rule", "u-9")}
    assert Engine.load().visit_model is not engine.visit_model
    with pytest.raises(InputError) as refused:
        Engine.load().evaluate(VISIT)  # without the plugin nothing reads these fields
    said = {p.message("en") for p in refused.value.problems}
    assert "unknown field 'phone_gaming': no installed check reads it" in said
    assert "unknown field 'phone_use': no installed check reads it" in said


def test_the_tutorial_cases_pass_with_full_coverage(engine: Engine, package: Path) -> None:
    cases = package / "src/compliance_phone_use/rules/cases/phone_use.yaml"
    outcomes = run_all(engine, [cases])
    assert len(outcomes) == 7 and all(o.passed for o in outcomes), [(o.name, o.failures) for o in outcomes if not o.passed]
    report = coverage(engine, outcomes)
    assert not [r for r in report.never_fired if r.startswith("phone_use.")]
    assert not [r for r in report.never_silent if r.startswith("phone_use.")]


def _strip_plugin(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    del out["properties"]["phone_use"]
    del out["$defs"]["PhoneUse"]
    del out["$defs"]["Official"]["properties"]["phone_gaming"]
    return out


def test_the_visit_format_changes_by_exactly_the_plugin_fields(engine: Engine) -> None:
    with_plugin, without = visit_schema(engine), visit_schema(Engine.load())
    official = with_plugin["$defs"]["Official"]["properties"]["phone_gaming"]
    assert official["x-read-by"] == ["phone_use"] and official["x-description-vi"].startswith("Bị phát hiện")
    assert with_plugin["properties"]["phone_use"]["x-read-by"] == ["phone_use"]
    assert _strip_plugin(with_plugin) == without


def test_explain_shows_what_the_check_read_and_why_it_stayed_silent(engine: Engine) -> None:
    visit = {**VISIT, "personnel": [*VISIT["personnel"], {"id": "c", "phone_gaming": False}, {"id": "d", "phone_gaming": False}]}
    _, trace = engine.evaluate_traced(visit)
    data = trace.to_dict()
    read = next(c["read"] for c in data["checks"] if c["check"] == "phone_use")
    assert read["personnel"]["a"] == {"phone_gaming": True} and read["phone_use"] == {"rules_cover_phones": False}
    rule = next(r for r in data["rules"] if r["rule"] == "phone_use.widespread_gaming")
    assert rule["status"] == "not_fired"
    assert rule["notes"][0]["message"]["en"] == "1 of 4 playing: below 30%"


def test_a_report_speaks_of_the_findings_in_the_plugin_words(engine: Engine) -> None:
    builder = SummaryBuilder()
    builder.add_unit([engine.evaluate_data(VISIT)])
    summary = combine([builder.partial()], errors=0, ruleset={})
    summary["report_words"] = vocabulary(engine.ruleset.words, {i.check.id: list(i.check.rules) for i in engine.checks}).model_dump()
    vi, en = narrative(summary, "vi").text(), narrative(summary, "en").text()
    assert "chơi trò chơi trên điện thoại trong giờ làm việc" in vi
    assert "Đã phát hiện 01 cán bộ, công chức chơi trò chơi trên điện thoại trong giờ làm việc." in vi
    assert "1 official was seen playing games on a phone during working hours." in en
    assert "chưa quy định trong nội quy về sử dụng điện thoại" in vi


def test_the_tutorial_plugin_is_not_installed_here() -> None:
    assert "phone_use" not in {i.check.id for i in installed_checks()}
