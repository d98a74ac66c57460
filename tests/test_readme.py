"""The README opens with the two commands a new user runs; CI must run the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "the README must open with a bash block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_install_and_test_commands() -> None:
    main_job, tests = _opening_commands()
    assert "pip install" in main_job and "compliance batch fixtures/" in main_job and "compliance report" in main_job
    assert "pip install" in tests and tests.rstrip().endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = _opening_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()


def test_the_main_job_input_is_shipped() -> None:
    main_job, _ = _opening_commands()
    fixture = re.search(r"compliance batch (\S+)", main_job).group(1)
    assert (ROOT / fixture).is_file()
