"""The HTTP service (`compliance serve`): FastAPI + uvicorn, installed with the `service` extra.

Import `compliance.service.app` (it needs fastapi) for `create_app`; this package itself
imports nothing heavy, so `import compliance` never needs the web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest body of `POST /v1/evaluations` (a visit of 10,000 officials is about 3 MB)."""
DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024
"""Largest body of `POST /v1/evaluations/batch`."""
DEFAULT_MAX_BATCH_LINES = 10_000
"""Most visits in one batch request."""
DEFAULT_MAX_OFFICIALS = 1000
"""Most officials in one visit the service evaluates (the format allows 10,000): with findings,
each costs about 7 KB of answer, so this bounds one answer to about 7 MB."""
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
"""Largest request line and headers (h11's own default, stated)."""
DEFAULT_LIMIT_CONNECTIONS = 1000
"""Open connections per worker process; one more is answered 503 and closed."""
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds for a request's headers to arrive, from the connection or the previous answer."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds for a request's body to arrive after its headers."""
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
"""Seconds an idle connection stays open after an answer (uvicorn's own default)."""

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_KEEP_ALIVE_TIMEOUT",
    "DEFAULT_LIMIT_CONNECTIONS",
    "DEFAULT_MAX_BATCH_BYTES",
    "DEFAULT_MAX_BATCH_LINES",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_OFFICIALS",
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
