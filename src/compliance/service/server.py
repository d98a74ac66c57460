"""Connection limits uvicorn lacks, as its HTTP protocol class (`http=PROTOCOL` in its config).

uvicorn bounds header size (h11), idle keep-alive and in-flight requests, but accepts any
number of connections, waits forever for the first request on one, and for a request's
headers and body. Thousands of idle connections then exhaust the file descriptors, and a
client sending one byte a second holds a connection as long as it likes. Here:

- at most `max_connections` connections are open; one beyond is answered 503 (a problem
  document, `Retry-After`) and closed at once, before it costs more than a moment's fd;
- a request's headers must arrive within `header_timeout` seconds of the connection (or of
  the previous answer on it) and its body within `body_timeout` seconds of the headers:
  otherwise 408 (when a request had begun and nothing was answered yet) and the connection
  is closed;
- a request h11 cannot parse is answered with a problem document instead of plain text.

The limits come from the environment (`$COMPLIANCE_LIMIT_CONNECTIONS`, `$COMPLIANCE_HEADER_TIMEOUT`,
`$COMPLIANCE_BODY_TIMEOUT`), so that `serve --workers N` passes them to every worker process.
"""

from __future__ import annotations

import asyncio
import http
import logging
import os
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import Lang
from . import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_LIMIT_CONNECTIONS
from . import problems as P
from .accesslog import SERVICE_LOGGER

PROTOCOL = "compliance.service.server:GuardedH11Protocol"

ENV_LIMIT_CONNECTIONS = "COMPLIANCE_LIMIT_CONNECTIONS"
ENV_HEADER_TIMEOUT = "COMPLIANCE_HEADER_TIMEOUT"
ENV_BODY_TIMEOUT = "COMPLIANCE_BODY_TIMEOUT"
FD_RESERVE = 64
"""File descriptors kept for what is not a client connection (the listener, logs, files)."""

log = logging.getLogger(SERVICE_LOGGER)


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = DEFAULT_LIMIT_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    lang: Lang = "en"

    @classmethod
    def from_env(cls) -> Limits:
        lang: Lang = "vi" if os.environ.get("COMPLIANCE_LANG", "").lower().startswith("vi") else "en"
        return cls(
            max_connections=max(1, int(_number(ENV_LIMIT_CONNECTIONS, DEFAULT_LIMIT_CONNECTIONS))),
            header_timeout=_number(ENV_HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT),
            body_timeout=_number(ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT),
            lang=lang,
        )

    def environ(self) -> dict[str, str]:
        return {
            ENV_LIMIT_CONNECTIONS: str(self.max_connections),
            ENV_HEADER_TIMEOUT: str(self.header_timeout),
            ENV_BODY_TIMEOUT: str(self.body_timeout),
        }


def _number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def fit_to_fds(requested: int) -> tuple[int, int]:
    """(connections, listen backlog) that fit under the process's fd limit.

    Connections refused for being one too many still hold an fd for a moment, and the event
    loop accepts up to `backlog` of them at once: the limit leaves room for a backlog's worth.
    """
    backlog = 2048  # uvicorn's default
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return requested, backlog
    if soft == resource.RLIM_INFINITY:
        return requested, backlog
    backlog = min(backlog, max(16, soft // 8))
    return max(1, min(requested, soft - FD_RESERVE - backlog)), backlog


# --------------------------------------------------------------------------- canned answers


def canned(status: int, kind: str, vi: str, en: str, lang: Lang, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response with a problem document, written where no request (or no
    ASGI application) is there to answer; it always closes the connection."""
    body = P.render(P.document(kind, [P.service_problem(kind.replace("-", "_"), vi, en)], lang=lang, status=status))
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        f"content-type: {P.PROBLEM_MEDIA_TYPE}",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _answers(lang: Lang) -> dict[str, bytes]:
    return {
        "overloaded": canned(
            503,
            "overloaded",
            "máy chủ đang có quá nhiều kết nối; hãy thử lại sau vài giây",
            "the server has too many connections open; try again in a few seconds",
            lang,
            {"retry-after": "1"},
        ),
        "headers": canned(
            408,
            "request-timeout",
            "phần tiêu đề (header) của yêu cầu không được gửi đến trong thời hạn cho phép; kết nối đã bị đóng",
            "the request headers did not arrive in time; the connection is closed",
            lang,
        ),
        "body": canned(
            408,
            "request-timeout",
            "nội dung yêu cầu không được gửi đến trong thời hạn cho phép; kết nối đã bị đóng",
            "the request body did not arrive in time; the connection is closed",
            lang,
        ),
        "malformed": canned(
            400,
            "bad-request",
            "yêu cầu HTTP sai cú pháp, hoặc phần tiêu đề (header) quá lớn",
            "malformed HTTP request, or its headers are too large",
            lang,
        ),
    }


_ANSWERS: dict[Lang, dict[str, bytes]] = {}


def answer(name: str, lang: Lang) -> bytes:
    if lang not in _ANSWERS:
        _ANSWERS[lang] = _answers(lang)
    return _ANSWERS[lang][name]


# --------------------------------------------------------------------------- the protocol

_LIMITS: Limits | None = None


def current_limits() -> Limits:
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = Limits.from_env()
    return _LIMITS


def use_limits(limits: Limits | None) -> None:
    """Set the limits of this process's connections (None: read the environment again)."""
    global _LIMITS
    _LIMITS = limits


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and header/body deadlines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = current_limits()
        # Connections beyond the cap are refused as they arrive (below), with a problem document;
        # uvicorn's own per-request check would answer plain text instead.
        self.limit_concurrency = None
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            self.transport = transport
            transport.write(answer("overloaded", self.limits.lang))
            transport.close()
            log.warning(
                "connection refused: too many connections",
                extra={"fields": {"event": "overloaded", "limit": self.limits.max_connections}},
            )
            return
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        if self._refused:
            return
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._cancel()
        self.transport.write(answer("malformed", self.limits.lang))
        self.transport.close()

    # --- deadlines ------------------------------------------------------------------------

    def _watch(self) -> None:
        """Run the deadline of what the connection waits for: a request's headers or its body."""
        if self.transport is None or self.transport.is_closing():
            self._cancel()
            return
        state = self.conn.their_state
        waiting_for = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if waiting_for == self._waiting_for:
            return
        self._cancel()
        self._waiting_for = waiting_for
        if waiting_for is not None:
            timeout = self.limits.header_timeout if waiting_for == "headers" else self.limits.body_timeout
            self._deadline = self.loop.call_later(timeout, self._expired, waiting_for)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = None

    def _expired(self, waiting_for: str) -> None:
        self._deadline = None
        self._waiting_for = None
        if self.transport.is_closing():
            return
        if waiting_for == "headers":
            begun = bool(self.conn.trailing_data[0])  # part of a request came; an idle connection just closes
            unanswered = begun
        else:
            begun = True
            unanswered = self.cycle is not None and not self.cycle.response_started
            if unanswered:
                self.cycle.disconnected = True  # the application's own answer would come too late
        if unanswered:
            self.transport.write(answer(waiting_for, self.limits.lang))
        if begun:
            client = self.client[0] if self.client else None
            log.warning("request timed out", extra={"fields": {"event": "timeout", "waiting_for": waiting_for, "client": client}})
        self.transport.close()


__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_LIMIT_CONNECTIONS",
    "GuardedH11Protocol",
    "Limits",
    "PROTOCOL",
    "fit_to_fds",
    "current_limits",
    "use_limits",
]
