"""The example plugin (examples/leadership_presence) adds a seventh check without engine changes.

It must be installed for these tests to run: ``pip install -e examples/leadership_presence``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

plugin = pytest.importorskip(
    "compliance_leadership_presence",
    reason="the example plugin is not installed: pip install -e examples/leadership_presence",
)

import compliance
from compliance import Engine
from compliance.cases import case_files, coverage, run_all
from compliance.ruleset.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parent.parent
CHECK = "leadership_presence"
DISTRIBUTION = "compliance-leadership-presence"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _visit(personnel: list[dict], inspected_at: str = "2018-06-12T08:00:00+07:00") -> dict:
    return {
        "visit_id": "LP-TEST",
        "inspected_at": inspected_at,
        "unit": {"id": "vp.test.commune", "name": "UBND xã Thử", "level": "commune"},
        "personnel": personnel,
    }


def test_installed_checks_include_the_plugin_with_its_distribution() -> None:
    infos = {info.check.id: info for info in compliance.installed_checks()}
    assert CHECK in infos
    info = infos[CHECK]
    assert info.distribution == DISTRIBUTION
    assert info.plugin == CHECK
    assert info.module == "compliance_leadership_presence.check"
    assert set(info.check.rules) == {"no_leader_present", "schedule_not_posted"}
    # The built-in checks are still there beside it.
    assert {"working_hours", "office_culture", "alcohol_tobacco", "one_stop", "tthc_posting", "altar_ban"} <= set(infos)


def test_rules_ship_inside_the_plugin_package() -> None:
    rules_dir = Path(plugin.LeadershipPresence.rules_dir)
    assert rules_dir == Path(plugin.__file__).resolve().parent / "rules"
    assert (rules_dir / f"{CHECK}.yaml").is_file()
    assert (rules_dir / "cases" / f"{CHECK}.yaml").is_file()


def test_base_ruleset_uses_the_shipped_rules(engine: Engine) -> None:
    # The base ruleset has no leadership_presence.yaml: the plugin's own file is loaded.
    assert not (engine.ruleset.directory / f"{CHECK}.yaml").exists()
    versions = engine.ruleset.rules[CHECK]["no_leader_present"]
    assert [v.effective_from.isoformat() for v in versions] == ["2016-09-05"]
    assert {ref.document for ref in versions[0].legal_basis} == {"NĐ 157/2007/NĐ-CP", "Chỉ thị 26/CT-TTg"}
    assert any(f.name == f"base:plugin:{CHECK}.yaml" for f in engine.ruleset.files)


def test_all_leaders_absent_is_a_finding(engine: Engine) -> None:
    result = engine.evaluate(
        _visit(
            [
                {"id": "ct", "position": "Chủ tịch UBND", "attendance": "absent"},
                {"id": "pct", "position": "Phó Chủ tịch UBND", "attendance": "absent", "absence_reason": "leave"},
                {"id": "cc", "position": "Công chức Tư pháp - Hộ tịch", "attendance": "present"},
            ]
        )
    )
    mine = [f for f in result.findings if f.check == CHECK]
    assert [(f.rule, f.subject.type, f.subject.id) for f in mine] == [("no_leader_present", "unit", "vp.test.commune")]
    finding = mine[0]
    assert finding.severity == "moderate"
    assert finding.evidence == {"leaders_checked": 2}
    assert "UBND xã Thử" in finding.message["vi"] and "2" in finding.message["en"]
    assert [ref["document"] for ref in finding.legal_basis] == ["NĐ 157/2007/NĐ-CP", "Chỉ thị 26/CT-TTg"]
    assert "rectify_within_deadline" in {s.code for s in finding.sanctions}
    # The other checks see the same visit as before.
    assert any(f.check == "working_hours" and f.rule == "absent_unexcused" and f.subject.id == "ct" for f in result.findings)


def test_a_leader_present_is_silent(engine: Engine) -> None:
    result = engine.evaluate(
        _visit(
            [
                {"id": "ct", "position": "Chủ tịch UBND", "attendance": "absent"},
                {"id": "pct", "position": "Phó Chủ tịch UBND", "attendance": "late", "arrived_at": "08:10"},
            ]
        )
    )
    assert not [f for f in result.findings if f.check == CHECK]


def test_example_visit_is_unchanged_by_the_plugin(engine: Engine) -> None:
    # The example visit's only leader (Phó Chủ tịch) was late, i.e. at the office.
    result = engine.evaluate(_load_fixture_visit())
    assert not [f for f in result.findings if f.check == CHECK]


def _load_fixture_visit() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "tests" / "fixtures" / "visit.example.yaml").read_text(encoding="utf-8"))


def test_shipped_cases_pass(engine: Engine) -> None:
    shipped = Path(plugin.LeadershipPresence.rules_dir) / "cases" / f"{CHECK}.yaml"
    assert shipped in case_files(engine), "case_files() does not find the plugin's shipped cases"
    outcomes = run_all(engine, [shipped])
    assert len(outcomes) >= 4
    failed = [f"{o.name}: {'; '.join(o.failures)}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
    names = " ".join(o.name for o in outcomes).lower()
    for kind in ("a finding", "silent", "not observed", "lunch break"):
        assert kind in names, f"no case about {kind!r}"
    cov = coverage(engine, outcomes)
    assert not [r for r in cov.never_fired + cov.never_silent + cov.versions_untested if r.startswith(CHECK)]


def test_ruleset_directory_overrides_the_shipped_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(compliance.default_rules_dir(), rules, ignore=shutil.ignore_patterns("cases"))
    text = (Path(plugin.LeadershipPresence.rules_dir) / f"{CHECK}.yaml").read_text(encoding="utf-8")
    (rules / f"{CHECK}.yaml").write_text(
        text.replace('leader_titles: ["Chủ tịch",', 'leader_titles: ["Chánh Văn phòng", "Chủ tịch",'), encoding="utf-8"
    )
    engine = Engine.load(rules)
    assert any(f.name == f"base:{CHECK}.yaml" and f.path.parent == rules for f in engine.ruleset.files)
    result = engine.evaluate(
        _visit(
            [
                {"id": "cvp", "position": "Chánh Văn phòng UBND", "attendance": "absent"},
                {"id": "cc", "position": "Công chức", "attendance": "present"},
            ]
        )
    )
    assert [f.evidence for f in result.findings if f.check == CHECK] == [{"leaders_checked": 1}]


def test_engine_source_does_not_mention_the_plugin() -> None:
    engine_dir = ROOT / "src" / "compliance"
    assert engine_dir.is_dir()
    mentions = [
        str(path.relative_to(ROOT))
        for path in sorted(engine_dir.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and b"leadership_presence" in path.read_bytes()
    ]
    assert mentions == [], f"the engine was changed for the plugin: {mentions}"


@pytest.mark.slow
def test_plugin_wheel_carries_its_rules_as_package_data(tmp_path: Path) -> None:
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", str(tmp_path), str(ROOT / "examples" / "leadership_presence")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("compliance_leadership_presence-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "compliance_leadership_presence/rules/leadership_presence.yaml" in names
    assert "compliance_leadership_presence/rules/cases/leadership_presence.yaml" in names
    assert "[compliance]" in entry_points
    assert "leadership_presence = compliance_leadership_presence.check" in entry_points


# -- The plugin boundary: observations of its own, words of its own --------------------------


def _without_the_plugin() -> Engine:
    built_in = [i for i in compliance.installed_checks() if i.check.id != CHECK]
    return Engine(load_catalogue(None, [i.check for i in built_in]), built_in)


def _strip(schema: dict, plugin_fields: dict[str, list[str]]) -> dict:
    """`schema` without the plugin's own fields and without its name among the readers."""
    out = copy.deepcopy(schema)
    for section in plugin_fields.get("sections", []):
        del out["properties"][section]
        del out["$defs"][section.capitalize()]
    for field in plugin_fields.get("official", []):
        del out["$defs"]["Official"]["properties"][field]

    def walk(value: object) -> None:
        if isinstance(value, dict):
            readers = value.get("x-read-by")
            if isinstance(readers, list) and CHECK in readers:
                readers.remove(CHECK)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(out)
    return out


