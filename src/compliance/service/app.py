"""The HTTP service: evaluate visits for other inspection systems (FastAPI).

    from compliance.service.app import create_app
    app = create_app()                       # the base ruleset; or create_app(engine, tokens=[...])

Endpoints (all JSON unless said otherwise; errors are ``application/problem+json``):

- ``POST /v1/evaluations``: one visit (or ``{"visit": ..., "history": [...]}``) -> its result;
- ``POST /v1/evaluations/batch``: NDJSON in, NDJSON out, streamed; a bad line gives an error
  object naming its line and the other lines go on;
- ``GET /v1/checks``, ``GET /v1/rulesets``, ``GET /v1/schemas/{visit,result,request}``;
- ``GET /healthz`` (alive), ``GET /readyz`` (ruleset loaded and warmed up), ``GET /openapi.json``.

Query parameters ``as_of`` (YYYY-MM-DD: evaluate with the rules in force that day) and
``lang`` (vi|en: language of problem titles and details; per-field messages always carry
both). Evaluation is CPU-bound and runs in the threadpool; the engine is thread-safe.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from .. import __version__
from ..api import (
    RuleInfo,
    RulesetInfo,
    list_checks,
    parse_request,
    request_model,
    request_schema,
    result_schema,
    rulesets_info,
    visit_schema,
)
from ..api import Engine, checked_as_of
from ..errors import ComplianceError, InputError, Lang, Problem, hint_params, shorten
from ..jsonkeys import data_keys, duplicate_key
from ..observations import patch_schema
from ..privacy import Redactor, redaction_key
from ..result import Result
from ..validation import describe, format_path, problem_from_error
from ..visit import Visit
from . import DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_LINES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_OFFICIALS
from . import problems as P
from .accesslog import ACCESS_LOGGER, SERVICE_LOGGER, AccessLog, request_id_of
from .auth import DOCS_ASSETS, PUBLIC_PATHS, BearerAuth, TokenChecker, load_tokens

JSON_MEDIA_TYPE = "application/json"
NDJSON_MEDIA_TYPE = "application/x-ndjson"
_NDJSON_TYPES = frozenset(
    {NDJSON_MEDIA_TYPE, "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}
)
_BOM = b"\xef\xbb\xbf"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHUNK_LINES = 32
_CHUNK_BYTES = 64 * 1024

log = logging.getLogger(SERVICE_LOGGER)

# --------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class RulesetId:
    name: str
    version: str
    digest: str


@dataclass(frozen=True, slots=True)
class ChecksDocument:
    ruleset: RulesetId
    checks: tuple[RuleInfo, ...]


@dataclass(frozen=True, slots=True)
class RulesetsDocument:
    rulesets: tuple[RulesetInfo, ...]


@dataclass(frozen=True, slots=True)
class Health:
    status: str


@dataclass(frozen=True, slots=True)
class Readiness:
    status: str
    ruleset: RulesetId | None = None


class _Params(BaseModel):
    """The query and path parameters, for naming valid choices in problems."""

    lang: Lang | None = None
    as_of: str | None = None
    name: Literal["visit", "result", "request"] | None = None


# --------------------------------------------------------------------------- the service


def default_lang() -> Lang:
    return "vi" if os.environ.get("COMPLIANCE_LANG", "").lower().startswith("vi") else "en"


class Service:
    """What the endpoints share: the engine, the limits, precomputed documents."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_body_bytes: int,
        max_batch_bytes: int,
        max_batch_lines: int,
        lang: Lang,
        auth: bool,
        eval_threads: int = 4,
        max_officials: int = DEFAULT_MAX_OFFICIALS,
    ):
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.max_batch_bytes = max_batch_bytes
        self.max_batch_lines = max_batch_lines
        self.max_officials = max_officials
        self.default_lang: Lang = lang
        self.auth = auth
        catalogue = engine.catalogue
        self.ruleset_id = RulesetId(catalogue.name, catalogue.version, catalogue.digest)
        self.checks_json = orjson.dumps(ChecksDocument(self.ruleset_id, tuple(list_checks(engine))))
        self.rulesets_json = orjson.dumps(RulesetsDocument(tuple(rulesets_info(engine))))
        self.schemas = {
            "visit": orjson.dumps(visit_schema(engine)),
            "result": orjson.dumps(result_schema()),
            "request": orjson.dumps(request_schema(engine)),
        }
        self.ready = False
        self.redactor: Redactor | None = None
        self.eval_threads = eval_threads
        self._limiters: weakref.WeakKeyDictionary[Any, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()

    def limiter(self) -> anyio.CapacityLimiter:
        """Threads evaluating at once (one limiter per event loop). Evaluation holds the GIL:
        more threads than a few add contention and tail latency, not throughput."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.eval_threads)
        return limiter

    async def in_threads(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        """A sync iterator's items, each produced in the evaluation threads."""
        done = object()
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, done, limiter=self.limiter())
            if chunk is done:
                return
            yield chunk  # type: ignore[misc]

    def private(self, visit: Visit) -> Visit:
        """The visit with names replaced when the service runs with --redact-names."""
        return self.redactor.visit(visit) if self.redactor is not None else visit

    def warm_up(self) -> None:
        """Evaluate a visit showing every observation once, so that the first real request does
        not pay for compiling the sanction rules and readiness means "can evaluate"."""
        self.engine.evaluate(self.engine.visit_format.example())
        self.ready = True

    # --- evaluation (runs in the threadpool) --------------------------------------------

    def evaluate_body(self, body: bytes, as_of: date | None) -> bytes:
        data = decode_json(body)
        self.check_size(data)
        visit, history = parse_object(data, self.engine)
        return self.engine.evaluate(self.private(visit), history=history, as_of=as_of).to_json()

    def check_size(self, data: Any) -> None:
        """Refuse (413) a visit with more officials than this service answers for: each official
        with findings costs about 7 KB of answer, so 10,000 of them would cost 70 MB. More than
        the format allows is the visit's own fault, said by its validation (422)."""
        found = officials_in(data)
        if self.max_officials < found <= FORMAT_MAX_OFFICIALS:
            limit = self.max_officials
            problem = P.service_problem(
                "too_many_officials",
                f"lần kiểm tra liệt kê {found} người, vượt quá giới hạn {limit} người mỗi lần kiểm tra của "
                "dịch vụ này: hãy dùng lệnh 'compliance evaluate', hoặc đề nghị người vận hành tăng --max-officials",
                f"the visit lists {found} officials, more than the {limit} per visit this service evaluates: "
                "use 'compliance evaluate', or ask the operator to raise --max-officials",
                path="personnel",
            )
            raise P.ServiceError("visit-too-large", [problem])

    def batch(
        self, lines: Sequence[tuple[int, bytes | int]], as_of: date | None, lang: Lang, request_id: str | None
    ) -> Iterator[bytes]:
        """NDJSON output for the batch's lines, a few lines to a chunk."""
        chunk = bytearray()
        count = 0
        for number, raw in lines:
            chunk += self.batch_line(number, raw, as_of, lang, request_id)
            chunk += b"\n"
            count += 1
            if count >= _CHUNK_LINES or len(chunk) >= _CHUNK_BYTES:
                yield bytes(chunk)
                chunk.clear()
                count = 0
        if chunk:
            yield bytes(chunk)

    def batch_line(
        self, number: int, raw: bytes | int, as_of: date | None, lang: Lang, request_id: str | None
    ) -> bytes:
        """A line's result or error object; `raw` is the line, or its size when it was too long to keep."""
        data: Any = None
        try:
            if isinstance(raw, int):
                raise line_too_large(raw, self.max_body_bytes)
            data = decode_json(raw)
            self.check_size(data)
            visit, history = parse_object(data, self.engine)
            return self.engine.evaluate(self.private(visit), history=history, as_of=as_of).to_json()
        except P.ServiceError as exc:
            kind, problems = exc.kind, exc.problems
        except InputError as exc:
            kind, problems = P.kind_of(exc.problems), exc.problems
        except ComplianceError as exc:
            kind, problems = "evaluation-failed", exc.problems
        except Exception as exc:  # noqa: BLE001 - one line's failure must not stop the others
            log.error(
                "batch line failed",
                exc_info=True,
                extra={"fields": {"event": "error", "request_id": request_id, "line": number, "error": type(exc).__name__}},
            )
            kind, problems = "internal", [internal_problem()]
        doc = P.document(kind, [p.at(line=number) for p in problems], lang=lang, request_id=request_id)
        error: dict[str, Any] = {"line": number}
        visit_id = _visit_id(data)
        if visit_id is not None:
            error["visit_id"] = visit_id
        error["error"] = doc
        return orjson.dumps(error)


