"""The plugin boundary is enforced, not hoped for.

The engine knows no check by name: checks arrive through the entry-point group, each bringing
the observations it reads, its rules and the words reports use for them. An import-linter
contract (pyproject.toml, `[tool.importlinter]`) states the layers; this file runs it, shows
that it would catch a core module importing a check, and looks through the core's code for a
built-in rule, check or observation named in it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compliance import installed_checks
from compliance.observations import compose

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else dict(os.environ)
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 kept, 0 broken" in run.stdout


def test_the_contract_fails_when_a_core_module_imports_a_check(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    probe = tmp_path / "src" / "compliance" / "reports" / "probe.py"
    probe.write_text("from compliance_checks.working_hours import WorkingHours\n", encoding="utf-8")
    run = _lint_imports(tmp_path, f"{tmp_path / 'src'}{os.pathsep}{tmp_path / 'plugins'}")
    assert run.returncode != 0
    assert "never import a check" in run.stdout and "BROKEN" in run.stdout
    assert "compliance.reports.probe -> compliance_checks.working_hours" in run.stdout


def _built_in_names() -> set[str]:
    built_in = [i for i in installed_checks() if i.module.startswith("compliance_checks.")]
    assert built_in, "the built-in checks are installed"
    names: set[str] = set()
    for info in built_in:
        check = info.check
        names.add(check.id)
        names.update(check.rules)
        names.update(f"{check.id}.{rule}" for rule in check.rules)
    visit_format = compose(built_in)
    for place, field in visit_format.readers:
        names.add(field)
        if place not in ("official", "visit"):
            names.add(place)
    return names


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants of a module, without its docstrings, help texts and field descriptions
    (which may show examples), in English or Vietnamese (`described(en, vi)`, `__doc_vi__`)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "described":
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__doc_vi__" for t in node.targets):
            skip.update(id(n) for n in ast.walk(node.value))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg in ("help", "description"):
            skip.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # an attribute docstring
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_no_core_module_names_a_built_in_rule_check_or_observation() -> None:
    names = _built_in_names()
    found = []
    for path in sorted((ROOT / "src" / "compliance").rglob("*.py")):
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            # The whole string, or within prose an identifier-like word ('one_stop', 'working_hours.late_arrival'):
            # a plain English word such as "exists" in a sentence is not a field named.
            words = {text} | {w for w in text.replace("'", " ").replace('"', " ").split() if "_" in w or "." in w}
            hits = sorted(w for w in words if w in names or any(w.startswith(f"{n}.") for n in names if "." not in n))
            if hits:
                found.append(f"{path.relative_to(ROOT)}:{line}: {', '.join(hits)}")
    assert found == []


@pytest.mark.parametrize("place", ["official", "workplace", "one_stop"])
def test_the_core_visit_model_holds_no_observation(place: str) -> None:
    from compliance.visit import Official, Visit

    core = set(Official.model_fields) if place == "official" else set(Visit.model_fields)
    assert core.isdisjoint(_built_in_names()), core & _built_in_names()
