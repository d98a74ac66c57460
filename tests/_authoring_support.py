"""Helpers for the rules-authoring tests: copies of rules/ to break, and generated visits."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from compliance.cli import main

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"


def copy_rules(tmp_path: Path, name: str = "rules", *, cases: bool = True) -> Path:
    target = tmp_path / name
    shutil.copytree(RULES, target, ignore=None if cases else shutil.ignore_patterns("cases"))
    return target


def replace_nth(path: Path, old: str, new: str, nth: int = 1) -> int:
    """Replace the nth occurrence (1-based; -1 the last) of `old` in the file; return its line."""
    text = path.read_text(encoding="utf-8")
    starts = []
    at = text.find(old)
    while at != -1:
        starts.append(at)
        at = text.find(old, at + 1)
    assert starts, f"{old!r} not in {path}"
    start = starts[nth - 1] if nth > 0 else starts[nth]
    path.write_text(text[:start] + new + text[start + len(old):], encoding="utf-8")
    return text.count("\n", 0, start) + 1


def line_of(path: Path, snippet: str, nth: int = 1) -> int:
    text = path.read_text(encoding="utf-8")
    at = -1
    for _ in range(nth):
        at = text.find(snippet, at + 1)
        assert at != -1, f"{snippet!r} not in {path}"
    return text.count("\n", 0, at) + 1


def run(*args: str | Path) -> Result:
    """The command as a person runs it (wide terminal, English unless --lang, base rules unless --rules)."""
    env = {"COLUMNS": "200", "COMPLIANCE_LANG": None, "COMPLIANCE_RULES": None, "NO_COLOR": "1"}
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("wb") as out:
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
    return path


VISIT_2018 = {
    "visit_id": "EX-2018-1",
    "inspected_at": "2018-06-12T08:10:00+07:00",
    "unit": {"id": "xa-a", "name": "UBND xã A", "level": "commune"},
    "personnel": [
        {"id": "a1", "name": "Trần Thị Bình", "category": "civil_servant", "position": "Công chức Tư pháp - Hộ tịch", "attendance": "absent"},
        {"id": "l1", "category": "civil_servant", "position": "Chuyên viên", "attendance": "late", "arrived_at": "07:40", "wearing_id_card": True},
        {"id": "p1", "category": "civil_servant", "position": "Chuyên viên", "attendance": "present", "wearing_id_card": False},
        {"id": "p2", "attendance": "present"},
        {"id": "p3", "attendance": "present"},
        {"id": "p4", "attendance": "present"},
        {"id": "p5", "attendance": "present"},
    ],
}


PROBE_RULES = """\
check: probe
rules:
  odd:
    - effective_from: 2000-01-01
      severity: minor
      message: {vi: "lạ {x}", en: "odd {x}"}
      legal_basis: [{document: X}]
"""

PROBE_CASES = """\
check: probe
base: {visit_id: P-1, inspected_at: "2018-06-12T08:00:00+07:00", unit: {id: u, level: commune}}
cases:
  - name: fires
    expect: [{rule: odd, subject: u}]
  - name: fires again
    expect: [{rule: odd}]
"""


def shipped_probe(tmp_path: Path, *, cases: str = PROBE_CASES, raises: bool = False) -> Any:
    """A plugin object whose check 'probe' ships its rules and cases in its own rules_dir, as
    an installed third-party plugin does; its one rule fires on every visit (or it raises)."""
    from compliance import Check, Observation, Rule, Thresholds, hookimpl

    shipped = tmp_path / "probe_plugin"
    (shipped / "cases").mkdir(parents=True)
    (shipped / "probe.yaml").write_text(PROBE_RULES, encoding="utf-8")
    (shipped / "cases" / "probe.yaml").write_text(cases, encoding="utf-8")

    class Probe(Check):
        id = "probe"
        title = {"vi": "thử", "en": "probe"}
        rules = {"odd": Rule("unit", "fires on every visit", Thresholds, evidence=("x",))}
        rules_dir = shipped

        def evaluate(self, visit: Any, ctx: Any) -> Any:
            if raises:
                raise RuntimeError("boom in probe")
            yield Observation("odd", visit.unit.id, {"x": 1})

    class Plugin:
        @hookimpl
        def compliance_checks(self) -> list[Check]:
            return [Probe()]

    return Plugin()
