"""Officials' names never reach an output when --redact-names is given; pseudonyms are stable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from compliance import Engine, Visit
from compliance.privacy import Redactor

EXAMPLE = Path(__file__).parent / "fixtures" / "visit.example.yaml"
NAME = "Nguyễn Văn A"


def _visit() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def test_pseudonyms_are_stable_per_key_and_differ_between_keys() -> None:
    a, b = Redactor("key-1"), Redactor("key-1")
    assert a.pseudonym(NAME) == b.pseudonym(NAME) != Redactor("key-2").pseudonym(NAME)
    assert NAME not in a.pseudonym(NAME)


def test_redacted_visit_keeps_everything_but_names() -> None:
    visit = Visit.model_validate(_visit())
    redacted = Redactor("k").visit(visit)
    assert [o.name for o in redacted.personnel if o.name] == [Redactor("k").pseudonym(NAME)]
    engine = Engine.load()
    plain, hidden = engine.evaluate(visit).to_dict(), engine.evaluate(redacted).to_dict()
    assert [f["rule"] for f in plain["findings"]] == [f["rule"] for f in hidden["findings"]]
    assert NAME not in json.dumps(hidden, ensure_ascii=False)


def test_cli_evaluate_redacts_in_every_format() -> None:
    env = {"COMPLIANCE_REDACT_KEY": "test-key", "PATH": "/usr/bin:/bin"}
    for fmt in ("json", "jsonl", "markdown", "table"):
        done = subprocess.run(
            [sys.executable, "-m", "compliance", "evaluate", str(EXAMPLE), "--format", fmt, "--redact-names"],
            capture_output=True, env=env, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert NAME.encode() not in done.stdout + done.stderr
    first = subprocess.run([sys.executable, "-m", "compliance", "evaluate", str(EXAMPLE), "--format", "json", "--redact-names"],
                           capture_output=True, env=env, timeout=120).stdout
    assert Redactor("test-key").pseudonym(NAME).encode() in first


def test_an_invalid_name_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    visit = _visit()
    visit["personnel"][0]["name"] = ["Trần Thị Bí Mật"]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(visit, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "compliance", "evaluate", str(path)], capture_output=True, timeout=120)
    assert done.returncode == 2
    assert "personnel[0].name" in done.stderr.decode()
    assert "Bí Mật" not in done.stderr.decode()