def test_the_visit_format_differs_by_exactly_the_plugin_fields(engine: Engine) -> None:
    with_plugin = compliance.visit_schema(engine)
    without = compliance.visit_schema(_without_the_plugin())
    assert "acting_leader" in with_plugin["$defs"]["Official"]["properties"]
    assert with_plugin["properties"]["leadership"]["x-read-by"] == [CHECK]
    assert CHECK in with_plugin["$defs"]["Official"]["properties"]["attendance"]["x-read-by"]
    assert _strip(with_plugin, {"official": ["acting_leader"], "sections": ["leadership"]}) == without


def test_schema_visit_command_prints_the_plugin_fields() -> None:
    out = subprocess.run([sys.executable, "-m", "compliance", "schema", "visit"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    field = schema["$defs"]["Official"]["properties"]["acting_leader"]
    assert field["x-read-by"] == [CHECK] and field["description"] and field["x-description-vi"]


def test_its_observations_are_refused_where_it_is_not_installed(engine: Engine) -> None:
    visit = _visit([{"id": "cc", "attendance": "present", "acting_leader": True}])
    engine.evaluate(visit)
    with pytest.raises(compliance.InputError) as refused:
        _without_the_plugin().evaluate({**visit, "leadership": {"schedule_posted": False}})
    messages = [p.message("en") for p in refused.value.problems]
    assert any(m.startswith("unknown field 'acting_leader': no installed check reads it") for m in messages)
    assert "unknown field 'leadership': no installed check reads it" in messages


def test_a_plugin_declaring_a_shared_observation_differently_is_refused_by_name() -> None:
    from pydantic import StrictBool

    from compliance import Check, Observed, PluginError, Rule, Thresholds, hookimpl, observed

    class Presence(Observed):
        attendance: StrictBool | None = observed("At the office.", "Có mặt tại trụ sở.")

    class RollCall(Check):
        id = "roll_call"
        title = {"vi": "Điểm danh", "en": "Roll call"}
        observes = {"official": Presence}
        rules = {"not_present": Rule("official", "Not at the office.", Thresholds)}

    class conflicting:  # noqa: N801 - a plugin module's stand-in
        @staticmethod
        @hookimpl
        def compliance_checks() -> list[Check]:
            return [RollCall()]

    with pytest.raises(PluginError) as refused:
        Engine.load(plugins=[conflicting])
    (problem,) = refused.value.problems
    assert problem.code == "observation_conflict"
    text = problem.message("en")
    assert "personnel[].attendance" in text and "roll_call" in text and CHECK in text
    assert "khai báo cùng trường quan sát" in problem.message("vi")


def test_the_report_speaks_of_its_findings_in_its_own_words(tmp_path: Path) -> None:
    visits = tmp_path / "visits.jsonl"
    away = _visit([{"id": "ct", "position": "Chủ tịch UBND", "attendance": "absent"},
                   {"id": "cc", "position": "Công chức", "attendance": "present"}])
    visits.write_text(json.dumps({**away, "leadership": {"schedule_posted": False}}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "compliance", "batch", str(visits), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["subjects_by_rule"][f"{CHECK}.schedule_not_posted"] == 1
    for lang, words in (("vi", "không niêm yết công khai lịch công tác tuần của lãnh đạo"),
                        ("en", "did not post their leaders' weekly work schedule")):
        report = subprocess.run([sys.executable, "-m", "compliance", "report", str(out), "--lang", lang],
                                capture_output=True, text=True, timeout=300)
        assert report.returncode == 0, report.stderr
        assert words in report.stdout
    explained = subprocess.run([sys.executable, "-m", "compliance", "explain", str(visits), "--rule", CHECK, "--format", "json"],
                               capture_output=True, text=True, timeout=300)
    data = json.loads(explained.stdout)
    read = next(c["read"] for c in data["checks"] if c["check"] == CHECK)
    assert read["leadership"] == {"schedule_posted": False}
    assert {r["rule"]: r["status"] for r in data["rules"]} == {
        f"{CHECK}.no_leader_present": "fired", f"{CHECK}.schedule_not_posted": "fired"}
