"""Property-based API tests: schemathesis drives every operation of the live OpenAPI document
(no 5xx, responses and status codes as documented, schema-violating input rejected), and
Hypothesis throws mixed good and garbage lines at the batch endpoint.

Kept within about a minute: a bounded number of examples per operation.

Not checked: that *every* schema-valid visit is accepted (schemathesis' positive-data
check). JSON Schema cannot say what the validators also require (unique official ids,
counts within rooms inspected, a plausible inspection time), so such visits rightly get 422.
The batch endpoint answers 200 with per-line errors by design, so "bad body is rejected" does
not apply to it either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

schemathesis = pytest.importorskip("schemathesis", minversion="4.0")
pytest.importorskip("fastapi")

from _generated import generated_visits  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import negative_data_rejection, positive_data_acceptance  # noqa: E402

from compliance import Engine  # noqa: E402
from compliance.service.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "fuzz-token-0123456789abcdef"
NDJSON = "application/x-ndjson"


@schemathesis.serializer(NDJSON)
def _ndjson(_ctx: Any, value: Any) -> bytes | None:
    """The batch body is text: send generated strings as they are (other values as JSON)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return orjson.dumps(value, default=str)


ENGINE = Engine.load()
APP = create_app(ENGINE, max_batch_lines=200)  # the default body limit: a 10,001-official visit is 422, not 413
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)

AUTH_APP = create_app(ENGINE, tokens=[TOKEN])
AUTH_SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", AUTH_APP)

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _excluded(case: Any) -> list[Any]:
    excluded = [positive_data_acceptance]
    if case.operation.path.endswith("/batch"):
        excluded.append(negative_data_rejection)
    return excluded


@SCHEMA.parametrize()
@FUZZ
def test_api_conforms_to_its_openapi_document(case: Any) -> None:
    response = case.call_and_validate(excluded_checks=_excluded(case))
    assert response.status_code < 500, response.text


@AUTH_SCHEMA.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_with_authentication(case: Any) -> None:
    """With a token configured (and sent); schemathesis also checks that omitting it is refused."""
    response = case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=_excluded(case))
    assert response.status_code < 500, response.text


# --------------------------------------------------------------------------- batch lines



GENERATED = generated_visits(40, seed=13)
CLIENT = TestClient(APP)
COMPONENTS = CLIENT.get("/openapi.json").json()["components"]


def _validator(name: str) -> Any:
    """A JSON Schema validator of a component (jsonschema, or jsonschema-rs which schemathesis needs)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": COMPONENTS}
    try:
        import jsonschema

        return jsonschema.Draft202012Validator(schema)
    except ImportError:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(schema)


RESULT = _validator("Result")
BATCH_ERROR = _validator("BatchError")


def _mutate(visit: dict[str, Any], how: int) -> dict[str, Any]:
    changed = json.loads(json.dumps(visit))
    if how == 0:
        changed.pop("unit")
    elif how == 1:
        changed["personnel"][0]["attendance"] = "on_leave"
    elif how == 2:
        changed["unit"]["levle"] = "commune"
    elif how == 3:
        changed["workplace"] = {"rooms_inspected": "many"}
    elif how == 4:
        changed["inspected_at"] = "1066-10-14T09:00:00+00:00"
    else:
        changed = {"visit": changed, "history": [{"visit_id": "v0", "date": "2018-13-01"}]}
    return changed


_good = st.sampled_from(GENERATED).map(lambda v: ("good", orjson.dumps(v)))
_envelope = st.sampled_from(GENERATED).map(lambda v: ("good", orjson.dumps({"visit": v, "history": []})))
_mutated = st.tuples(st.sampled_from(GENERATED), st.integers(0, 5)).map(
    lambda p: ("bad", orjson.dumps(_mutate(p[0], p[1])))
)
_text = st.text(max_size=60).map(lambda t: ("any", t.replace("\n", " ").encode("utf-8", "surrogatepass")))
_bytes = st.binary(max_size=60).map(lambda b: ("any", b.replace(b"\n", b" ")))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
).map(lambda v: ("bad", json.dumps(v).encode()))
LINES = st.lists(st.one_of(_good, _envelope, _mutated, _text, _bytes, _json), min_size=1, max_size=12)


@given(lines=LINES, crlf=st.booleans())
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_batch_lines_each_get_an_answer(lines: list[tuple[str, bytes]], crlf: bool) -> None:
    body = (b"\r\n" if crlf else b"\n").join(raw for _, raw in lines)
    response = CLIENT.post("/v1/evaluations/batch", content=body, headers={"content-type": NDJSON})
    numbered = [(n, kind, raw) for n, (kind, raw) in enumerate(lines, start=1) if raw.strip(b" \t\r\n\x0b\x0c")]
    if not numbered:
        assert response.status_code == 400
        return
    assert response.status_code == 200, response.text
    out = [json.loads(line) for line in response.content.splitlines()]
    assert len(out) == len(numbered)
    for (number, kind, raw), answer in zip(numbered, out):
        if "error" in answer:
            BATCH_ERROR.validate(answer)
            assert answer["line"] == number
            assert 400 <= answer["error"]["status"] < 500, answer
            assert kind != "good", answer
        else:
            RESULT.validate(answer)
            assert kind != "bad", answer
            if kind == "good":
                data = orjson.loads(raw)
                visit = data.get("visit", data)
                assert answer == ENGINE.evaluate(visit).to_dict()
