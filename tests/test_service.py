"""The HTTP service: results equal the CLI's, bad input gets 4xx problem documents, limits,
authentication, logs, and a real uvicorn server under concurrent clients and shutdown."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from _generated import generated_visits  # noqa: E402
from _service_support import Server  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from compliance import Engine, history_from  # noqa: E402
from compliance.api import to_jsonable  # noqa: E402
from compliance.cli.main import main as cli  # noqa: E402
from compliance.errors import InputError  # noqa: E402
from compliance.service.accesslog import JsonFormatter  # noqa: E402
from compliance.service.app import create_app  # noqa: E402
from compliance.service.auth import TokenChecker, load_tokens  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "spec" / "visit.example.yaml"
PROBLEM_JSON = "application/problem+json"
TOKEN = "s3cret-token-for-tests-0123456789"

VISIT: dict[str, Any] = {
    "visit_id": "VP-1",
    "inspected_at": "2018-06-12T07:50:00+07:00",
    "unit": {"id": "u1", "level": "commune", "name": "UBND xã Thử"},
    "personnel": [
        {"id": "o1", "name": "Nguyễn Văn Bí Mật", "category": "civil_servant", "attendance": "absent"},
        {"id": "o2", "category": "cadre", "attendance": "late", "arrived_at": "08:25", "wearing_id_card": False},
    ],
    "workplace": {"rooms_inspected": 3, "rooms_with_altar": 1},
}



def _example_visit() -> dict[str, Any]:
    if EXAMPLE.is_file():
        import yaml

        data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
        return data
    return VISIT


class CountingEngine(Engine):
    """An engine that counts evaluations (to prove none happens without a token)."""

    calls = 0

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        type(self).calls += 1
        return super().evaluate(*args, **kwargs)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def access() -> Iterator[tuple[logging.Logger, ListHandler]]:
    logger = logging.getLogger("tests.service.access")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def client(engine: Engine, access: tuple[logging.Logger, ListHandler]) -> Iterator[TestClient]:
    app = create_app(engine, max_body_bytes=256 * 1024, max_batch_bytes=512 * 1024, max_batch_lines=50,
                     access_logger=access[0])
    with TestClient(app) as test_client:
        yield test_client


def assert_problem(response: httpx.Response, status: int, code: str | None = None, path: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    assert doc["type"].startswith("urn:compliance:problem:")
    assert doc["title"] and doc["detail"] and doc["request_id"] == response.headers["x-request-id"]
    for problem in doc["problems"]:
        assert problem["code"] and problem["message"]["vi"] and problem["message"]["en"]
    if code is not None:
        assert code in [p["code"] for p in doc["problems"]], doc
    if path is not None:
        assert path in [p.get("path") for p in doc["problems"]], doc
    return doc


def post(client: TestClient, body: bytes | str, url: str = "/v1/evaluations", **headers: str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return client.post(url, content=content, headers={"content-type": "application/json", **headers})


# --------------------------------------------------------------------------- same as the CLI


def test_result_equals_cli_json(client: TestClient, tmp_path: Path) -> None:
    visits = [_example_visit(), VISIT] + generated_visits(5, seed=3)
    for i, visit in enumerate(visits):
        path = tmp_path / f"visit{i}.json"
        path.write_bytes(orjson.dumps(visit))
        run = CliRunner().invoke(cli, ["evaluate", str(path), "--format", "json"])
        assert run.exit_code == 0, run.output
        expected = json.loads(run.stdout_bytes)
        response = post(client, path.read_bytes())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == expected[0]


def test_batch_equals_cli_jsonl(client: TestClient, tmp_path: Path) -> None:
    visits = generated_visits(12, seed=8)
    path = tmp_path / "visits.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(v) for v in visits) + b"\n")
    run = CliRunner().invoke(cli, ["evaluate", str(path), "--format", "jsonl"])
    assert run.exit_code == 0, run.output
    expected = [json.loads(line) for line in run.output.splitlines() if line.strip()]
    response = client.post("/v1/evaluations/batch", content=path.read_bytes(),
                           headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in response.text.splitlines()] == expected


def test_as_of_and_history(client: TestClient, engine: Engine) -> None:
    response = post(client, orjson.dumps(VISIT), "/v1/evaluations?as_of=2026-01-01")
    assert response.json()["ruleset"]["as_of"] == "2026-01-01"
    earlier = engine.evaluate({**VISIT, "visit_id": "VP-0", "inspected_at": "2018-03-05T08:30:00+07:00"})
    history = to_jsonable(history_from(earlier))
    response = post(client, orjson.dumps({"visit": VISIT, "history": history}))
    assert response.status_code == 200, response.text
    expected = engine.evaluate(VISIT, history=history_from(earlier))
    assert response.json() == expected.to_dict()
    assert any(f["repeat_of"] == ["VP-0"] for f in response.json()["findings"])


# --------------------------------------------------------------------------- bad input: 4xx, named


def test_malformed_json(client: TestClient) -> None:
    doc = assert_problem(post(client, b'{"visit_id": "x",\n "unit": {'), 400, "bad_json")
    assert doc["type"].endswith("malformed-json")
    assert doc["problems"][0]["line"] == 2


def test_a_key_given_twice_is_malformed_json(client: TestClient) -> None:
    body = orjson.dumps({**VISIT, "personnel": [{"id": "o1", "attendance": "absent"}]}).replace(
        b'"attendance":"absent"', b'"attendance":"absent","attendance":null')
    doc = assert_problem(post(client, body), 400, "json_duplicate_key")
    assert doc["type"].endswith("malformed-json") and "'attendance'" in doc["problems"][0]["message"]["en"]
    envelope = b'{"visit": ' + orjson.dumps(VISIT) + b', "history": [], "history": []}'
    assert_problem(post(client, envelope), 400, "json_duplicate_key")


def test_wrong_types(client: TestClient) -> None:
    body = {**VISIT, "personnel": [{"id": "o1", "attendance": "absent", "smoking": "no"}], "unit": {"id": 7, "level": "commune"}}
    doc = assert_problem(post(client, orjson.dumps(body)), 422, "wrong_type", "personnel[0].smoking")
    assert "unit.id" in [p["path"] for p in doc["problems"]]
    assert doc["type"].endswith("invalid-visit")
    numeric_time = {**VISIT, "inspected_at": 1528764600}
    assert_problem(post(client, orjson.dumps(numeric_time)), 422, "wrong_type", "inspected_at")


def test_unknown_fields(client: TestClient) -> None:
    doc = assert_problem(post(client, orjson.dumps({**VISIT, "personel": []})), 422, "unknown_observation", "personel")
    assert "did you mean 'personnel'" in doc["problems"][0]["message"]["en"]
    assert "ý bạn là 'personnel'" in doc["problems"][0]["message"]["vi"]
    envelope = {"visit": {**VISIT, "unit": {"id": "u", "level": "commune", "provence": "x"}}, "history": []}
    assert_problem(post(client, orjson.dumps(envelope)), 422, "unknown_field", "visit.unit.provence")
    envelope = {"visit": {**VISIT, "personnel": [{"id": "o", "phone_gaming": True}]}, "history": []}
    doc = assert_problem(post(client, orjson.dumps(envelope)), 422, "unknown_observation", "visit.personnel[0].phone_gaming")
    assert "no installed check reads it" in doc["problems"][0]["message"]["en"]


def test_not_utf8(client: TestClient) -> None:
    body = '{"visit_id": "Hợp Hòa"}'.encode("utf-16")
    doc = assert_problem(post(client, body), 400, "not_utf8")
    assert doc["type"].endswith("not-utf8")
    latin = '{"visit_id": "Hợp"}'.encode("utf-8")[:-4] + b"\xe0\x22}"
    assert_problem(post(client, latin), 400, "not_utf8")


def test_oversized_bodies(client: TestClient) -> None:
    big = orjson.dumps({**VISIT, "notes": "x" * 300_000})
    doc = assert_problem(post(client, big), 413, "body_too_large")
    assert doc["type"].endswith("body-too-large") and "262144" in doc["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(100):
            yield b" " * 4096

    response = client.post("/v1/evaluations", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "body_too_large")


def test_other_bad_bodies_are_4xx(client: TestClient) -> None:
    too_many = {**VISIT, "personnel": [{"id": f"p{i}"} for i in range(10_001)]}
    cases: list[tuple[bytes, int]] = [
        (b"", 400),
        (b"   \n", 400),
        (b"\xef\xbb\xbf", 400),
        (b"null", 422),
        (b"[1, 2]", 422),
        (b'"a visit"', 422),
        (b"NaN", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b'{"visit_id": "\\ud800"}', 400),
        (b'{"visit": 5}', 422),
        (b'{"visit": {}, "history": 5}', 422),
        (orjson.dumps({**VISIT, "inspected_at": "0001-01-01T00:00:00+07:00"}), 422),
        (orjson.dumps({**VISIT, "inspected_at": "9999-12-31T23:59:59-23:59"}), 422),
        (orjson.dumps({**VISIT, "inspected_at": "2018-06-12T07:50:00"}), 422),
        (orjson.dumps({**VISIT, "inspected_at": "99999-06-12T07:50:00+07:00"}), 422),
        (orjson.dumps({**VISIT, "personnel": [{"id": "o", "arrived_at": "24:00"}]}), 422),
        (orjson.dumps({**VISIT, "personnel": [{"id": "o"}, {"id": "o"}]}), 422),
        (orjson.dumps({**VISIT, "workplace": {"rooms_inspected": 1, "rooms_untidy": 2}}), 422),
        (orjson.dumps(too_many), 422),
        (b'{"visit_id": "x", "unit": {"id": "u", "level": "commune", "headcount": 1' + b"0" * 400 + b"}}", 400),  # orjson: infinity
    ]
    for body, status in cases:
        response = post(client, body)
        assert_problem(response, status)


def test_problem_language(client: TestClient) -> None:
    vi = assert_problem(post(client, b"{", "/v1/evaluations?lang=vi"), 400)
    en = assert_problem(post(client, b"{", "/v1/evaluations?lang=en"), 400)
    assert vi["title"] == "JSON không hợp lệ" and en["title"] == "Malformed JSON"
    assert vi["problems"] == en["problems"]  # per-field details always carry both languages


def test_bad_parameters(client: TestClient) -> None:
    body = orjson.dumps(VISIT)
    for value in ("2018-02-30", "tomorrow", "20180612", "1528761600"):
        assert_problem(post(client, body, f"/v1/evaluations?as_of={value}"), 422, "bad_date", "as_of")
    # A date no visit may have is the parameter's fault, said once for a whole batch.
    doc = assert_problem(post(client, body, "/v1/evaluations?as_of=1899-12-31"), 422, "out_of_range", "as_of")
    assert doc["type"].endswith("invalid-parameter")
    lines = body + b"\n" + body.replace(b'"VP-1"', b'"VP-2"')
    batch = client.post("/v1/evaluations/batch?as_of=1899-12-31", content=lines, headers={"content-type": "application/x-ndjson"})
    assert batch.status_code == 422 and batch.json()["type"].endswith("invalid-parameter")
    doc = assert_problem(post(client, body, "/v1/evaluations?lang=fr"), 422, "invalid_choice", "lang")
    assert "vi, en" in doc["problems"][0]["message"]["en"]
    assert_problem(client.get("/v1/schemas/nope"), 422, "invalid_choice", "name")


def test_media_types_and_http_errors(client: TestClient) -> None:
    body = orjson.dumps(VISIT)
    assert client.post("/v1/evaluations", content=body).status_code == 200  # no Content-Type: taken as JSON
    doc = assert_problem(post(client, body, **{"content-type": "text/plain"}), 415, "unsupported_media_type")
    assert "application/json" in doc["detail"]
    assert_problem(post(client, body, "/v1/evaluations/batch", **{"content-type": "application/xml"}), 415)
    assert_problem(client.get("/v2/nothing"), 404, "not_found")
    response = client.put("/v1/evaluations", content=body)
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


# --------------------------------------------------------------------------- batch


def test_batch_mixed_lines(client: TestClient, engine: Engine) -> None:
    good = orjson.dumps(VISIT)
    lines = [
        good,                                                  # 1
        b"",                                                   # 2 blank: skipped, counted
        b"{not json",                                          # 3
        b'{"visit_id": "bad\xff"}',                            # 4 not UTF-8
        b"[1]",                                                # 5
        orjson.dumps({**VISIT, "visit_id": "VP-2", "personel": []}),   # 6
        orjson.dumps({"visit": {**VISIT, "visit_id": "VP-3"}}),         # 7 envelope
        b"   ",                                                # 8 blank
        orjson.dumps({**VISIT, "visit_id": "VP-4", "inspected_at": "0001-01-01T00:00:00Z"}),  # 9
    ]
    response = client.post("/v1/evaluations/batch?lang=vi", content=b"\r\n".join(lines) + b"\n",
                           headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200
    out = [json.loads(line) for line in response.text.splitlines()]
    assert len(out) == 7
    assert out[0] == engine.evaluate(VISIT).to_dict()
    errors = {o["line"]: o for o in out if "error" in o}
    assert sorted(errors) == [3, 4, 5, 6, 9]
    assert errors[3]["error"]["status"] == 400 and errors[3]["error"]["problems"][0]["code"] == "bad_json"
    assert errors[4]["error"]["problems"][0]["code"] == "not_utf8"
    assert errors[5]["error"]["problems"][0]["code"] == "not_a_mapping"
    assert errors[6]["visit_id"] == "VP-2" and errors[6]["error"]["status"] == 422
    assert errors[6]["error"]["problems"][0] == {
        "code": "unknown_observation", "line": 6, "path": "personel",
        "message": {"vi": "trường không hợp lệ 'personel': không có kiểm tra nào đã cài đặt đọc trường này (ý bạn là 'personnel'?)",
                    "en": "unknown field 'personel': no installed check reads it (did you mean 'personnel'?)"},
    }
    assert errors[6]["error"]["title"] == "Lần kiểm tra không hợp lệ"
    assert errors[9]["error"]["problems"][0]["path"] == "inspected_at"
    assert out[5]["visit_id"] == "VP-3" and "findings" in out[5]


def test_batch_limits(client: TestClient) -> None:
    headers = {"content-type": "application/x-ndjson"}
    many = b"\n".join([orjson.dumps(VISIT)] * 51)
    doc = assert_problem(client.post("/v1/evaluations/batch", content=many, headers=headers), 413, "too_many_lines")
    assert doc["type"].endswith("batch-too-large")
    huge = b"\n".join([orjson.dumps({**VISIT, "notes": "n" * 90_000})] * 6)
    assert_problem(client.post("/v1/evaluations/batch", content=huge, headers=headers), 413, "body_too_large")
    assert_problem(client.post("/v1/evaluations/batch", content=b"\n \n", headers=headers), 400, "empty_input")


def test_batch_streams(client: TestClient) -> None:
    body = b"\n".join(orjson.dumps({**VISIT, "visit_id": f"S{i}"}) for i in range(50))
    with client.stream("POST", "/v1/evaluations/batch", content=body,
                       headers={"content-type": "application/x-ndjson"}) as response:
        assert response.status_code == 200
        ids = [json.loads(line)["visit_id"] for line in response.iter_lines() if line]
    assert ids == [f"S{i}" for i in range(50)]


# --------------------------------------------------------------------------- listings and probes


def test_listings(client: TestClient, engine: Engine) -> None:
    """The service names the catalogue it evaluates with, and lists each of its rulesets (the
    provinces' overlays) with its own version, digest and calendar."""
    checks = client.get("/v1/checks").json()
    catalogue = engine.catalogue
    assert checks["ruleset"] == {"name": catalogue.name, "version": catalogue.version, "digest": catalogue.digest}
    assert ("working_hours", "late_arrival") in {(c["check"], c["rule"]) for c in checks["checks"]}
    rulesets = client.get("/v1/rulesets").json()["rulesets"]
    assert [(r["name"], r["version"], r["digest"]) for r in rulesets] == [(r.name, r.version, r.digest) for r in engine.rulesets]
    assert len(rulesets) >= 2 and all(r["calendar"][0]["effective_from"] for r in rulesets)
    for name in ("visit", "result", "request"):
        schema = client.get(f"/v1/schemas/{name}").json()
        assert schema["$schema"].startswith("https://json-schema.org/")
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["ruleset"]["digest"] == catalogue.digest


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/evaluations", "/v1/evaluations/batch", "/v1/checks", "/v1/rulesets",
                 "/v1/schemas/{name}", "/healthz", "/readyz"):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert {"Visit", "Result", "ProblemDocument", "EvaluationRequest", "BatchError"} <= set(schemas)
    post_op = doc["paths"]["/v1/evaluations"]["post"]
    assert {"400", "413", "415", "422"} <= set(post_op["responses"])
    assert "securitySchemes" not in doc.get("components", {})


