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

__all__ = ["DEFAULT_MAX_BATCH_BYTES", "DEFAULT_MAX_BATCH_LINES", "DEFAULT_MAX_BODY_BYTES", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
