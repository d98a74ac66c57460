"""The examples in docs/embedding.md and in the façade's docstrings run and say what they show.

- ```python blocks holding `>>>` examples are doctests (one namespace for the whole page);
- module docstrings of `compliance` and `compliance.api` are doctests;
- ```bash blocks' `curl` commands run against a live `compliance serve` (skipped without curl).
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import compliance
import compliance.api

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "embedding.md"
EXAMPLE_VISIT = ROOT.parent / "shared" / "spec" / "visit.example.yaml"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for match in _FENCE.finditer(text):
        if match.group(1) == language:
            line = text.count("\n", 0, match.start(2)) + 1
            out.append((line, match.group(2)))
    return out


def _run_doctest(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    output: list[str] = []
    runner.run(test, out=output.append, clear_globs=False)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0, f"no example in {test.name}"
    assert failed == 0, "".join(output)


def test_docs_python_examples() -> None:
    blocks = [(line, body) for line, body in _blocks("python") if ">>>" in body]
    assert len(blocks) >= 8
    parser = doctest.DocTestParser()
    namespace: dict[str, object] = {}
    for line, body in blocks:  # one shared namespace, block by block, like reading the page
        test = parser.get_doctest(body, namespace, f"{DOC.name}:{line}", str(DOC), line - 1)
        _run_doctest(test)
        namespace.update(test.globs)  # DocTest copies its globals: carry them to the next block


@pytest.mark.parametrize("module", [compliance, compliance.api], ids=lambda m: m.__name__)
def test_module_docstrings(module: object) -> None:
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(module) if t.examples]
    assert tests, "the façade's docstrings carry examples"
    for test in tests:
        _run_doctest(test)


# --------------------------------------------------------------------------- curl examples


def _curl_commands() -> list[str]:
    """Each command starts on a line beginning with `curl`; later lines continue it."""
    commands: list[str] = []
    for _line, body in _blocks("bash"):
        current: list[str] = []
        for line in body.splitlines():
            if line.startswith("curl "):
                if current:
                    commands.append("\n".join(current))
                current = [line]
            elif current:
                current.append(line)
        if current:
            commands.append("\n".join(current))
    return commands


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pytest.importorskip("uvicorn")
    port = _free_port()
    work = tmp_path_factory.mktemp("curl")
    env = {k: v for k, v in os.environ.items() if k not in ("COMPLIANCE_TOKENS", "COMPLIANCE_TOKEN_FILE")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from compliance.cli import main; main()", "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (proc.stderr.read() if proc.stderr else b"").decode())
            time.sleep(0.1)
        yield port, work
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def test_docs_curl_examples(live_server) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    import yaml

    port, work = live_server
    visit = yaml.safe_load(EXAMPLE_VISIT.read_text(encoding="utf-8")) if EXAMPLE_VISIT.is_file() else {
        "visit_id": "V0", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u0", "level": "commune"},
    }
    (work / "visit.json").write_text(json.dumps(visit, ensure_ascii=False), encoding="utf-8")
    lines = [json.dumps({**visit, "visit_id": f"B{i}"}, ensure_ascii=False) for i in range(3)]
    (work / "visits.jsonl").write_text("\n".join(lines + ["{not json"]) + "\n", encoding="utf-8")
    commands = _curl_commands()
    assert len(commands) >= 9
    for command in commands:
        command = command.replace("http://localhost:8000", f"http://127.0.0.1:{port}")
        done = subprocess.run(
            command, shell=True, cwd=work, capture_output=True, timeout=60,
            env={**os.environ, "COMPLIANCE_TOKEN": "unused-here"},
        )
        assert done.returncode == 0, (command, done.stderr)
        out = done.stdout.decode("utf-8")
        parsed = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert parsed, command
        if "/batch" in command:
            assert [p.get("visit_id") for p in parsed] == ["B0", "B1", "B2", None]
            assert parsed[3]["line"] == 4 and parsed[3]["error"]["status"] == 400
        elif "lang=vi" in command:
            assert parsed[0]["status"] == 422
            assert [p["path"] for p in parsed[0]["problems"]] == ["unit.level", "personel"]
        elif "/v1/evaluations" in command:
            assert "findings" in parsed[0], out
