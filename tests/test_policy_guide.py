"""The policy-staff guides' walkthroughs run as written, so the guides cannot drift.

A guide marks what the test does with an HTML comment (invisible when the Markdown is shown)
right before a fenced block:

- ``<!-- guide-test: run [exit=N] [contains="text"] -->``: run each ``$ `` line of the console
  block in the work folder; each must exit N (default 0), with ``contains`` print the text, and
  print the lines the guide shows under it, in that order (a table's borders and padding aside),
  ``…`` standing for whatever the run prints there (a count that grows with every case added);
- ``<!-- guide-test: find file=PATH -->`` then ``<!-- guide-test: replace -->``: the first block
  must occur exactly once in PATH (so the guide quotes the real file) and is replaced by the second;
- ``<!-- guide-test: write file=PATH -->``: the block is written to PATH.

The work folder holds a copy of the shipped ``rules/`` and ``visits-2025.jsonl``, last year's
visits, made by the repo's seeded generator (``benchmarks/generate.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parent.parent
GUIDES = {"en": REPO / "docs" / "policy-guide.en.md", "vi": REPO / "docs" / "policy-guide.vi.md"}
BLOCK = re.compile(r"<!--\s*guide-test:\s*(?P<args>.*?)\s*-->\s*\n```[\w-]*[^\n]*\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)


def steps(guide: Path) -> list[tuple[str, dict[str, str], str]]:
    out = []
    for match in BLOCK.finditer(guide.read_text(encoding="utf-8")):
        action, *rest = shlex.split(match.group("args"))
        params = dict(part.split("=", 1) for part in rest)
        out.append((action, params, match.group("body")))
    return out


def transcript(body: str) -> list[tuple[str, list[str]]]:
    """Each ``$ `` command of a console block with the output lines shown under it."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:].strip(), []))
        elif out and line.strip(" …"):
            out[-1][1].append(line)
    return out


def commands(body: str) -> list[str]:
    return [command for command, _ in transcript(body)]


def _flat(line: str) -> str:
    return " ".join(line.split()).strip(" │")


def missing_lines(shown: list[str], output: str) -> list[str]:
    """The lines shown in the guide that the output lacks, in order; ``…`` matches anything."""
    printed = [_flat(line) for line in output.splitlines()]
    at = 0
    for line in shown:
        pattern = re.compile(".*".join(re.escape(part.strip()) for part in _flat(line).split("…")))
        at = next((i + 1 for i in range(at, len(printed)) if pattern.fullmatch(printed[i])), -1)
        if at < 0:
            return shown[shown.index(line):]
    return []


@pytest.fixture(scope="module")
def visits_2025(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("generate", REPO / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    path = tmp_path_factory.mktemp("visits") / "visits-2025.jsonl"
    with path.open("wb") as out:
        for visit in generate.visits(2000):
            if visit["inspected_at"].startswith("2025"):
                out.write(orjson.dumps(visit) + b"\n")
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


@pytest.mark.parametrize("lang", sorted(GUIDES))
def test_walkthrough_runs_as_written(lang: str, tmp_path: Path, visits_2025: Path) -> None:
    guide = GUIDES[lang]
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copy(visits_2025, tmp_path / "visits-2025.jsonl")
    env = _env()
    found: tuple[Path, str] | None = None
    ran = 0
    for action, params, body in steps(guide):
        where = f"{guide.name}: {action} {params}"
        if action == "run":
            for command, shown in transcript(body):
                proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
                output = proc.stdout + proc.stderr
                expected = int(params.get("exit", "0"))
                assert proc.returncode == expected, f"{where}: '{command}' exited {proc.returncode}\n{output}"
                if "contains" in params:
                    assert params["contains"] in output, f"{where}: '{command}' did not print {params['contains']!r}\n{output}"
                assert not (missing := missing_lines(shown, output)), f"{where}: '{command}' did not print {missing[0]!r}\n{output}"
                ran += 1
        elif action == "find":
            path = tmp_path / params["file"]
            text = path.read_text(encoding="utf-8")
            assert text.count(body) == 1, f"{where}: the quoted text occurs {text.count(body)} times in {params['file']}"
            found = (path, body)
        elif action == "replace":
            assert found is not None, f"{where}: 'replace' needs a 'find' before it"
            path, old = found
            path.write_text(path.read_text(encoding="utf-8").replace(old, body), encoding="utf-8")
            found = None
        elif action == "write":
            path = tmp_path / params["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        else:  # pragma: no cover - a typo in a guide
            pytest.fail(f"{where}: unknown guide-test action")
    assert ran >= 6, f"{guide.name}: the walkthrough runs only {ran} commands"


def test_both_guides_walk_through_the_same_steps() -> None:
    def shape(guide: Path) -> list[tuple[str, ...]]:
        out = []
        for action, params, body in steps(guide):
            if action == "run":
                out.append(("run", params.get("exit", "0"), *(c.replace(" --lang vi", "") for c in commands(body))))
            elif action in ("find", "replace"):
                out.append((action, params.get("file", ""), body))  # quotes of the real files
            elif action == "write":
                out.append((action, params["file"]))  # new files may be worded in the guide's language
        return out

    assert shape(GUIDES["vi"]) == shape(GUIDES["en"])


def test_guides_link_each_other() -> None:
    assert "policy-guide.vi.md" in GUIDES["en"].read_text(encoding="utf-8")
    assert "policy-guide.en.md" in GUIDES["vi"].read_text(encoding="utf-8")