def test_readiness_follows_lifespan(engine: Engine) -> None:
    app = create_app(engine)
    with TestClient(app) as test_client:
        assert test_client.get("/readyz").status_code == 200
    assert_problem(TestClient(app).get("/readyz"), 503, "not_ready")


# --------------------------------------------------------------------------- authentication


def test_auth_required_and_nothing_evaluated(access: tuple[logging.Logger, ListHandler], caplog: pytest.LogCaptureFixture) -> None:
    counting = CountingEngine.load()
    app = create_app(counting, tokens=[TOKEN, "another-token-abcdefghijklmnop"], access_logger=access[0])
    body = orjson.dumps(VISIT)
    with caplog.at_level(logging.DEBUG), TestClient(app) as test_client:
        CountingEngine.calls = 0
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"},
                        {"authorization": "Bearer"}, {"authorization": f"Bearer {TOKEN}x"}):
            response = test_client.post("/v1/evaluations", content=body,
                                        headers={"content-type": "application/json", **headers})
            doc = assert_problem(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in response.text
            assert doc["type"].endswith("unauthorized")
        batch = test_client.post("/v1/evaluations/batch", content=body, headers={"content-type": "application/x-ndjson"})
        assert batch.status_code == 401
        assert test_client.get("/v1/checks").status_code == 401
        assert CountingEngine.calls == 0  # no evaluation happened
        ok = test_client.post("/v1/evaluations", content=body,
                              headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and CountingEngine.calls == 1
        assert test_client.get("/v1/checks", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
        for public in ("/healthz", "/readyz", "/openapi.json"):
            assert test_client.get(public).status_code == 200
        doc = test_client.get("/openapi.json").json()
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert "401" in doc["paths"]["/v1/evaluations"]["post"]["responses"]
        assert "security" not in doc["paths"]["/healthz"]["get"]
    logged = "\n".join(access[1].lines) + caplog.text
    assert TOKEN not in logged


def test_token_loading(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# the inspection system\nfirst-token\n\n  second-token  \n", encoding="utf-8")
    assert load_tokens(path, env={}) == {"first-token", "second-token"}
    assert load_tokens(None, env={"COMPLIANCE_TOKENS": "a-token, b-token c-token"}) == {"a-token", "b-token", "c-token"}
    assert load_tokens(None, env={"COMPLIANCE_TOKEN_FILE": str(path)}) == {"first-token", "second-token"}
    assert load_tokens(None, env={}) == frozenset()
    with pytest.raises(InputError):
        load_tokens(tmp_path / "missing", env={})
    checker = TokenChecker(["first-token"])
    assert checker.accepts(b"Bearer first-token") and checker.accepts(b"bearer  first-token ")
    assert not checker.accepts(b"Bearer first-token2") and not checker.accepts(b"Bearer ") and not checker.accepts(None)
    assert not TokenChecker([]).enabled


def test_serve_reports_a_missing_token_file(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["serve", "--token-file", str(tmp_path / "none"), "--port", "1"])
    assert run.exit_code == 2
    assert "Traceback" not in run.output
    assert "no such file" in run.output


# --------------------------------------------------------------------------- logs


def test_access_log(client: TestClient, access: tuple[logging.Logger, ListHandler]) -> None:
    handler = access[1]
    before = len(handler.lines)
    response = post(client, orjson.dumps(VISIT), "/v1/evaluations?lang=vi", **{"x-request-id": "req-42.a"})
    assert response.headers["x-request-id"] == "req-42.a"
    bad_id = post(client, b"{", **{"x-request-id": "bad id with spaces"})
    assert bad_id.headers["x-request-id"] != "bad id with spaces"
    entries = [json.loads(line) for line in handler.lines[before:]]
    assert [e["request_id"] for e in entries] == ["req-42.a", bad_id.headers["x-request-id"]]
    first = entries[0]
    assert first["event"] == "access" and first["method"] == "POST" and first["path"] == "/v1/evaluations"
    assert first["status"] == 200 and first["duration_ms"] >= 0 and first["bytes_out"] == len(response.content)
    assert entries[1]["status"] == 400
    assert "lang" not in handler.lines[before]  # no query string
    assert "Nguyễn Văn Bí Mật" in response.text  # the result carries the name...
    assert not any("Bí Mật" in line for line in handler.lines)  # ...the log never does


# --------------------------------------------------------------------------- a real server


@pytest.mark.slow
def test_live_server_concurrency_auth_logs_and_graceful_shutdown(engine: Engine, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n", encoding="utf-8")
    server = Server("--token-file", str(tokens), "--graceful-timeout", "30")
    auth = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    try:
        # without the token: 401, nothing evaluated
        denied = httpx.post(server.base + "/v1/evaluations", content=orjson.dumps(VISIT),
                            headers={"content-type": "application/json"})
        assert denied.status_code == 401 and denied.headers["content-type"].startswith(PROBLEM_JSON)

        # many clients at once give what sequential in-process evaluation gives
        visits = generated_visits(160, seed=21)
        expected = [engine.evaluate(v).to_dict() for v in visits]

        def client_thread(offset: int) -> list[tuple[int, Any]]:
            out = []
            with httpx.Client(base_url=server.base, headers=auth, timeout=60) as http:
                for index in range(offset, len(visits), 16):
                    response = http.post("/v1/evaluations", content=orjson.dumps(visits[index]))
                    assert response.status_code == 200, response.text
                    out.append((index, response.json()))
            return out

        with ThreadPoolExecutor(max_workers=16) as pool:
            got = dict(pair for chunk in pool.map(client_thread, range(16)) for pair in chunk)
        assert [got[i] for i in range(len(visits))] == expected

        # graceful shutdown: a long batch in flight when SIGTERM arrives still completes
        big = b"\n".join(orjson.dumps(v) for v in generated_visits(4000, seed=4))
        outcome: dict[str, Any] = {}

        def long_request() -> None:
            try:
                response = httpx.post(server.base + "/v1/evaluations/batch", content=big, timeout=120,
                                      headers={**auth, "content-type": "application/x-ndjson"})
                outcome["status"] = response.status_code
                outcome["lines"] = len(response.text.splitlines())
            except Exception as exc:  # noqa: BLE001
                outcome["error"] = repr(exc)

        thread = threading.Thread(target=long_request)
        thread.start()
        time.sleep(0.4)
        code = server.stop()
        thread.join(timeout=120)
        assert outcome.get("status") == 200, outcome
        assert outcome["lines"] == 4000
        # uvicorn re-raises the signal once it has shut down gracefully
        assert code in (0, -signal.SIGTERM), server.stderr.decode(errors="replace")[-2000:]
    finally:
        server.stop()
    log_lines = [line for line in server.stderr.decode("utf-8").splitlines() if line.strip()]
    entries = [json.loads(line) for line in log_lines]  # every log line is JSON
    access = [e for e in entries if e.get("event") == "access"]
    assert len(access) >= 162
    assert {e["status"] for e in access} >= {200, 401}
    assert all(e["request_id"] and e["duration_ms"] >= 0 for e in access)
    shutting = next(i for i, e in enumerate(entries) if "Shutting down" in e.get("message", ""))
    batch = next(i for i, e in enumerate(entries) if e.get("path") == "/v1/evaluations/batch")
    assert shutting < batch, "the batch was still in flight when shutdown began"
    text = server.stderr.decode("utf-8")
    assert TOKEN not in text
    assert not any(name in text for v in visits[:20] for p in v["personnel"] for name in [p.get("name")] if name)


@pytest.mark.slow
def test_live_server_with_workers_reads_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n", encoding="utf-8")
    server = Server("--workers", "2", "--token-file", str(tokens), "--max-body-bytes", "2000")
    try:
        body = orjson.dumps(VISIT)
        assert httpx.post(server.base + "/v1/evaluations", content=body).status_code == 401
        ok = httpx.post(server.base + "/v1/evaluations", content=body, headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["visit_id"] == "VP-1"
        large = orjson.dumps({**VISIT, "notes": "x" * 3000})
        too_big = httpx.post(server.base + "/v1/evaluations", content=large, headers={"authorization": f"Bearer {TOKEN}"})
        assert too_big.status_code == 413
    finally:
        assert server.stop() in (0, -signal.SIGTERM)
