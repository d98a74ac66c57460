"""Engine behaviour a user relies on: pure, dated, history-aware, never trusting a plugin blindly."""

from __future__ import annotations

import copy
import importlib.metadata
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance import (
    Check,
    Engine,
    InputError,
    Observation,
    PluginError,
    PriorFinding,
    Rule,
    RulesError,
    Thresholds,
    hookimpl,
)
from compliance.plugins import plugin_manager

EXAMPLE = Path(__file__).parent / "fixtures" / "visit.example.yaml"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture()
def visit() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def _keys(result: Any) -> list[str]:
    return [f"{f.check}.{f.rule}@{f.subject.id}" for f in result.findings]


def test_example_visit_gives_the_findings_it_describes(engine: Engine, visit: dict[str, Any]) -> None:
    result = engine.evaluate(visit)
    rules = {f"{f.check}.{f.rule}" for f in result.findings}
    assert rules == {
        "working_hours.absent_unexcused",
        "working_hours.late_arrival",
        "office_culture.no_id_card",
        "office_culture.untidy_office",
        "alcohol_tobacco.pledge_not_signed",
        "altar_ban.altar_in_office",
        "altar_ban.incense_in_office",
        "one_stop.restricted_hours",
        "one_stop.shared_software_not_used",
        "tthc_posting.procedures_not_posted",
        "tthc_posting.posting_outdated",
    }
    assert "explanation_report" in {s.code for s in result.sanctions}
    assert result.ruleset.as_of == "2018-06-12" and result.ruleset.digest.startswith("sha256:")
    late = next(f for f in result.findings if f.rule == "late_arrival")
    assert late.evidence["minutes_late"] == 85 and late.evidence["session_start"] == "07:00"
    assert "85" in late.message["vi"] and "85" in late.message["en"]


def test_evaluation_is_deterministic_and_independent_of_personnel_order(engine: Engine, visit: dict[str, Any]) -> None:
    first = engine.evaluate(visit).to_json()
    for seed in range(5):
        shuffled = copy.deepcopy(visit)
        random.Random(seed).shuffle(shuffled["personnel"])
        assert engine.evaluate(shuffled).to_json() == first


def test_not_observed_is_never_a_violation(engine: Engine, visit: dict[str, Any]) -> None:
    blank = {"visit_id": "V", "inspected_at": visit["inspected_at"], "unit": visit["unit"],
             "personnel": [{"id": p["id"]} for p in visit["personnel"]],
             "workplace": {}, "one_stop": {}}
    assert engine.evaluate(blank).findings == ()


def test_visit_outside_working_hours_has_no_attendance_findings(engine: Engine, visit: dict[str, Any]) -> None:
    for moment in ("2018-06-12T12:00:00+07:00", "2018-06-12T18:30:00+07:00", "2018-06-16T09:00:00+07:00"):
        visit["inspected_at"] = moment
        assert not [f for f in engine.evaluate(visit).findings if f.check == "working_hours"]


def test_the_visit_local_date_decides_not_the_utc_date(engine: Engine, visit: dict[str, Any]) -> None:
    # 2020-11-14T18:00Z is already 2020-11-15 in Vietnam: the NĐ 117/2020 version applies.
    visit["inspected_at"] = "2020-11-14T18:00:00-07:00"  # = 2020-11-15 08:00 +07:00
    visit["personnel"][1]["drinking_alcohol"] = True
    result = engine.evaluate(visit)
    alcohol = next(f for f in result.findings if f.rule == "alcohol_during_work")
    assert alcohol.rule_version["effective_from"] == "2020-11-15"
    assert result.visit_date == "2020-11-15"


def test_as_of_overrides_the_rules_date_only(engine: Engine, visit: dict[str, Any]) -> None:
    visit["personnel"][1]["drinking_alcohol"] = True
    result = engine.evaluate(visit, as_of=date(2021, 1, 4))
    alcohol = next(f for f in result.findings if f.rule == "alcohol_during_work")
    assert alcohol.rule_version["effective_from"] == "2020-11-15"
    assert result.ruleset.as_of == "2021-01-04" and result.visit_date == "2018-06-12"
    assert any(s.code == "administrative_fine" for s in result.sanctions)


