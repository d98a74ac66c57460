"""The service's limits under hostile clients: connections beyond the cap get 503, idle and slow
clients are cut off, a batch of short lines is refused as it streams, answers are bounded,
logs stay JSON and rate-limited, /docs works offline, and messages read as Vietnamese."""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from _service_support import Server  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from compliance import Engine  # noqa: E402
from compliance.service import DEFAULT_MAX_OFFICIALS  # noqa: E402
from compliance.service import accesslog  # noqa: E402
from compliance.service.app import BatchLines, create_app  # noqa: E402
from compliance.service.problems import KINDS  # noqa: E402

PROBLEM_JSON = "application/problem+json"
VISIT: dict[str, Any] = {
    "visit_id": "VP-1",
    "inspected_at": "2018-06-12T07:50:00+07:00",
    "unit": {"id": "u1", "level": "commune"},
    "personnel": [{"id": "o1", "category": "civil_servant", "attendance": "absent"}],
}
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


# --------------------------------------------------------------------------- a real server


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, headers, body of the one answer on `sock`, and whether the server then closed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:  # closed with our unread bytes still in its buffer
        closed = True
    return int(lines[0].split()[1]), headers, body, closed


def _log_entries(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.stderr.decode("utf-8").splitlines() if line.strip()]


@pytest.mark.slow
def test_connections_beyond_the_limit_get_503_and_the_log_stays_small() -> None:
    server = Server("--limit-connections", "3", "--header-timeout", "60")
    held: list[socket.socket] = []
    refused = 300
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(3)]
        time.sleep(0.2)  # let the server take all three
        for _ in range(refused):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as extra:
                status, headers, body, closed = _read_response(extra)
                assert status == 503 and closed
        assert headers["content-type"] == PROBLEM_JSON and headers["retry-after"] == "1"
        doc = json.loads(body)
        assert doc["type"].endswith(":overloaded") and doc["problems"][0]["message"]["vi"]
        for sock in held:
            sock.close()
        held = []
        for _ in range(100):  # the server notices the closed connections, then answers again
            response = httpx.get(server.base + "/healthz", timeout=30)
            if response.status_code == 200:
                break
            time.sleep(0.1)
        assert response.status_code == 200
    finally:
        for sock in held:
            sock.close()
        server.stop()
    entries = _log_entries(server)  # every line is JSON
    overloaded = [e for e in entries if e.get("event") == "overloaded"]
    assert 1 <= len(overloaded) < refused  # rate-limited: not one line per refused connection


@pytest.mark.slow
def test_idle_slow_and_half_sent_requests_are_cut_off() -> None:
    server = Server("--header-timeout", "1", "--body-timeout", "1", "--keep-alive-timeout", "30")
    try:
        # a connection that never sends a byte is closed without an answer
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as idle:
            assert idle.recv(1024) == b""
        # headers that never end: 408, closed
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as partial:
            partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            status, headers, body, closed = _read_response(partial)
            assert status == 408 and closed and headers["content-type"] == PROBLEM_JSON
            assert json.loads(body)["type"].endswith(":request-timeout")
        # a body sent a byte at a time: 408, closed, whatever the client goes on sending
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(b"POST /v1/evaluations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 4096\r\n\r\n{")
            answer = b""
            for _ in range(200):
                if select.select([slow], [], [], 0.3)[0]:
                    answer = slow.recv(65536)
                    break
                try:
                    slow.sendall(b" ")
                except OSError:
                    pass  # closed by the server: its answer is waiting to be read
            assert answer.startswith(b"HTTP/1.1 408 "), answer
        # after an answer, the next request's headers have their deadline too
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as keep:
            keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _, closed = _read_response_open(keep)
            assert status == 200
            keep.sendall(b"GET /healthz HTTP/1.1\r\n")
            status, _, _, closed = _read_response(keep)
            assert status == 408 and closed
        assert httpx.get(server.base + "/healthz", timeout=30).status_code == 200
    finally:
        server.stop()
    entries = _log_entries(server)
    assert not [e for e in entries if e.get("level") == "error"], entries  # a client's timeout is no server error
    assert {e.get("waiting_for") for e in entries if e.get("event") == "timeout"} == {"headers", "body"}