def internal_problem() -> Problem:
    return P.service_problem(
        "internal_error",
        "lỗi nội bộ của máy chủ; lỗi đã được ghi vào nhật ký cùng mã yêu cầu",
        "internal server error; it has been logged with the request id",
    )


def decode_json(body: bytes) -> Any:
    """Parsed JSON; InputError naming the cause (empty, not UTF-8, malformed)."""
    offset = 0
    if body.startswith(_BOM):
        body, offset = body[3:], 3
    if not body.strip():
        raise InputError([Problem("empty_input")])
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Problem("not_utf8", {"position": exc.start + offset})]) from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError([Problem("bad_json", {"detail": exc.msg}, line=exc.lineno, column=exc.colno)]) from None
    repeated = duplicate_key(body, data_keys(data))
    if repeated is not None:
        raise InputError([repeated])
    return data


def parse_object(data: Any, engine: Engine) -> tuple[Visit, list[Any]]:
    if not isinstance(data, dict):
        raise InputError([Problem("not_a_mapping", {"found": describe(data)})])
    visit, history = parse_request(data, engine)
    return visit, history


FORMAT_MAX_OFFICIALS = next(
    (int(m.max_length) for m in Visit.model_fields["personnel"].metadata if getattr(m, "max_length", None)), 10_000
)