def test_history_escalates_and_names_the_earlier_visits(engine: Engine, visit: dict[str, Any]) -> None:
    prior = [PriorFinding("VP-2018-0101", date(2018, 3, 1), visit["unit"]["id"], "official", "hh-017", "working_hours.absent_unexcused")]
    result = engine.evaluate(visit, history=prior)
    absent = next(f for f in result.findings if f.rule == "absent_unexcused")
    assert absent.repeat_of == ("VP-2018-0101",)
    escalated = [s for s in result.sanctions if s.code == "self_criticism"]
    assert escalated and escalated[0].escalated_by == ("VP-2018-0101",)
    # history of another unit, or older than the look-back window, does not count
    other = [PriorFinding("X", date(2018, 3, 1), "elsewhere", "official", "hh-017", "working_hours.absent_unexcused"),
             PriorFinding("Y", date(2017, 6, 11), visit["unit"]["id"], "official", "hh-017", "working_hours.absent_unexcused")]
    assert "self_criticism" not in {s.code for s in engine.evaluate(visit, history=other).sanctions}


@pytest.mark.parametrize("scope, repeated", [("rule", False), ("check", True)])
def test_repeat_scope_decides_whether_another_rule_of_the_check_is_a_repeat(
    tmp_path: Path, visit: dict[str, Any], scope: str, repeated: bool
) -> None:
    """`repeat_scope: check` in sanctions.yaml counts any earlier finding of the same check
    (a late arrival before an absence); `rule`, the default, only the same rule."""
    import shutil

    from compliance import History, default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules, ignore=shutil.ignore_patterns("cases"))
    sanctions = rules / "sanctions.yaml"
    sanctions.write_text(sanctions.read_text(encoding="utf-8").replace("repeat_scope: rule", f"repeat_scope: {scope}"), encoding="utf-8")
    engine = Engine.load(rules)
    late = PriorFinding("VP-2018-0099", date(2018, 4, 2), visit["unit"]["id"], "official", "hh-017", "working_hours.late_arrival")
    for history in ([late], History([late])):
        absent = next(f for f in engine.evaluate(visit, history=history).findings if f.rule == "absent_unexcused")
        assert absent.repeat_of == (("VP-2018-0099",) if repeated else ())


def test_a_history_kept_across_visits_gives_what_a_list_of_priors_gives(engine: Engine, visit: dict[str, Any]) -> None:
    """The batch keeps one `History` per unit and adds each result to it; an embedder may pass
    the same findings as a list. Decomposed (NFD) ids from another system still match."""
    import unicodedata

    from compliance import History, history_from

    visit = dict(visit, unit=dict(visit["unit"], id="xã-Đồng-Tâm"))
    first = engine.evaluate(dict(visit, visit_id="V-1", inspected_at="2018-03-05T08:30:00+07:00"))
    kept = History()
    kept.add_result(first)
    listed = history_from(first)
    decomposed = [PriorFinding(p.visit_id, p.date, unicodedata.normalize("NFD", p.unit_id), p.subject_type,
                               unicodedata.normalize("NFD", p.subject_id), p.rule) for p in listed]
    results = [engine.evaluate(visit, history=h).to_json() for h in (kept, listed, decomposed)]
    assert decomposed[0].unit_id != listed[0].unit_id
    assert results[0] == results[1] == results[2]
    assert b'"repeat_of":["V-1"]' in results[0]


