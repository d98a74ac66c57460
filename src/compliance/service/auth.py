"""Optional bearer-token authentication.

Tokens come from a file (one a line; blank lines and `#` comments ignored) named by
``--token-file`` or ``$COMPLIANCE_TOKEN_FILE``, and/or from ``$COMPLIANCE_TOKENS`` (separated
by commas or whitespace). With no token configured the service is open. With tokens, every
path except the health probes and the OpenAPI description needs
``Authorization: Bearer <token>``; a request without a valid one gets 401 before its body is
read, so nothing is evaluated. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, Lang, Problem
from . import problems as P
from .accesslog import request_id_of

TOKENS_ENV = "COMPLIANCE_TOKENS"
TOKEN_FILE_ENV = "COMPLIANCE_TOKEN_FILE"
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_ASSETS = "/docs/assets"
"""Where the Swagger UI files of /docs are served (public, like /docs)."""
MAX_TOKEN_FILE_BYTES = 1024 * 1024
_SPLIT = re.compile(r"[\s,]+")


def read_token_file(path: str | Path) -> list[str]:
    """The tokens in `path`; InputError (bilingual) when it cannot be read."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()[: MAX_TOKEN_FILE_BYTES + 1]
    except FileNotFoundError:
        raise InputError([Problem("file_missing", file=shown)]) from None
    except OSError as exc:
        raise InputError([Problem("file_unreadable", {"detail": exc.strerror or type(exc).__name__}, file=shown)]) from None
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        raise InputError([Problem("file_too_large", {"size": len(raw), "limit": MAX_TOKEN_FILE_BYTES}, file=shown)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem("not_utf8", {"position": exc.start}, file=shown)]) from None
    tokens = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            tokens.append(line)
    return tokens


def load_tokens(token_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Tokens from `token_file` (else $COMPLIANCE_TOKEN_FILE) and $COMPLIANCE_TOKENS."""
    env = os.environ if env is None else env
    found: list[str] = []
    path = token_file or env.get(TOKEN_FILE_ENV) or None
    if path:
        found.extend(read_token_file(path))
    found.extend(t for t in _SPLIT.split(env.get(TOKENS_ENV, "")) if t)
    return frozenset(found)


class TokenChecker:
    """Constant-time check of a presented token against every configured one."""

    def __init__(self, tokens: Iterable[str]):
        self._tokens = tuple(t.encode("utf-8") for t in tokens if t)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def accepts(self, authorization: bytes | None) -> bool:
        if authorization is None:
            return False
        scheme, _, presented = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        presented = presented.strip()
        ok = False
        for token in self._tokens:  # no early exit: time does not tell which token matched
            ok |= hmac.compare_digest(presented, token)
        return ok and bool(presented)


class BearerAuth:
    """ASGI middleware answering 401 (a problem document) to requests without a valid token."""

    def __init__(
        self,
        app: Any,
        checker: TokenChecker,
        *,
        default_lang: Lang = "en",
        public_paths: Collection[str] = PUBLIC_PATHS,
    ):
        self.app = app
        self.checker = checker
        self.default_lang = default_lang
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self.checker.enabled or path in self.public_paths or path.startswith(DOCS_ASSETS + "/"):
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value
                break
        if self.checker.accepts(authorization):
            await self.app(scope, receive, send)
            return
        lang = _query_lang(scope) or self.default_lang
        missing = authorization is None
        problem = P.service_problem(
            "unauthorized",
            "thiếu mã xác thực: hãy gửi kèm tiêu đề 'Authorization: Bearer <mã>'" if missing else "mã xác thực không hợp lệ",
            "missing credentials: send 'Authorization: Bearer <token>'" if missing else "invalid token",
        )
        doc = P.document(
            "unauthorized", [problem], lang=lang, instance=scope.get("path"), request_id=request_id_of(scope)
        )
        body = P.render(doc)
        error = 'Bearer realm="compliance"' + ("" if missing else ', error="invalid_token"')
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", P.PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", error.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _query_lang(scope: dict[str, Any]) -> Lang | None:
    query = scope.get("query_string", b"")
    for part in query.split(b"&"):
        if part in (b"lang=vi", b"lang=en"):
            return "vi" if part.endswith(b"vi") else "en"
    return None
