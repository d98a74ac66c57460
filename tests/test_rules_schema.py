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
    return sorted(RULES.glob("*.yaml")) + sorted((RULES / "cases").glob("*.yaml"))


def _validator_for(path: Path) -> Draft202012Validator:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    return Draft202012Validator(json.loads(target.read_text(encoding="utf-8")), format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    done = run("rules", "schema", "--out", tmp_path)
    assert done.exit_code == 0, done.output
    generated = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.schema.json")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    expected = {f"{n}.schema.json" for n in ("ruleset", "calendar", "grading", "sanctions", "cases")}
    expected |= {f"{c.id}.schema.json" for c in _checks()}
    assert set(generated) == expected
    assert set(committed) == expected, "run 'compliance rules schema' and commit rules/schema/"
    for name in expected:
        assert committed[name] == generated[name], f"rules/schema/{name} is stale: run 'compliance rules schema'"
    assert run("rules", "schema", "--check").exit_code == 0


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
