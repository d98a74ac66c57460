"""A `compliance serve` subprocess on a free port, for the tests that need a real server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`compliance serve --port <free> *args`, ready when /readyz answers 200; `stop` ends it
    (SIGTERM) and keeps its stderr, the log."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_TOKEN")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from compliance.cli import main; main()", "serve", "--port", str(self.port), *args],
            env={**clean, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.stderr = b""
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start: " + self.stderr.decode(errors="replace"))
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr and not self.proc.stderr.closed:
            self.stderr += self.proc.stderr.read()
            self.proc.stderr.close()
        return int(self.proc.returncode)
