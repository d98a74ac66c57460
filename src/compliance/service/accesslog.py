"""Structured logs: one JSON object a line, with the request id and timing of every request.

Logged: time, method, path (never the query string, headers or body), status, duration,
bytes sent, client address and request id. Never logged: tokens (the Authorization header is
not read here) and anything from a visit (officials' names live only in bodies).

Every logger (uvicorn's, asyncio's, the root) writes JSON through one handler whose
`RateLimit` filter keeps a flood of failures (refused connections, timeouts, bad requests,
errors) from filling the disk; the answer to each successful request is always logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import orjson

ACCESS_LOGGER = "compliance.service.access"
SERVICE_LOGGER = "compliance.service"
REQUEST_ID_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Scope = dict[str, Any]
Message = dict[str, Any]


class JsonFormatter(logging.Formatter):
    """Each record as one JSON line: ts, level, logger, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # the exception type and stack, but not its message: it may quote a visit
            data["exception"] = record.exc_info[0].__name__
            data["stack"] = "".join(traceback.format_tb(record.exc_info[2]))[-4000:]
        return orjson.dumps(data, default=str).decode()


class RateLimit(logging.Filter):
    """At most `burst` records of one kind at once and `per_second` after that; the next record
    of a kind that got through after some were dropped says how many (`suppressed`).

    A kind is the logger, level and message, and an access record's status: 20,000 refused
    connections or failed requests make a few hundred lines, not 20,000. Records below WARNING
    pass, except access records of failed requests (status >= 400 or none).
    """

    MAX_KINDS = 1000

    def __init__(self, per_second: float = 5.0, burst: int = 50, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.clock = clock
        self.per_second = per_second
        self.burst = float(burst)
        self._kinds: dict[tuple[Any, ...], list[float]] = {}  # kind -> [tokens, last time, dropped]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "fields", None)
        status = fields.get("status") if isinstance(fields, dict) and fields.get("event") == "access" else None
        failed = isinstance(fields, dict) and fields.get("event") == "access" and (status is None or status >= 400)
        if record.levelno < logging.WARNING and not failed:
            return True
        kind = (record.name, record.levelno, str(record.msg)[:200], status)
        now = self.clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None:
                if len(self._kinds) >= self.MAX_KINDS:
                    self._kinds.clear()
                state = self._kinds[kind] = [self.burst, now, 0.0]
            state[0] = min(self.burst, state[0] + (now - state[1]) * self.per_second)
            state[1] = now
            if state[0] < 1:
                state[2] += 1
                return False
            state[0] -= 1
            dropped, state[2] = int(state[2]), 0.0
        if dropped:
            record.fields = {**(fields if isinstance(fields, dict) else {}), "suppressed": dropped}
        return True


def logging_config(level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn, asyncio and the service: rate-limited JSON
    lines on stderr, whatever logger a record comes from."""
    upper = level.upper()
    own = {"handlers": ["stderr"], "level": upper, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "compliance.service.accesslog.JsonFormatter"}},
        "filters": {"rate": {"()": "compliance.service.accesslog.RateLimit"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["rate"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": own,
            "uvicorn.error": own,
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "asyncio": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            SERVICE_LOGGER: own,
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def configure(level: str = "info") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(level))


def request_id_of(scope: Mapping[str, Any]) -> str | None:
    state = scope.get("state")
    if isinstance(state, dict):
        rid = state.get("request_id")
        return rid if isinstance(rid, str) else None
    return None


class AccessLog:
    """ASGI middleware: assigns a request id (or keeps a sane incoming X-Request-ID), returns it
    in the response header and logs one JSON line when the response has been sent."""

    def __init__(self, app: Any, logger: logging.Logger | None = None):
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER.encode():
                candidate = value.decode("latin-1")
                rid = candidate if _GOOD_ID.match(candidate) else None
                break
        rid = rid or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        start = time.perf_counter()
        info: dict[str, Any] = {"status": None, "bytes": 0, "logged": False}

        def log(outcome: str | None = None) -> None:
            if info["logged"]:
                return
            info["logged"] = True
            client = scope.get("client")
            fields = {
                "event": "access",
                "request_id": rid,
                "method": scope.get("method"),
                "path": str(scope.get("path", ""))[:300],
                "status": info["status"],
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "bytes_out": info["bytes"],
                "client": client[0] if client else None,
            }
            if outcome:
                fields["outcome"] = outcome
            self.logger.info("request", extra={"fields": fields})

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                info["bytes"] += len(message.get("body", b""))
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                log()

        try:
            await self.app(scope, receive, send_logged)
        except BaseException:
            if info["status"] is None:
                info["status"] = 500
            log("exception")
            raise
        finally:
            log("disconnected" if info["status"] is not None else "no_response")
