"""Officials' names never reach an output when --redact-names is given; pseudonyms are stable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from compliance import Engine, parse_visit
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
    visit = parse_visit(_visit())
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


def test_cli_explain_redacts_in_both_formats() -> None:
    env = {"COMPLIANCE_REDACT_KEY": "test-key", "PATH": "/usr/bin:/bin"}
    for fmt in ("json", "text"):
        plain = subprocess.run([sys.executable, "-m", "compliance", "explain", str(EXAMPLE), "--format", fmt],
                               capture_output=True, env=env, timeout=120)
        assert plain.returncode == 0 and NAME.encode() in plain.stdout, "the example visit names an official"
        done = subprocess.run([sys.executable, "-m", "compliance", "explain", str(EXAMPLE), "--format", fmt, "--redact-names"],
                              capture_output=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert NAME.encode() not in done.stdout + done.stderr
    assert Redactor("test-key").pseudonym(NAME).encode() in done.stdout


def test_an_invalid_name_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    visit = _visit()
    visit["personnel"][0]["name"] = ["Trần Thị Bí Mật"]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(visit, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "compliance", "evaluate", str(path)], capture_output=True, timeout=120)
    assert done.returncode == 2
    assert "personnel[0].name" in done.stderr.decode()
    assert "Bí Mật" not in done.stderr.decode()


def test_batch_and_report_outputs_hold_no_names(tmp_path: Path) -> None:
    visit = _visit()
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(visit, ensure_ascii=False) + "\n", encoding="utf-8")
    env = {"COMPLIANCE_REDACT_KEY": "test-key", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "compliance", "batch", str(path), "--out", str(out), "--quiet",
                           "--workers", "1", "--parquet", "--redact-names"], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    for produced in out.iterdir():
        assert NAME.encode() not in produced.read_bytes(), produced.name
    assert Redactor("test-key").pseudonym(NAME).encode() in (out / "results.jsonl").read_bytes()
    assert json.loads((out / "manifest.json").read_text())["names_redacted"] is True
    # a report over results evaluated WITHOUT redaction still hides names when asked
    plain = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "compliance", "batch", str(path), "--out", str(plain), "--quiet", "--workers", "1"],
                   check=True, capture_output=True, env=env, timeout=300)
    assert NAME.encode() in (plain / "results.jsonl").read_bytes()
    for fmt, target in (("md", None), ("html", tmp_path / "r.html"), ("xlsx", tmp_path / "r.xlsx")):
        command = [sys.executable, "-m", "compliance", "report", str(plain), "--format", fmt, "--redact-names"]
        if target:
            command += ["-o", str(target)]
        done = subprocess.run(command, capture_output=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        produced = target.read_bytes() if target else done.stdout
        if fmt == "xlsx":
            import zipfile

            with zipfile.ZipFile(target) as book:
                produced = b"".join(book.read(n) for n in book.namelist())
        assert NAME.encode() not in produced


def test_service_redacts_names() -> None:
    from fastapi.testclient import TestClient

    from compliance.service.app import create_app

    client = TestClient(create_app(redact_names=True))
    response = client.post("/v1/evaluations", json=_visit())
    assert response.status_code == 200
    assert NAME not in response.text and "NV-" in response.text
