"""The JSON Schemas editors use for rule files: in sync with the models, referenced by every
shipped file, and agreeing with the loader on what a valid file is."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from _authoring_support import RULES, run
from jsonschema import Draft202012Validator

from compliance.authoring import schema
from compliance.plugins import installed_checks
from compliance.yamlsafe import load_document

SCHEMA_DIR = RULES / "schema"


def _checks() -> list[Any]:
    return schema.checks_of_dir(installed_checks(), RULES)


def _plain(value: Any) -> Any:
    """Data as an editor's YAML 1.2 parser sees it: dates stay text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _shipped_files() -> list[Path]:
    """The catalogue's files: the national base, its cases, and every province's overlay."""
    return sorted(RULES.glob("*.yaml")) + sorted((RULES / "cases").glob("*.yaml")) + sorted((RULES / "provinces").glob("*/*.yaml"))


def _validator_for(path: Path) -> Draft202012Validator:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    return Draft202012Validator(json.loads(target.read_text(encoding="utf-8")), format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    done = run("rules", "schema", "--out", tmp_path)
    assert done.exit_code == 0, done.output
    generated = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.schema.json")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    expected = {f"{n}.schema.json" for n in ("catalogue", "ruleset", "calendar", "calendar.overlay", "grading", "sanctions", "cases")}
    expected |= {f"{c.id}.schema.json" for c in _checks()} | {f"{c.id}.overlay.schema.json" for c in _checks()}
    shipped = schema.plugin_checks(installed_checks(), RULES)  # the example plugin's, installed for the tests
    assert shipped and {c.id for c in shipped}.isdisjoint(c.id for c in _checks())
    plugin_schemas = {f"{c.id}.schema.json" for c in shipped} | {f"{c.id}.overlay.schema.json" for c in shipped}
    assert set(generated) == expected | plugin_schemas  # --out: every schema there
    assert set(committed) == expected, "run 'compliance rules schema' and commit rules/schema/"
    for name in expected:
        assert committed[name] == generated[name], f"rules/schema/{name} is stale: run 'compliance rules schema'"
    for check in shipped:  # beside the plugin's own rules file, where its first line points
        beside = Path(check.rules_dir) / "schema" / f"{check.id}.schema.json"
        assert beside.read_text(encoding="utf-8") == generated[beside.name], f"{beside} is stale: run 'compliance rules schema'"
    assert run("rules", "schema", "--check").exit_code == 0


def test_rules_schema_writes_a_plugin_checks_schema_beside_its_rules_file(tmp_path: Path) -> None:
    """Before, `rules schema` wrote none for a plugin's own rules YAML, so the editor had nothing
    to check it with; a province that copies the file into its ruleset gets it there instead."""
    from _authoring_support import copy_rules, shipped_probe

    rules = copy_rules(tmp_path, cases=False)
    plugin = shipped_probe(tmp_path)
    checks = installed_checks([plugin])
    files = schema.schema_files(checks, rules)
    beside = tmp_path / "probe_plugin" / "schema" / "probe.schema.json"
    assert beside in files and rules / "schema" / "probe.schema.json" not in files
    schema.write_files(files)
    probe = json.loads(beside.read_text(encoding="utf-8"))
    assert probe["properties"]["check"]["const"] == "probe"
    assert schema.stale_files(schema.schema_files(checks, rules)) == []
    (rules / "probe.yaml").write_text((tmp_path / "probe_plugin" / "probe.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    files = schema.schema_files(checks, rules)
    assert rules / "schema" / "probe.schema.json" in files and beside not in files


def test_the_example_plugins_rules_file_names_a_schema_that_exists_and_fits() -> None:
    from compliance_leadership_presence.check import RULES_DIR

    path = RULES_DIR / "leadership_presence.yaml"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == schema.header("leadership_presence")
    assert (path.parent / first.split("$schema=", 1)[1]).is_file()
    data = _plain(load_document(path.read_bytes(), str(path)).data)
    assert not [e.message for e in _validator_for(path).iter_errors(data)]


def _described(node: Any, trail: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(where, schema) of every part of a schema that has a description."""
    out = []
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            out.append((trail, node))
        for key, value in node.items():
            out.extend(_described(value, f"{trail}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_described(value, f"{trail}/{i}"))
    return out


def test_every_description_is_in_vietnamese_too_and_shown_by_the_editor_in_both() -> None:
    """They were English only. VS Code's YAML extension shows `markdownDescription` when there
    is one (completion and hover): both languages, Vietnamese first, escaped for Markdown."""
    docs = schema.schema_documents(installed_checks())
    described = [(name + where, part) for name, doc in docs.items() for where, part in _described(doc)]
    assert len(described) > 300
    english_only = [where for where, part in described if not part.get("x-description-vi")]
    assert not english_only, english_only
    for where, part in described:  # escaping only adds backslashes
        shown = part["markdownDescription"].replace("\\", "")
        assert shown == f"{part['x-description-vi']}\n\n*{part['description']}*".replace("\\", ""), where
    when = docs["sanctions"]["$defs"]["When"]["properties"]["rules"]
    assert "'check.\\*'" in when["markdownDescription"]  # a '*' would start emphasis
    assert when["markdownDescription"].endswith("*'check.rule' ids, or 'check.\\*' for every rule of a check; omitted: any rule.*")


@pytest.mark.parametrize(
    "where",
    [
        "properties/check", "properties/title", "properties/rules", "properties/report",
        "$defs/WorkingHoursRules/properties/late_arrival",
        *(f"$defs/WorkingHoursLateArrivalVersion/properties/{key}" for key in (
            "effective_from", "effective_to", "legal_basis", "severity", "thresholds", "message", "note")),
        "$defs/LateThresholds/properties/grace_minutes",
    ],
)
def test_the_keys_of_a_check_file_are_described_in_both_languages(where: str) -> None:
    part: Any = schema.schema_documents(_checks())["working_hours"]
    for step in where.split("/"):
        part = part[step]
    assert part["description"] and part["x-description-vi"] and part["markdownDescription"]


def test_check_flag_reports_stale_schemas(tmp_path: Path) -> None:
    run("rules", "schema", "--out", tmp_path)
    (tmp_path / "grading.schema.json").write_text("{}\n", encoding="utf-8")
    done = run("rules", "schema", "--out", tmp_path, "--check", "--lang", "vi")
    assert done.exit_code == 1
    assert "grading" in done.output and "Lược đồ cũ hoặc thiếu" in done.output


def test_a_schema_file_that_is_a_symbolic_link_is_not_written_through(tmp_path: Path) -> None:
    """`rules schema` writes into a rules directory others may write: a link planted there
    must not make it overwrite the file the link points at."""
    victim = tmp_path / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA precious\n", encoding="utf-8")
    out = tmp_path / "schema"
    out.mkdir()
    (out / "grading.schema.json").symlink_to(victim)
    done = run("rules", "schema", "--out", out)
    assert done.exit_code == 2, done.output
    assert done.output.splitlines() == [
        f"Error: {out / 'grading.schema.json'}: this file is a symbolic link, which is not written through: remove the link and run again"
    ]
    assert victim.read_text(encoding="utf-8") == "ssh-ed25519 AAAA precious\n"
    assert list(out.iterdir()) == [out / "grading.schema.json"]  # nothing half-written either


@pytest.mark.parametrize("path", _shipped_files(), ids=lambda p: str(p.relative_to(RULES)))
def test_each_shipped_file_names_its_schema_on_the_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if path.parent.name == "cases":
        assert first == schema.header("cases", case_file=True) == "# yaml-language-server: $schema=../schema/cases.schema.json"
    elif path.parent.parent.name == "provinces":
        kind = path.stem if path.stem in ("ruleset", "grading", "sanctions") else f"{path.stem}.overlay"
        assert first == schema.header(path.stem, overlay=True) == f"# yaml-language-server: $schema=../../schema/{kind}.schema.json"
    else:
        assert first == schema.header(path.stem) == f"# yaml-language-server: $schema=schema/{path.stem}.schema.json"
    assert (path.parent / first.split("$schema=", 1)[1]).is_file()


@pytest.mark.parametrize("path", _shipped_files(), ids=lambda p: str(p.relative_to(RULES)))
def test_each_shipped_file_is_valid_for_its_schema(path: Path) -> None:
    data = _plain(load_document(path.read_bytes(), str(path)).data)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator_for(path).iter_errors(data)]
    assert not errors, errors


def test_the_schema_flags_what_the_loader_refuses() -> None:
    path = RULES / "working_hours.yaml"
    validator = _validator_for(path)
    data = _plain(load_document(path.read_bytes(), str(path)).data)
    version = data["rules"]["late_arrival"][-1]
    version["severty"] = version.pop("severity")
    version["thresholds"] = {"grace_minutes": "five"}
    messages = [e.message for e in validator.iter_errors(data)]
    assert any("severty" in m for m in messages)  # additional property
    assert any("'five'" in m for m in messages)  # not an integer
    assert any("'severity' is a required property" in m for m in messages)


def test_schema_helps_the_editor() -> None:
    docs = schema.schema_documents(_checks())
    hours = docs["working_hours"]
    assert hours["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert hours["properties"]["check"]["const"] == "working_hours"
    grace = hours["$defs"]["LateThresholds"]["properties"]["grace_minutes"]
    assert grace["type"] == "integer" and grace["description"]
    session = docs["calendar"]["$defs"]["Session"]["properties"]["start"]
    assert session["type"] == "string" and "pattern" in session
    assert set(docs["cases"]["properties"]["check"]["enum"]) == {c.id for c in _checks()}
    codes = docs["sanctions"]["$defs"]["Recommend"]["properties"]["code"]["enum"]
    assert "reminder" in codes and "head_accountability" in codes