def _read_response_open(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """Like _read_response, for an answer after which the connection stays open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body, False


@pytest.mark.slow
def test_a_malformed_request_gets_a_problem_document() -> None:
    server = Server()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"NONSENSE\r\n\r\n")
            status, headers, body, closed = _read_response(sock)
        assert status == 400 and closed and headers["content-type"] == PROBLEM_JSON
        assert json.loads(body)["problems"][0]["message"]["vi"]
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:  # headers that never end within 16 KiB
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")
            status, headers, _, _ = _read_response(sock)
        assert status == 400 and headers["content-type"] == PROBLEM_JSON
    finally:
        server.stop()


def test_every_logger_writes_rate_limited_json() -> None:
    """asyncio's and the root logger's records (an accept() failure, say) are JSON too, not tracebacks."""
    code = (
        "import logging\n"
        "from compliance.service.accesslog import configure\n"
        "configure('info')\n"
        "for name in ('asyncio', 'somewhere.else', 'uvicorn.error'):\n"
        "    for _ in range(500):\n"
        "        try:\n"
        "            raise OSError(24, 'Too many open files')\n"
        "        except OSError:\n"
        "            logging.getLogger(name).error('socket.accept() out of system resource', exc_info=True)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=True)
    lines = run.stderr.decode().splitlines()
    entries = [json.loads(line) for line in lines]
    assert {e["logger"] for e in entries} == {"asyncio", "somewhere.else", "uvicorn.error"}
    assert all(e["exception"] == "OSError" for e in entries)
    assert len(entries) < 3 * 500


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(message: str, level: int = logging.WARNING, **fields: Any) -> logging.LogRecord:
    record = logging.LogRecord("compliance.service", level, __file__, 1, message, None, None)
    if fields:
        record.fields = fields  # type: ignore[attr-defined]
    return record


def test_rate_limit_drops_a_flood_and_says_how_many() -> None:
    clock = _Clock()
    limit = accesslog.RateLimit(per_second=5, burst=50, clock=clock)
    passed = [limit.filter(_record("connection refused")) for _ in range(1000)]
    assert sum(passed) == 50
    assert limit.filter(_record("another kind of trouble"))  # kinds are counted apart
    clock.now += 1
    later = [r for r in (_record("connection refused") for _ in range(20)) if limit.filter(r)]
    assert len(later) == 5 and later[0].fields["suppressed"] == 950  # type: ignore[attr-defined]
    assert "suppressed" not in getattr(later[1], "fields", {})
    ok = [limit.filter(_record("request", logging.INFO, event="access", status=200)) for _ in range(1000)]
    assert all(ok)  # every answered request is logged
    failed = [limit.filter(_record("request", logging.INFO, event="access", status=401)) for _ in range(1000)]
    assert sum(failed) == 50


# --------------------------------------------------------------------------- batch bodies


def _asgi_post(app: Any, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST `chunks` to `app` one ASGI message each, as a server hands them over."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
    }

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_a_batch_of_short_lines_is_refused_as_it_arrives(engine: Engine) -> None:
    app = create_app(engine, max_batch_lines=50)  # the default 64 MiB batch
    taken = 0
    total = 1000  # 1,000 chunks of 21,845 lines 'ab': 65 MB, 21 million lines

    def chunks() -> Iterator[bytes]:
        nonlocal taken
        for _ in range(total):
            taken += 1
            yield b"ab\n" * 21_845

    status, headers, body = _asgi_post(app, "/v1/evaluations/batch", chunks(), NDJSON)
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(body)["problems"][0]["code"] == "too_many_lines"
    assert taken == 1  # the rest of the body was never read, let alone split into lines


def test_a_batch_over_its_byte_limit_is_refused_as_it_arrives(engine: Engine) -> None:
    app = create_app(engine, max_batch_bytes=1024 * 1024)
    taken = 0

    def chunks() -> Iterator[bytes]:
        nonlocal taken
        for _ in range(1000):
            taken += 1
            yield b"\n" * 65536  # blank lines: nothing to keep, only to count

    status, _, body = _asgi_post(app, "/v1/evaluations/batch", chunks(), NDJSON)
    assert status == 413 and json.loads(body)["problems"][0]["code"] == "body_too_large"
    assert taken == 17


def test_a_batch_line_longer_than_one_visit_may_be_is_its_own_error(engine: Engine) -> None:
    app = create_app(engine, max_body_bytes=2000)
    good = orjson.dumps(VISIT)
    long = orjson.dumps({**VISIT, "visit_id": "VP-2", "notes": "n" * 5000})
    with TestClient(app) as client:
        response = client.post("/v1/evaluations/batch", content=b"\n".join([good, long, good]), headers=NDJSON)
    assert response.status_code == 200
    out = [json.loads(line) for line in response.text.splitlines()]
    assert out[0]["visit_id"] == out[2]["visit_id"] == "VP-1"
    assert out[1]["line"] == 2 and out[1]["error"]["status"] == 413
    assert out[1]["error"]["problems"][0]["code"] == "line_too_large"
    assert str(len(long)) in out[1]["error"]["problems"][0]["message"]["vi"]


def _reference(body: bytes, max_line_bytes: int) -> list[tuple[int, bytes | int]]:
    """The lines as the service always read them: split at '\\n', BOM off line 1, stripped,
    blank ones skipped but counted; here with a too-long line kept as its length."""
    out: list[tuple[int, bytes | int]] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if len(line) > max_line_bytes:
            out.append((number, len(line)))
            continue
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if line.strip():
            out.append((number, line.strip()))
    return out


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from([b"\n", b"\r\n", b" ", b"{}", b"ab", b"\xef\xbb\xbf", b"x" * 30]), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_batch_lines_do_not_depend_on_how_the_body_is_cut(parts: list[bytes], cuts: list[int]) -> None:
    body = b"".join(parts)
    points = sorted({min(c, len(body)) for c in cuts} | {0, len(body)})
    reader = BatchLines(max_bytes=10_000, max_lines=10_000, max_line_bytes=40)
    for start, end in zip(points, points[1:]):
        reader.feed(body[start:end])
    assert reader.close() == _reference(body, 40)


# --------------------------------------------------------------------------- bounded answers


def _official(i: int) -> dict[str, Any]:
    return {"id": f"o{i}", "category": "civil_servant", "attendance": "late", "arrived_at": "08:40",
            "wearing_id_card": False, "smoking": True, "drinking_alcohol": True, "signed_pledge": False}


def test_officials_per_visit_are_capped(engine: Engine) -> None:
    app = create_app(engine, max_officials=3)
    four = {**VISIT, "personnel": [_official(i) for i in range(4)]}
    three = {**VISIT, "personnel": [_official(i) for i in range(3)]}
    with TestClient(app) as client:
        for body in (four, {"visit": four, "history": []}):
            response = client.post("/v1/evaluations?lang=vi", content=orjson.dumps(body))
            assert response.status_code == 413 and response.headers["content-type"] == PROBLEM_JSON
            doc = response.json()
            assert doc["type"].endswith(":visit-too-large") and doc["title"] == "Lần kiểm tra quá lớn"
            problem = doc["problems"][0]
            assert problem["code"] == "too_many_officials" and problem["path"] == "personnel"
            assert "4" in problem["message"]["vi"] and "3" in problem["message"]["en"]
        assert client.post("/v1/evaluations", content=orjson.dumps(three)).status_code == 200
        lines = b"\n".join(orjson.dumps(v) for v in (three, four, three))
        out = [json.loads(line) for line in client.post("/v1/evaluations/batch", content=lines, headers=NDJSON).text.splitlines()]
    assert "findings" in out[0] and "findings" in out[2]
    assert out[1]["line"] == 2 and out[1]["error"]["status"] == 413


def test_the_largest_visit_the_service_takes_has_a_bounded_answer(engine: Engine) -> None:
    largest = {**VISIT, "personnel": [_official(i) for i in range(DEFAULT_MAX_OFFICIALS)]}
    with TestClient(create_app(engine)) as client:
        response = client.post("/v1/evaluations", content=orjson.dumps(largest))
    assert response.status_code == 200
    assert len(response.json()["findings"]) >= 3 * DEFAULT_MAX_OFFICIALS  # every official has findings...
    assert len(response.content) < 10_000_000  # ...and the answer stays under 10 MB


def test_problems_per_document_are_capped_and_long_keys_shortened(engine: Engine) -> None:
    stray = {**VISIT, **{f"stray_{i}": 0 for i in range(5000)}}
    with TestClient(create_app(engine)) as client:
        response = client.post("/v1/evaluations", content=orjson.dumps(stray))
        assert response.status_code == 422
        problems = response.json()["problems"]
        assert len(problems) == 101 and len(response.content) < 100_000
        assert problems[-1]["code"] == "more_problems"
        assert "4900" in problems[-1]["message"]["en"] and "4900" in problems[-1]["message"]["vi"]
        assert "100" in problems[-1]["message"]["vi"]
        key = "k" * 100_000
        response = client.post("/v1/evaluations", content=orjson.dumps({**VISIT, key: 1}))
    assert response.status_code == 422 and len(response.content) < 5_000
    problem = response.json()["problems"][0]
    assert problem["path"].endswith("…") and "…" in problem["message"]["vi"]


# --------------------------------------------------------------------------- /docs offline


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("tokens", [(), ("a-token-for-the-docs-test-0123",)])
def test_docs_are_served_from_local_files(engine: Engine, tokens: tuple[str, ...]) -> None:
    with TestClient(create_app(engine, tokens=tokens)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        refs = _Refs()
        refs.feed(page.text)
        assert refs.refs and not [r for r in refs.refs if re.match(r"^(https?:)?//", r)], refs.refs
        assert "cdn" not in page.text.lower()
        types = set()
        for ref in refs.refs:
            asset = client.get(ref)  # public even when tokens are required
            assert asset.status_code == 200 and len(asset.content) > 1000, ref
            types.add(asset.headers["content-type"].split(";")[0])
        assert "text/css" in types and any(ref.endswith(".js") for ref in refs.refs)


# --------------------------------------------------------------------------- Vietnamese

_ENGLISH = re.compile(r"\b(unexpected|expected|character|data|invalid|string|number|line|column|EOF|while|"
                      r"parsing|trailing|empty|file|input|body|request|not|found|must)\b", re.IGNORECASE)


def test_service_messages_in_vietnamese_are_vietnamese(engine: Engine) -> None:
    bodies = [b"", b"   ", b"{", b'{"a" 1}', b"[1,]", b"NaN", b'"\\x"', b"\xff\xfe{", orjson.dumps({**VISIT, "personel": []})]
    with TestClient(create_app(engine, max_body_bytes=100_000)) as client:
        responses = [client.post("/v1/evaluations?lang=vi", content=body) for body in bodies]
        responses.append(client.post("/v1/evaluations?lang=vi", content=b"x" * 200_000))
        responses.append(client.post("/v1/evaluations?lang=vi", content=b"{}", headers={"content-type": "text/plain"}))
        responses.append(client.get("/v1/nothing?lang=vi"))
        responses.append(client.put("/v1/evaluations?lang=vi"))
        responses.append(client.post("/v1/evaluations/batch?lang=vi", content=b"\n\n", headers=NDJSON))
    for response in responses:
        doc = response.json()
        assert 400 <= doc["status"] < 500
        for text in [doc["title"], doc["detail"], *(p["message"]["vi"] for p in doc["problems"])]:
            assert "tệp" not in text, text  # a body is not a file
            assert not _ENGLISH.search(text.replace("Content-Type", "")), text
    for _, vi, en in KINDS.values():
        assert vi != en and not _ENGLISH.search(vi)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_any_json_syntax_error_is_said_in_vietnamese(raw: bytes) -> None:
    from compliance.errors import Problem

    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = Problem("bad_json", {"detail": exc.msg}).message("vi")
        assert message.startswith("JSON không hợp lệ: ") and not _ENGLISH.search(message), message


def test_the_connection_limit_fits_under_the_fd_limit() -> None:
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "from compliance.service.server import fit_to_fds\n"
        "print(fit_to_fds(1000), fit_to_fds(100))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    # room for the listen backlog's refused connections and the process's own files
    assert run.stdout.split() == ["(832,", "128)", "(100,", "128)"]