def test_results_of_several_engines_do_not_leak_into_each_other(visit: dict[str, Any]) -> None:
    first, second = Engine.load(), Engine.load()
    assert first.evaluate(visit).to_json() == second.evaluate(visit).to_json()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"inspected_at": "2018-06-12T07:50:00"}, "inspected_at"),
        ({"unit": {"id": "u", "level": "village"}}, "unit.level"),
        ({"personnel": [{"id": "a", "attendence": "absent"}]}, "personnel[0].attendence"),
        ({"personnel": [{"id": "a", "attendance": "late", "arrived_at": "25:61"}]}, "personnel[0].arrived_at"),
        ({"personnel": [{"id": "a", "smoking": "yes"}]}, "personnel[0].smoking"),
        ({"workplace": {"rooms_inspected": 2, "rooms_untidy": 5}}, "workplace"),
        ({"personnel": [{"id": "a"}, {"id": "a"}]}, "duplicate id"),
    ],
)
def test_bad_visits_name_the_field(engine: Engine, visit: dict[str, Any], change: dict[str, Any], field: str) -> None:
    visit.update(change)
    with pytest.raises(InputError) as caught:
        engine.evaluate(visit)
    text = caught.value.render("en") + caught.value.render("vi")
    assert field in text


def test_misspelt_field_suggests_the_nearest_name(engine: Engine, visit: dict[str, Any]) -> None:
    visit["personnel"][0]["wearing_id_crd"] = True
    with pytest.raises(InputError) as caught:
        engine.evaluate(visit)
    assert "did you mean 'wearing_id_card'" in caught.value.render("en")
    assert "ý bạn là 'wearing_id_card'" in caught.value.render("vi")


# ---- plugins that misbehave are reported by name, never silently skipped


class _Base(Check):
    id = "probe"
    title = {"vi": "thử", "en": "probe"}
    rules = {"odd": Rule("unit", "a probe rule", Thresholds, evidence=("x",))}


def _rules_dir(tmp_path: Path) -> Path:
    import shutil

    from compliance import default_rules_dir

    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    (target / "probe.yaml").write_text(
        "check: probe\nrules:\n  odd:\n    - effective_from: 2000-01-01\n      severity: minor\n"
        "      message: {vi: 'lạ', en: 'odd'}\n      legal_basis: [{document: 'X'}]\n",
        encoding="utf-8",
    )
    return target


def _plugin(check: Check) -> Any:
    class Plugin:
        @hookimpl
        def compliance_checks(self) -> list[Check]:
            return [check]

    return Plugin()


def test_a_plugin_that_raises_stops_evaluation_naming_it(tmp_path: Path, visit: dict[str, Any]) -> None:
    class Raises(_Base):
        def evaluate(self, visit: Any, ctx: Any) -> Any:
            raise RuntimeError("boom")

    engine = Engine.load(_rules_dir(tmp_path), plugins=[_plugin(Raises())])
    with pytest.raises(PluginError) as caught:
        engine.evaluate(visit)
    assert "probe" in caught.value.render("en") and "boom" in caught.value.render("en")


@pytest.mark.parametrize(
    ("observation", "detail"),
    [
        ("not an observation", "is not an Observation"),
        (Observation("no_such_rule", "vp.tam-duong.hop-hoa"), "unknown rule"),
        (Observation("odd", "another-unit"), "names unit 'another-unit'"),
        (Observation("odd", "vp.tam-duong.hop-hoa", {"x": object()}), "not a plain value"),
        # JSON has no NaN or infinity: they would come out as null while the message says "nan".
        (Observation("odd", "vp.tam-duong.hop-hoa", {"x": float("nan")}), "not a plain value"),
        (Observation("odd", "vp.tam-duong.hop-hoa", {"x": float("inf")}), "not a plain value"),
        (Observation("odd", "vp.tam-duong.hop-hoa", {"x": float("-inf")}), "not a plain value"),
        # Undeclared: it could stand in for a name the engine fills in, or be a misspelling.
        (Observation("odd", "vp.tam-duong.hop-hoa", {"unit_name": "FAKE"}), "not among the rule's declared evidence"),
    ],
)
def test_a_malformed_finding_is_reported_not_trusted(
    tmp_path: Path, visit: dict[str, Any], observation: Any, detail: str
) -> None:
    class Malformed(_Base):
        def evaluate(self, visit: Any, ctx: Any) -> Any:
            return [observation]

    engine = Engine.load(_rules_dir(tmp_path), plugins=[_plugin(Malformed())])
    with pytest.raises(PluginError) as caught:
        engine.evaluate(visit)
    assert "malformed finding" in caught.value.render("en") and detail in caught.value.render("en")