def officials_in(data: Any) -> int:
    """How many officials a visit (or an evaluation request) lists, before it is validated."""
    if isinstance(data, dict) and isinstance(data.get("visit"), dict):
        data = data["visit"]
    personnel = data.get("personnel") if isinstance(data, dict) else None
    return len(personnel) if isinstance(personnel, list) else 0


def _visit_id(data: Any) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get("visit"), dict):
            data = data["visit"]
        vid = data.get("visit_id")
        if isinstance(vid, str):
            return vid[:200]
    return None


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    day = None
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
    if day is None:
        raise P.ServiceError("invalid-parameter", [Problem("bad_date", {"found": describe(value)}, path="as_of")])
    try:
        return checked_as_of(day)
    except InputError as exc:
        raise P.ServiceError("invalid-parameter", exc.problems) from None


def known_query(request: Request) -> None:
    """Unknown query parameters are errors: a misspelt `as_of` must not be silently ignored."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    allowed = {str(getattr(p, "alias", None) or p.name) for p in getattr(dependant, "query_params", ())}
    unknown = [name for name in request.query_params.keys() if name not in allowed]
    if unknown:
        raise P.ServiceError(
            "invalid-parameter",
            [
                Problem("unknown_field", {"field": shorten(name), **hint_params(name[:200], allowed)}, path=shorten(name))
                for name in dict.fromkeys(unknown)
            ],
        )


CHECK_QUERY = [Depends(known_query)]


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def require_json(request: Request) -> None:
    media = _media_type(request)
    if media is None or media == JSON_MEDIA_TYPE or (media.startswith("application/") and media.endswith("+json")):
        return
    raise _unsupported(media, JSON_MEDIA_TYPE)


def require_ndjson(request: Request) -> None:
    media = _media_type(request)
    if media is None or media in _NDJSON_TYPES:
        return
    raise _unsupported(media, NDJSON_MEDIA_TYPE)


def _unsupported(found: str, expected: str) -> P.ServiceError:
    problem = P.service_problem(
        "unsupported_media_type",
        f"kiểu nội dung '{shorten(found)}' không được hỗ trợ; hãy gửi kèm tiêu đề 'Content-Type: {expected}'",
        f"content type '{shorten(found)}' is not supported; send 'Content-Type: {expected}'",
    )
    return P.ServiceError("unsupported-media-type", [problem], headers={"Accept-Post": expected})


# The rest of a body refused before it was read is not worth reading: the connection closes.
_CLOSE = {"connection": "close"}


def _too_large(size: int | None, limit: int) -> P.ServiceError:
    shown = f"{size} byte" if size is not None else f"hơn {limit} byte"
    shown_en = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    problem = P.service_problem(
        "body_too_large",
        f"nội dung yêu cầu quá lớn: {shown}, vượt quá giới hạn {limit} byte",
        f"request body too large: {shown_en}, at most {limit} bytes",
    )
    return P.ServiceError("body-too-large", [problem], headers=_CLOSE)


def line_too_large(size: int, limit: int) -> P.ServiceError:
    problem = P.service_problem(
        "line_too_large",
        f"dòng dài {size} byte, vượt quá giới hạn {limit} byte của một lần kiểm tra",
        f"the line is {size} bytes long, more than the {limit} bytes one visit may have",
    )
    return P.ServiceError("body-too-large", [problem])


def _too_many_lines(limit: int) -> P.ServiceError:
    problem = P.service_problem(
        "too_many_lines",
        f"lô có hơn {limit} dòng, vượt quá số dòng tối đa cho phép",
        f"the batch has more than {limit} lines, the most allowed",
    )
    return P.ServiceError("batch-too-large", [problem], headers=_CLOSE)


def _declared_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise _too_large(int(length), limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than `limit` bytes without reading them all."""
    _declared_length(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(None, limit)
    return bytes(body)


class BatchLines:
    """The non-blank lines of an NDJSON body with their 1-based numbers, gathered chunk by chunk
    as the body arrives: a body over `max_bytes`, or its line `max_lines + 1`, is refused (413)
    when it arrives, and a line over `max_line_bytes` is kept only as its size (its own error)."""

    def __init__(self, max_bytes: int, max_lines: int, max_line_bytes: int):
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.max_line_bytes = max_line_bytes
        self.lines: list[tuple[int, bytes | int]] = []
        self.size = 0
        self.number = 0
        self._tail = bytearray()
        self._tail_size = 0  # the unfinished line's length, also when it is too long to keep

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise _too_large(None, self.max_bytes)
        end = chunk.rfind(b"\n")
        if end < 0:
            self._grow(chunk)
            return
        first = chunk.find(b"\n")
        self._grow(chunk[:first])
        self._end_line()
        if end > first:
            # Whole lines: only the non-blank ones cost Python work, so a body of blank lines is cheap.
            parts = chunk[first + 1 : end].split(b"\n")
            start = self.number + 1
            self.number += len(parts)
            for number, line in [(n, x) for n, x in enumerate(parts, start) if x.strip() or len(x) > self.max_line_bytes]:
                self._add(number, line if len(line) <= self.max_line_bytes else len(line))
        self._grow(chunk[end + 1 :])

    def close(self) -> list[tuple[int, bytes | int]]:
        if self._tail_size:
            self._end_line()
        return self.lines

    def _grow(self, part: bytes) -> None:
        self._tail_size += len(part)
        if self._tail_size <= self.max_line_bytes:
            self._tail += part
        else:
            self._tail.clear()

    def _end_line(self) -> None:
        line: bytes | int = bytes(self._tail) if self._tail_size <= self.max_line_bytes else self._tail_size
        self._tail.clear()
        self._tail_size = 0
        self.number += 1
        self._add(self.number, line)

    def _add(self, number: int, line: bytes | int) -> None:
        if isinstance(line, bytes):
            if number == 1 and line.startswith(_BOM):
                line = line[3:]
            line = line.strip()
            if not line:
                return
        if len(self.lines) >= self.max_lines:
            raise _too_many_lines(self.max_lines)
        self.lines.append((number, line))


async def read_batch(request: Request, service: Service) -> list[tuple[int, bytes | int]]:
    """The batch's lines (see BatchLines), never the whole body split at once."""
    _declared_length(request, service.max_batch_bytes)
    lines = BatchLines(service.max_batch_bytes, service.max_batch_lines, service.max_body_bytes)
    async for chunk in request.stream():
        lines.feed(chunk)
    return lines.close()


# --------------------------------------------------------------------------- OpenAPI


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Malformed body: not JSON, not UTF-8 or empty.",
        401: "Missing or invalid bearer token.",
        404: "Not found.",
        413: "Body, batch or visit (officials) over the configured limit.",
        415: "Unsupported Content-Type.",
        422: "Invalid visit or parameter; each problem names its field path.",
        500: "Server error (never for bad input).",
        503: "Not ready.",
    }
    return {
        s: {"description": descriptions[s], "content": {P.PROBLEM_MEDIA_TYPE: {"schema": _ref("ProblemDocument")}}}
        for s in statuses
    }


