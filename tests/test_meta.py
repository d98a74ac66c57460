"""Every installed check is complete: rules, example cases, documentation, and the exchange
contract's rule ids are all produced.

The contract (shared/spec/CONTRACT.md) is hard-coded below on purpose: CI does not have the
shared directory, and a contract change must be a deliberate change to this file.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from compliance import CheckInfo, Engine, default_rules_dir, installed_checks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "checks"
BUILTIN_PREFIX = "compliance_checks."

# check.rule -> subject, as in the table of shared/spec/CONTRACT.md ("Checks and rule ids").
CONTRACT: dict[str, str] = {
    "working_hours.absent_unexcused": "official",
    "working_hours.late_arrival": "official",
    "working_hours.high_absence_rate": "unit",
    "office_culture.no_id_card": "official",
    "office_culture.improper_attire": "official",
    "office_culture.no_nameplate": "official",
    "office_culture.untidy_office": "unit",
    "alcohol_tobacco.alcohol_during_work": "official",
    "alcohol_tobacco.smoking_at_office": "official",
    "alcohol_tobacco.no_smoking_sign_missing": "unit",
    "alcohol_tobacco.pledges_not_organized": "unit",
    "alcohol_tobacco.pledge_not_signed": "official",
    "one_stop.one_stop_missing": "unit",
    "one_stop.one_stop_closed": "unit",
    "one_stop.restricted_hours": "unit",
    "one_stop.shared_software_not_used": "unit",
    "tthc_posting.procedures_not_posted": "unit",
    "tthc_posting.posting_outdated": "unit",
    "altar_ban.altar_in_office": "unit",
    "altar_ban.incense_in_office": "unit",
}


@functools.lru_cache(maxsize=1)
def _checks() -> tuple[CheckInfo, ...]:
    return tuple(installed_checks())


def _builtin(info: CheckInfo) -> bool:
    return info.module.startswith(BUILTIN_PREFIX)


def _ids(infos: tuple[CheckInfo, ...]) -> list[str]:
    return [info.check.id for info in infos]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def test_contract_has_twenty_rules() -> None:
    assert len(CONTRACT) == 20


@pytest.mark.parametrize("info", _checks(), ids=_ids(_checks()))
def test_check_has_rules_file(info: CheckInfo) -> None:
    cid = info.check.id
    base = default_rules_dir() / f"{cid}.yaml"
    if _builtin(info):
        assert base.is_file(), f"built-in check {cid}: no rules file {base}"
        return
    shipped = info.check.rules_dir
    candidates = [base] + ([Path(shipped) / f"{cid}.yaml"] if shipped is not None else [])
    assert any(p.is_file() for p in candidates), f"plugin check {cid} ({info.source}): none of {candidates} exists"


@pytest.mark.parametrize("info", _checks(), ids=_ids(_checks()))
def test_check_has_case_file(info: CheckInfo) -> None:
    cid = info.check.id
    base = default_rules_dir() / "cases" / f"{cid}.yaml"
    if _builtin(info):
        assert base.is_file(), f"built-in check {cid}: no case file {base}"
        return
    shipped = info.check.rules_dir
    candidates = [base] + ([Path(shipped) / "cases" / f"{cid}.yaml"] if shipped is not None else [])
    assert any(p.is_file() for p in candidates), f"plugin check {cid} ({info.source}): none of {candidates} exists"


@pytest.mark.parametrize("info", _checks(), ids=_ids(_checks()))
def test_builtin_check_has_doc_page(info: CheckInfo) -> None:
    if not _builtin(info):
        pytest.skip(f"{info.check.id} is a plugin check ({info.module}); its README documents it")
    page = DOCS / f"{info.check.id}.md"
    assert page.is_file(), f"built-in check {info.check.id}: no doc page {page}"
    text = page.read_text(encoding="utf-8")
    missing = [rule for rule in info.check.rules if rule not in text]
    assert not missing, f"{page} does not mention rule(s) {missing}"


def test_contract_rules_are_produced_by_installed_checks() -> None:
    declared = {f"{info.check.id}.{rule_id}": rule.subject for info in _checks() for rule_id, rule in info.check.rules.items()}
    missing = sorted(set(CONTRACT) - set(declared))
    assert not missing, f"contract rule ids no installed check produces: {missing}"
    wrong = {key: (declared[key], subject) for key, subject in CONTRACT.items() if declared[key] != subject}
    assert not wrong, f"contract rules with another subject (declared, contract): {wrong}"


def test_contract_rules_are_in_the_base_ruleset(engine: Engine) -> None:
    in_ruleset = {f"{check}.{rule}" for check, rules in engine.ruleset.rules.items() for rule, versions in rules.items() if versions}
    missing = sorted(set(CONTRACT) - in_ruleset)
    assert not missing, f"contract rule ids with no version in the base ruleset: {missing}"


def test_contract_checks_are_builtin() -> None:
    by_id = {info.check.id: info for info in _checks()}
    for check in sorted({key.partition(".")[0] for key in CONTRACT}):
        assert check in by_id, f"contract check {check} is not installed"
        assert _builtin(by_id[check]), f"contract check {check} comes from {by_id[check].source}, not the built-in plugins"