def test_a_check_without_rules_refuses_to_load(visit: dict[str, Any]) -> None:
    with pytest.raises(RulesError) as caught:
        Engine.load(plugins=[_plugin(_Base())])
    assert "'probe' is installed but has no rules" in caught.value.render("en")


class _NotAList:
    @hookimpl
    def compliance_checks(self) -> Any:
        return _Base()


def test_a_hook_returning_one_check_instead_of_a_list_is_named() -> None:
    from compliance.plugins import discover

    pm = plugin_manager([_NotAList()], entry_points=False)
    with pytest.raises(PluginError) as caught:
        discover(pm)
    assert "must return a list of checks" in caught.value.render("en")
    assert "phải trả về một danh sách kiểm tra" in caught.value.render("vi")


@pytest.mark.parametrize(
    ("rule", "wrong"),
    [
        (Rule("unit", "s", Thresholds, evidence="weekday"), "evidence of 'probe.odd' must be a tuple"),  # type: ignore[arg-type]
        (Rule("unit", "s", Thresholds, evidence=["weekday"]), "evidence of 'probe.odd' must be a tuple"),  # type: ignore[arg-type]
        (Rule("unit", "s", Thresholds, evidence=("week day",)), "evidence of 'probe.odd' must be a tuple"),
        (Rule("unit", None, Thresholds), "summary of 'probe.odd' must be text"),  # type: ignore[arg-type]
        (Rule("person", "s", Thresholds), "rule 'probe.odd' must be a compliance.Rule with subject"),  # type: ignore[arg-type]
        (Rule("unit", "s", dict), "thresholds of 'probe.odd' must subclass"),  # type: ignore[arg-type]
        # Keys the engine fills in: a rule's own value would replace them in its messages.
        *[
            (Rule(subject, "s", Thresholds, evidence=("x", key)), f"evidence of 'probe.odd' declares {key}, which the engine")
            for subject, key in [
                ("unit", "unit_id"), ("unit", "unit_name"), ("unit", "unit_level"), ("official", "official_id"),
                ("official", "official_name"), ("official", "position"), ("official", "category"), ("unit", "category"),
            ]
        ],
    ],
)
def test_a_malformed_rule_declaration_refuses_to_load_naming_the_plugin(rule: Rule, wrong: str) -> None:
    from compliance.plugins import discover

    class Declared(_Base):
        rules = {"odd": rule}

    plugin = _plugin(Declared())
    pm = plugin_manager([plugin], entry_points=False)
    with pytest.raises(PluginError) as caught:
        discover(pm)
    assert wrong in caught.value.render("en")
    assert pm.get_name(plugin) in caught.value.render("en")
    assert caught.value.render("vi") != caught.value.render("en")


