"""The wheel is self-sufficient: built, installed into a fresh virtualenv and run from elsewhere.

The built-in checks (package compliance_checks) and the base ruleset (compliance/_rules, via
hatch force-include) must come from the wheel, not from this checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "visit.example.yaml"
BUILT_IN = {"working_hours", "office_culture", "alcohol_tobacco", "one_stop", "tthc_posting", "altar_ban"}

pytestmark = pytest.mark.slow


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, encoding="utf-8"
    )
    return proc


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _clean_env() -> dict[str, str]:
    """The environment minus anything that would point the venv back at this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_")}
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        env.pop(key, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


class Installed:
    def __init__(self, venv: Path, work: Path, env: dict[str, str]):
        self.venv = venv
        self.work = work
        self.env = env
        bindir = venv / ("Scripts" if os.name == "nt" else "bin")
        self.python = bindir / "python"
        self.compliance = bindir / "compliance"

    def run(self, *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return _run(list(args), cwd=self.work, env=self.env, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    env = _clean_env()
    dist = base / "dist"
    # --no-isolation uses the hatchling already installed instead of fetching it; without one,
    # build fetches hatchling into an isolated environment.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
    _ok(
        _run(
            [sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", dist, ROOT],
            cwd=base,
            env=env,
            timeout=120,
        ),
        "python -m build --wheel",
    )
    wheels = sorted(dist.glob("compliance-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    _ok(_run([sys.executable, "-m", "venv", venv], cwd=base, env=env, timeout=120), "python -m venv")
    inst = Installed(venv, base / "work", env)
    inst.work.mkdir()
    _ok(inst.run(inst.python, "-m", "pip", "install", "--quiet", wheels[0], timeout=240), "pip install <wheel>")
    shutil.copy(FIXTURE, inst.work / "visit.yaml")
    return inst


def test_runs_outside_the_checkout(installed: Installed) -> None:
    assert ROOT not in installed.work.resolve().parents
    assert ROOT not in installed.venv.resolve().parents


def test_venv_does_not_see_the_system_site_packages(installed: Installed) -> None:
    cfg = (installed.venv / "pyvenv.cfg").read_text(encoding="utf-8")
    assert "include-system-site-packages = false" in cfg


def test_engine_checks_and_rules_come_from_the_wheel(installed: Installed) -> None:
    code = (
        "import json, compliance, compliance_checks; "
        "print(json.dumps({'rules': str(compliance.default_rules_dir()), "
        "'engine': compliance.__file__, 'checks': compliance_checks.__file__}))"
    )
    where = json.loads(_ok(installed.run(installed.python, "-c", code), "import compliance"))
    venv = installed.venv.resolve()
    for name, path in where.items():
        assert venv in Path(path).resolve().parents, f"{name} is not from the venv: {path}"
    rules = Path(where["rules"])
    assert rules.parts[-2:] == ("compliance", "_rules")
    for name in ("ruleset.yaml", "calendar.yaml", "grading.yaml", "sanctions.yaml", *(f"{c}.yaml" for c in BUILT_IN)):
        assert (rules / name).is_file(), f"{name} missing from the wheel's rules"


def test_evaluate_the_example_visit(installed: Installed) -> None:
    proc = installed.run(installed.compliance, "evaluate", installed.work / "visit.yaml", "--format", "json")
    out = _ok(proc, "compliance evaluate")
    results = json.loads(out)
    assert isinstance(results, list) and len(results) == 1
    result = results[0]
    assert result["visit_id"] == "VP-2018-0412"
    found = {f"{f['check']}.{f['rule']}" for f in result["findings"]}
    assert "working_hours.absent_unexcused" in found
    assert "working_hours.late_arrival" in found
    assert "explanation_report" in {s["code"] for s in result["sanctions"]}
    assert {f["check"] for f in result["findings"]} <= BUILT_IN


def test_checks_lists_the_six_built_ins(installed: Installed) -> None:
    rows = json.loads(_ok(installed.run(installed.compliance, "checks", "--format", "json"), "compliance checks"))
    assert {row["check"] for row in rows} == BUILT_IN
    for row in rows:
        assert row["versions"], f"{row['check']}.{row['rule']} has no rule versions"
        assert "(compliance 0.1.0)" in row["source"], row["source"]
