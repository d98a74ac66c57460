"""`compliance serve`: the HTTP service on uvicorn (needs the `service` extra)."""

from __future__ import annotations

import inspect
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import Lang
from ..privacy import KEY_ENV, redaction_key
from ..service import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_LIMIT_CONNECTIONS,
    DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_MAX_BATCH_LINES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_OFFICIALS,
)
from .common import handle_errors, lang_option, load_engine, redact_option, require_extra, rules_option

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@rules_option
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Worker processes (each loads the ruleset; evaluation is CPU-bound).",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COMPLIANCE_TOKEN_FILE",
    default=None,
    help="File of bearer tokens, one a line. Tokens may also come from $COMPLIANCE_TOKENS. "
    "With any token, /v1 endpoints require 'Authorization: Bearer <token>'.",
)
@click.option("--max-body-bytes", type=click.IntRange(1), default=DEFAULT_MAX_BODY_BYTES, show_default=True,
              help="Largest body of one evaluation (413 beyond).")
@click.option("--max-batch-bytes", type=click.IntRange(1), default=DEFAULT_MAX_BATCH_BYTES, show_default=True,
              help="Largest batch body (413 beyond).")
@click.option("--max-batch-lines", type=click.IntRange(1), default=DEFAULT_MAX_BATCH_LINES, show_default=True,
              help="Most visits in one batch (413 beyond).")
@click.option("--max-officials", type=click.IntRange(1, 10_000), default=DEFAULT_MAX_OFFICIALS, show_default=True,
              help="Most officials in one visit (413 beyond): bounds the size of an answer.")
@click.option("--limit-connections", type=click.IntRange(1), default=DEFAULT_LIMIT_CONNECTIONS, show_default=True,
              help="Open connections per worker; one more is answered 503 and closed. Lowered to fit "
              "the process's file-descriptor limit.")
@click.option("--header-timeout", type=click.FloatRange(0, min_open=True), default=DEFAULT_HEADER_TIMEOUT,
              show_default=True, help="Seconds for a request's headers to arrive (408 and closed beyond).")
@click.option("--body-timeout", type=click.FloatRange(0, min_open=True), default=DEFAULT_BODY_TIMEOUT,
              show_default=True, help="Seconds for a request's body to arrive after its headers (408 and closed beyond).")
@click.option("--keep-alive-timeout", type=click.FloatRange(0, min_open=True), default=DEFAULT_KEEP_ALIVE_TIMEOUT,
              show_default=True, help="Seconds an idle connection is kept open after an answer.")