def _ok(schema: dict[str, Any], description: str, media: str = JSON_MEDIA_TYPE) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {media: {"schema": schema}}}}


def component_schemas(engine: Engine) -> dict[str, Any]:
    """JSON Schemas of every document the service reads or writes, as OpenAPI components: the
    visit in the engine's own format (the installed checks' observations), as `compliance
    schema visit` prints it."""
    inputs: list[tuple[str, Literal["validation", "serialization"], TypeAdapter[Any]]] = [
        ("Visit", "validation", TypeAdapter(engine.visit_model)),
        ("EvaluationRequest", "validation", TypeAdapter(request_model(engine.visit_model))),
        ("Result", "serialization", TypeAdapter(Result)),
        ("ProblemDocument", "serialization", TypeAdapter(P.ProblemDocument)),
        ("BatchError", "serialization", TypeAdapter(P.BatchError)),
        ("ChecksDocument", "serialization", TypeAdapter(ChecksDocument)),
        ("RulesetsDocument", "serialization", TypeAdapter(RulesetsDocument)),
        ("Health", "serialization", TypeAdapter(Health)),
        ("Readiness", "serialization", TypeAdapter(Readiness)),
    ]
    _, defs = TypeAdapter.json_schemas(inputs, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = defs.get("$defs", {})
    patch_schema(schemas)
    return schemas


def _not_null(parameter: dict[str, Any]) -> None:
    """An optional query parameter is absent, never null: drop FastAPI's `anyOf [T, null]`."""
    schema = parameter.get("schema", {})
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            parameter["schema"] = {**kept[0], **rest}


def build_openapi(app: FastAPI, service: Service) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                _not_null(parameter)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(component_schemas(service.engine))
    if service.auth:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, operations in schema.get("paths", {}).items():
            if path in PUBLIC_PATHS:
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
                operation.setdefault("responses", {}).update(_problems(401))
    return schema


# --------------------------------------------------------------------------- the app


AsOf = Annotated[
    str | None,
    Query(
        description="Evaluate with the rules in force on this date (YYYY-MM-DD) instead of the visit's own.",
        json_schema_extra={"format": "date"},
    ),
]
LangParam = Annotated[
    Lang | None,
    Query(description="Language of problem titles and details: vi or en (per-field messages carry both)."),
]


def create_app(
    engine: Engine | None = None,
    *,
    rules_dir: str | FsPath | None = None,
    tokens: Iterable[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    max_batch_lines: int = DEFAULT_MAX_BATCH_LINES,
    lang: Lang | None = None,
    access_logger: logging.Logger | None = None,
    eval_threads: int | None = None,
    redact_names: bool = False,
    max_officials: int = DEFAULT_MAX_OFFICIALS,
) -> FastAPI:
    """The FastAPI application around `engine` (by default the base ruleset, or `rules_dir`).

    `tokens`: bearer tokens; when any is given every /v1 endpoint requires one.
    `eval_threads`: evaluations run at once in the threadpool (default 4, or
    $COMPLIANCE_EVAL_THREADS); evaluation holds the GIL, so more threads only add contention.
    """
    if engine is None:
        engine = Engine.load(rules_dir)
    token_list = [t for t in tokens if t]
    service = Service(
        engine,
        max_body_bytes=max_body_bytes,
        max_batch_bytes=max_batch_bytes,
        max_batch_lines=max_batch_lines,
        lang=lang or default_lang(),
        auth=bool(token_list),
        eval_threads=max(1, eval_threads or _env_int(ENV_EVAL_THREADS, DEFAULT_EVAL_THREADS)),
        max_officials=max_officials,
    )
    if redact_names:
        service.redactor = Redactor(redaction_key())
    service.warm_up()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.ready = True
        try:
            yield
        finally:
            service.ready = False

    # /docs is Swagger UI served from the files fastapi-offline installs (DOCS_ASSETS), not a CDN:
    # it works on a network with no way out.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="compliance",
        version=__version__,
        description=(
            "Evaluate surprise-inspection visits to government offices into graded findings and "
            "recommended sanctions. / Đánh giá kết quả kiểm tra đột xuất công vụ thành các phát hiện "
            "được xếp loại và kiến nghị xử lý."
        ),
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.service = service

    def lang_of(request: Request) -> Lang:
        value = request.query_params.get("lang")
        return value if value in ("vi", "en") else service.default_lang  # type: ignore[return-value]

    def problem_response(
        request: Request,
        kind: str,
        problems: Sequence[Problem],
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        doc = P.document(
            kind,
            problems,
            lang=lang_of(request),
            status=status,
            instance=request.url.path,
            request_id=request_id_of(request.scope),
        )
        return Response(P.render(doc), status_code=doc["status"], media_type=P.PROBLEM_MEDIA_TYPE, headers=headers)

    # --- errors -------------------------------------------------------------------------

    @app.exception_handler(P.ServiceError)
    async def _service_error(request: Request, exc: P.ServiceError) -> Response:
        return problem_response(request, exc.kind, exc.problems, status=exc.status, headers=exc.headers)

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> Response:
        return problem_response(request, P.kind_of(exc.problems), exc.problems)

    @app.exception_handler(ComplianceError)
    async def _compliance_error(request: Request, exc: ComplianceError) -> Response:
        return problem_response(request, "evaluation-failed", exc.problems)

    @app.exception_handler(ClientDisconnect)
    async def _client_left(request: Request, exc: ClientDisconnect) -> Response:
        # Nobody is there to read an answer (the client left, or its body timed out).
        return Response(status_code=499)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            inner = loc[1:] if loc and loc[0] in ("query", "path", "header", "body") else loc
            problem = problem_from_error({**error, "loc": inner}, _Params)
            problems.append(problem.at(path=format_path(inner) or None))
        return problem_response(request, "invalid-parameter", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            problem = P.service_problem("not_found", "không tìm thấy tài nguyên được yêu cầu", "no such resource")
            kind = "not-found"
        elif exc.status_code == 405:
            problem = P.service_problem(
                "method_not_allowed", "đường dẫn này không hỗ trợ phương thức HTTP đã dùng", "HTTP method not allowed here"
            )
            kind = "method-not-allowed"
        else:
            problem = P.service_problem(
                "http_error", f"yêu cầu không hợp lệ (mã HTTP {exc.status_code})", shorten(str(exc.detail))
            )
            kind = "bad-request"
        return problem_response(request, kind, [problem], status=exc.status_code, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover - last resort
        log.error(
            "unhandled error",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"fields": {"event": "error", "request_id": request_id_of(request.scope)}},
        )
        return problem_response(request, "internal", [internal_problem()])

    async def in_threadpool(request: Request, func: Any, *args: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=service.limiter())
        except (ComplianceError, P.ServiceError):
            raise
        except Exception as exc:  # a bug, never bad input: logged without the body
            log.error(
                "evaluation failed",
                exc_info=True,
                extra={"fields": {"event": "error", "request_id": request_id_of(request.scope), "error": type(exc).__name__}},
            )
            raise P.ServiceError("internal", [internal_problem()]) from None

    # --- evaluation ---------------------------------------------------------------------

    @app.post(
        "/v1/evaluations",
        dependencies=CHECK_QUERY,
        summary="Evaluate one visit",
        description=(
            "The body is one visit document in the exchange format, or "
            '`{"visit": {...}, "history": [...]}` with earlier findings of its subjects '
            "(so that repeats escalate). The result is what `compliance evaluate --format json` gives."
        ),
        tags=["evaluation"],
        response_class=Response,
        responses={**_ok(_ref("Result"), "The visit's result."), **_problems(400, 413, 415, 422, 500)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {JSON_MEDIA_TYPE: {"schema": {"anyOf": [_ref("Visit"), _ref("EvaluationRequest")]}}},
            }
        },
    )
    async def post_evaluation(request: Request, as_of: AsOf = None, lang: LangParam = None) -> Response:
        require_json(request)
        day = parse_as_of(as_of)
        body = await read_body(request, service.max_body_bytes)
        out = await in_threadpool(request, service.evaluate_body, body, day)
        return Response(out, media_type=JSON_MEDIA_TYPE)

    @app.post(
        "/v1/evaluations/batch",
        dependencies=CHECK_QUERY,
        summary="Evaluate many visits (NDJSON in, NDJSON out, streamed)",
        description=(
            "One visit (or evaluation request) per line. Each output line is, in input order, the "
            "line's result (schema `Result`) or an error object (schema `BatchError`: "
            '`{"line": n, "visit_id": ..., "error": {problem document}}`); a bad line never stops '
            "the others. Blank lines are skipped but counted."
        ),
        tags=["evaluation"],
        response_class=StreamingResponse,
        responses={
            **_ok({"type": "string"}, "One JSON object per line: a Result or a BatchError.", NDJSON_MEDIA_TYPE),
            **_problems(400, 413, 415, 422, 500),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    NDJSON_MEDIA_TYPE: {
                        "schema": {
                            "type": "string",
                            "pattern": "\\S",
                            "description": "Lines of JSON: each a visit or an evaluation request.",
                        }
                    }
                },
            }
        },
    )
    async def post_batch(request: Request, as_of: AsOf = None, lang: LangParam = None) -> Response:
        require_ndjson(request)
        day = parse_as_of(as_of)
        lines = await read_batch(request, service)
        if not lines:
            raise InputError([Problem("empty_input")])
        chunks = service.batch(lines, day, lang or service.default_lang, request_id_of(request.scope))
        return StreamingResponse(service.in_threads(chunks), media_type=NDJSON_MEDIA_TYPE)

    # --- what is installed ------------------------------------------------------------

    @app.get(
        "/v1/checks",
        dependencies=CHECK_QUERY,
        summary="Installed checks and their rules",
        tags=["ruleset"],
        response_class=Response,
        responses={**_ok(_ref("ChecksDocument"), "Every rule of every installed check, with its versions."), **_problems(422)},
    )
    def get_checks() -> Response:
        return Response(service.checks_json, media_type=JSON_MEDIA_TYPE)

    @app.get(
        "/v1/rulesets",
        dependencies=CHECK_QUERY,
        summary="The loaded ruleset: version, digest, files and effective dates",
        tags=["ruleset"],
        response_class=Response,
        responses={**_ok(_ref("RulesetsDocument"), "The rulesets this service evaluates with."), **_problems(422)},
    )
    def get_rulesets() -> Response:
        return Response(service.rulesets_json, media_type=JSON_MEDIA_TYPE)

    @app.get(
        "/v1/schemas/{name}",
        dependencies=CHECK_QUERY,
        summary="JSON Schema of the visit, result or evaluation-request format",
        tags=["ruleset"],
        response_class=Response,
        responses={**_ok({"type": "object"}, "A JSON Schema (draft 2020-12)."), **_problems(422)},
    )
    def get_schema(
        name: Annotated[Literal["visit", "result", "request"], Path(description="visit, result or request")],
    ) -> Response:
        return Response(service.schemas[name], media_type=JSON_MEDIA_TYPE)

    # --- probes -------------------------------------------------------------------------

    @app.get(
        "/healthz",
        summary="Liveness",
        tags=["probes"],
        response_class=Response,
        responses=_ok(_ref("Health"), "The process is alive."),
    )
    def healthz() -> Response:
        return Response(orjson.dumps(Health("ok")), media_type=JSON_MEDIA_TYPE)

    @app.get(
        "/readyz",
        summary="Readiness: the ruleset is loaded and an evaluation has run",
        tags=["probes"],
        response_class=Response,
        responses={**_ok(_ref("Readiness"), "Ready to evaluate."), **_problems(503)},
    )
    def readyz(request: Request) -> Response:
        if not service.ready:
            problem = P.service_problem("not_ready", "dịch vụ chưa sẵn sàng", "the service is not ready")
            return problem_response(request, "not-ready", [problem])
        return Response(orjson.dumps(Readiness("ready", service.ruleset_id)), media_type=JSON_MEDIA_TYPE)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, service)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # The last middleware added is the outermost: access log (request id), then auth.
    app.add_middleware(BearerAuth, checker=TokenChecker(token_list), default_lang=service.default_lang)
    app.add_middleware(AccessLog, logger=access_logger or logging.getLogger(ACCESS_LOGGER))
    return app