def test_two_plugins_under_one_entry_point_name_refuse_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeping either would let the install order decide which regulation is checked."""
    clash = [
        importlib.metadata.EntryPoint(name="fire_safety", value=f"{module}.check", group="compliance")
        for module in ("province_a_fire", "province_b_fire")
    ]
    real = importlib.metadata.entry_points

    def fake(**kwargs: Any) -> Any:
        found = list(real(**kwargs))
        return found + clash if kwargs.get("group") == "compliance" else found

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    with pytest.raises(PluginError) as caught:
        plugin_manager()
    for lang in ("en", "vi"):
        text = caught.value.render(lang)
        assert "'fire_safety'" in text and "province_a_fire.check" in text and "province_b_fire.check" in text


def test_two_checks_with_one_id_refuse_to_load() -> None:
    from compliance.plugins import discover

    pm = plugin_manager([_plugin(_Base()), _plugin(_Base())], entry_points=False)
    with pytest.raises(PluginError) as caught:
        discover(pm)
    assert "declared twice" in caught.value.render("en")


def test_a_plugin_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = importlib.metadata.EntryPoint(name="broken_check", value="no_such_module_xyz", group="compliance")
    real = importlib.metadata.entry_points

    def fake(**kwargs: Any) -> Any:
        found = list(real(**kwargs))
        return found + [broken] if kwargs.get("group") == "compliance" else found

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    with pytest.raises(PluginError) as caught:
        plugin_manager()
    assert "broken_check" in caught.value.render("en") and "failed to load" in caught.value.render("en")


@pytest.mark.parametrize(("posted", "shown"), [(1199, "99.92%"), (600, "50%"), (1, "0.08%")])
def test_a_share_short_of_whole_never_reads_as_100_or_0_percent(engine: Engine, posted: int, shown: str) -> None:
    """A finding that says the posting falls short must not show the share as 100%."""
    visit = {
        "visit_id": "PCT", "inspected_at": "2018-06-12T08:00:00+07:00", "unit": {"id": "u", "level": "commune"},
        "one_stop": {"exists": True, "procedures_in_scope": 1200, "procedures_posted": posted},
    }
    (finding,) = [f for f in engine.evaluate(visit).findings if f.rule == "procedures_not_posted"]
    assert f"({shown}, " in finding.message["vi"] and f"({shown}, " in finding.message["en"]


def test_codes_read_as_words_in_each_language_and_stay_codes_in_evidence(engine: Engine) -> None:
    """Policy staff read `xã` and `chỉ buổi chiều`, not `commune` and `afternoons_only`; other
    systems read the contract's codes in the evidence."""
    visit = {
        "visit_id": "CODES", "inspected_at": "2018-06-12T14:30:00+07:00", "unit": {"id": "u", "level": "commune"},
        "one_stop": {"exists": True, "receiving_schedule": "afternoons_only", "uses_shared_software": True},
    }
    (restricted,) = engine.evaluate(visit).findings
    assert "(chỉ buổi chiều)" in restricted.message["vi"] and "(afternoons only)" in restricted.message["en"]
    assert restricted.evidence == {"schedule": "afternoons_only"} and type(restricted.evidence["schedule"]) is str
    missing = engine.evaluate({**visit, "one_stop": {"exists": False}}).findings[0]
    assert "(xã)" in missing.message["vi"] and "(commune)" in missing.message["en"]


def test_an_arrival_the_team_could_not_have_seen_is_refused_as_inconsistent() -> None:
    """Arrived 16:00 on a visit at 08:00 is a typing mistake, not a late finding of 150 minutes;
    the team may wait and note a late arrival within the session, as the contract's example
    does (08:25 on a 07:50 visit)."""
    from compliance import Engine, InputError

    engine = Engine.load()

    def visit(at: str, arrived: str) -> dict:
        return {"visit_id": "V", "inspected_at": f"2018-06-12T{at}:00+07:00", "unit": {"id": "u", "level": "commune"},
                "personnel": [{"id": "o", "attendance": "late", "arrived_at": arrived}]}

    with pytest.raises(InputError) as refused:
        engine.evaluate(visit("08:00", "16:00"))
    (problem,) = refused.value.problems
    assert problem.code == "inconsistent"
    assert "personnel[0].arrived_at (16:00)" in problem.message("en") and "11:30" in problem.message("en")
    assert "muộn hơn thời điểm đoàn kiểm tra đến" in problem.message("vi")
    assert [f.rule for f in engine.evaluate(visit("07:50", "08:25")).findings] == ["late_arrival"]
    assert engine.evaluate(visit("08:00", "11:30")).findings  # until the session's end
    engine.evaluate(visit("12:30", "13:45"))  # at lunch, the afternoon session is the one to come
    with pytest.raises(InputError):
        engine.evaluate(visit("17:30", "17:45"))  # after the day's last session, not after the visit