@click.option("--graceful-timeout", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds to let in-flight requests finish on shutdown (SIGTERM/SIGINT).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Log level; logs are JSON lines on stderr.")
@redact_option
@lang_option
@handle_errors
def serve(
    host: str,
    port: int,
    rules_dir: Path | None,
    workers: int,
    token_file: Path | None,
    max_body_bytes: int,
    max_batch_bytes: int,
    max_batch_lines: int,
    max_officials: int,
    limit_connections: int,
    header_timeout: float,
    body_timeout: float,
    keep_alive_timeout: float,
    graceful_timeout: float,
    log_level: str,
    redact_names: bool,
    lang: Lang,
) -> None:
    """Serve the evaluator over HTTP (FastAPI + uvicorn): POST /v1/evaluations and more.

    Phục vụ đánh giá qua HTTP. OpenAPI description at /openapi.json; see docs/embedding.md.
    """
    for module in ("uvicorn", "fastapi"):
        require_extra(module, "service", "'compliance serve'", "'compliance serve'")
    import uvicorn

    from ..service.accesslog import configure, logging_config
    from ..service.app import create_app
    from ..service.auth import load_tokens
    from ..service.server import PROTOCOL, Limits, fit_to_fds

    engine = load_engine(rules_dir)  # a bad ruleset stops here, with its problems listed
    tokens = load_tokens(token_file)
    if not tokens and host not in _LOCAL_HOSTS:
        click.echo(
            f"Cảnh báo: đang nghe trên {host} mà không có mã xác thực / "
            f"Warning: listening on {host} without authentication tokens",
            err=True,
        )
    configure(log_level)
    connections, backlog = fit_to_fds(limit_connections)
    if connections < limit_connections:
        logging.getLogger("compliance.service").warning(
            "connection limit lowered to fit the file-descriptor limit",
            extra={"fields": {"event": "limit", "requested": limit_connections, "limit": connections}},
        )
    # The protocol of every worker reads its limits from the environment.
    os.environ.update(Limits(connections, header_timeout, body_timeout).environ())
    os.environ["COMPLIANCE_LANG"] = lang
    logging.getLogger("compliance.service").info(
        "starting",
        extra={
            "fields": {
                "event": "start",
                "host": host,
                "port": port,
                "workers": workers,
                "ruleset": engine.catalogue.name,
                "ruleset_version": engine.catalogue.version,
                "digest": engine.catalogue.digest,
                "auth": bool(tokens),  # whether tokens are required, never the tokens
                "limit_connections": connections,
                "header_timeout": header_timeout,
                "body_timeout": body_timeout,
            }
        },
    )
    common = {
        "host": host,
        "port": port,
        "log_config": logging_config(log_level),
        "access_log": False,  # the service writes its own JSON access log
        "timeout_graceful_shutdown": graceful_timeout,
        "server_header": False,
        "http": PROTOCOL,
        "ws": "none",  # no WebSocket endpoint: an upgrade must not slip past the connection deadlines
        "limit_concurrency": connections,
        "backlog": backlog,
        "timeout_keep_alive": keep_alive_timeout,
        "h11_max_incomplete_event_size": DEFAULT_MAX_HEADER_BYTES,
    }
    if workers == 1:
        app = create_app(
            engine,
            tokens=tokens,
            max_body_bytes=max_body_bytes,
            max_batch_bytes=max_batch_bytes,
            max_batch_lines=max_batch_lines,
            max_officials=max_officials,
            lang=lang,
            redact_names=redact_names,
        )
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return
    # Worker processes build their app from the environment (see service.app.app_from_env).
    if rules_dir is not None:
        os.environ["COMPLIANCE_RULES"] = str(Path(rules_dir).resolve())
    if token_file is not None:
        os.environ["COMPLIANCE_TOKEN_FILE"] = str(Path(token_file).resolve())
    os.environ["COMPLIANCE_MAX_BODY_BYTES"] = str(max_body_bytes)
    os.environ["COMPLIANCE_MAX_BATCH_BYTES"] = str(max_batch_bytes)
    os.environ["COMPLIANCE_MAX_BATCH_LINES"] = str(max_batch_lines)
    os.environ["COMPLIANCE_MAX_OFFICIALS"] = str(max_officials)
    if redact_names:
        # One key for every worker, so a name gets the same pseudonym whichever answers.
        os.environ["COMPLIANCE_REDACT_NAMES"] = "1"
        os.environ.setdefault(KEY_ENV, redaction_key())
    del engine
    _run_workers("compliance.service.app:app_from_env", workers, common)
    sys.stdout.flush()


def _run_workers(app: str, workers: int, options: dict[str, Any]) -> None:
    """`uvicorn.run(app, factory=True, workers=N)`, with TCP_NODELAY on every connection.

    uvicorn binds the shared listening socket with `proto` 0; accepted sockets inherit it and
    asyncio then leaves Nagle's algorithm on, so each keep-alive response waits ~40 ms for a
    delayed ACK (uvicorn issue #3149). Re-wrapping the listener with IPPROTO_TCP fixes that.
    """
    import uvicorn

    try:
        from uvicorn.supervisors import Multiprocess
    except ImportError:  # pragma: no cover - another uvicorn layout: its own run, unpatched
        uvicorn.run(app, factory=True, workers=workers, **options)
        return
    config = uvicorn.Config(app, factory=True, workers=workers, **options)
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    try:
        if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn < 0.30
            Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()  # type: ignore[call-arg,unused-ignore]
        else:
            Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # pragma: no cover
        pass
    finally:
        sock.close()


__all__ = ["serve"]