# --------------------------------------------------------------------------- from the environment

ENV_MAX_BODY = "COMPLIANCE_MAX_BODY_BYTES"
ENV_MAX_BATCH_BYTES = "COMPLIANCE_MAX_BATCH_BYTES"
ENV_MAX_BATCH_LINES = "COMPLIANCE_MAX_BATCH_LINES"
ENV_EVAL_THREADS = "COMPLIANCE_EVAL_THREADS"
ENV_MAX_OFFICIALS = "COMPLIANCE_MAX_OFFICIALS"
DEFAULT_EVAL_THREADS = 4


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def app_from_env() -> FastAPI:
    """The app configured from the environment (uvicorn factory for `serve --workers N`).

    $COMPLIANCE_RULES, $COMPLIANCE_TOKENS / $COMPLIANCE_TOKEN_FILE, $COMPLIANCE_LANG and the
    limits $COMPLIANCE_MAX_BODY_BYTES, $COMPLIANCE_MAX_BATCH_BYTES, $COMPLIANCE_MAX_BATCH_LINES,
    $COMPLIANCE_MAX_OFFICIALS.
    """
    return create_app(
        Engine.load(None),
        tokens=load_tokens(),
        max_body_bytes=_env_int(ENV_MAX_BODY, DEFAULT_MAX_BODY_BYTES),
        max_batch_bytes=_env_int(ENV_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_BYTES),
        max_batch_lines=_env_int(ENV_MAX_BATCH_LINES, DEFAULT_MAX_BATCH_LINES),
        max_officials=_env_int(ENV_MAX_OFFICIALS, DEFAULT_MAX_OFFICIALS),
        redact_names=os.environ.get("COMPLIANCE_REDACT_NAMES") == "1",
    )


__all__ = [
    "DEFAULT_MAX_BATCH_BYTES",
    "DEFAULT_MAX_BATCH_LINES",
    "DEFAULT_MAX_BODY_BYTES",
    "Service",
    "app_from_env",
    "create_app",
]
