"""What `compliance serve` does under hostile load: idle connections, slow bodies, a batch of
short lines, and requests that cost a large answer. Prints figures; asserts nothing.

    python benchmarks/service_attack.py                        # every phase
    python benchmarks/service_attack.py --phase idle --idle 20000
    python benchmarks/service_attack.py --server-arg=--limit-connections=500

Each phase starts its own server (`compliance serve`, one worker, 127.0.0.1, a free port) with
its log on a temporary file, and stops it. Every phase is bounded in time and in connections.

- idle: N TCP connections that never send a byte (opened by client processes of at most
  9,000 sockets each, under the fd limit), held `--hold` seconds while /healthz is asked
  every second; prints how /healthz answered, the server's open fds and log size, and how
  many idle connections the server had closed.
- slow: S connections send the headers of a 4 KiB POST, then one body byte a second; prints
  how long the server held them (capped at `--slow-cap` seconds).
- lines: one batch of L lines `ab` (3 bytes each); prints the status, the time to answer,
  the server's peak RSS and the slowest /healthz answer meanwhile (is the loop blocked?).
- answer: visits of 10,000 and of 1,000 officials each with findings, and a visit with
  170,000 unknown keys; prints the status, the answer's size and the time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

HOST = "127.0.0.1"
PER_PROCESS = 9000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`compliance serve` in a subprocess; its stderr (the log) goes to a temporary file."""

    def __init__(self, args: list[str], fds: int = 0, startup_timeout: float = 90):
        import httpx

        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="serve-log-")[1])
        self.log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_TOKEN")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from compliance.cli import main; main()", "serve",
             "--host", HOST, "--port", str(self.port), *args],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))) if fds else None,
        )
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start:\n" + self.log_path.read_text(errors="replace")[-3000:])

    def fds(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return -1

    def peak_rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def log_summary(self) -> str:
        if not self.log.closed:
            self.log.flush()
        data = self.log_path.read_bytes()
        lines = data.splitlines()
        plain = 0
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                plain += 1
        return f"log {len(data) / 1e6:.2f} MB, {len(lines)} lines ({plain} not JSON)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)


def probe(base: str, path: str = "/healthz", timeout: float = 2.0) -> tuple[str, float]:
    import httpx

    start = time.perf_counter()
    try:
        status = str(httpx.get(base + path, timeout=timeout).status_code)
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return status, (time.perf_counter() - start) * 1000


# --------------------------------------------------------------------------- idle connections


def _hold_idle(port: int, count: int, hold: float, source: str, out: Any) -> None:
    """Open `count` idle connections, hold them, report (opened, refused, closed by server)."""
    socks: list[socket.socket] = []
    failed = 0
    deadline = time.monotonic() + hold
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            sock = socket.socket()
            sock.settimeout(2)
            sock.bind((source, 0))
            sock.connect((HOST, port))
            sock.setblocking(False)
            socks.append(sock)
        except OSError:
            failed += 1
            sock.close()
    opened = len(socks)
    time.sleep(max(0.0, deadline - time.monotonic()))
    closed = answered = 0
    for sock in socks:
        try:
            data = sock.recv(4096, socket.MSG_PEEK)
            if data:
                answered += 1  # the server wrote something (a 503, a 408) and maybe closed
            else:
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        sock.close()
    out.put((opened, failed, closed, answered))


def idle(args: argparse.Namespace) -> None:
    server = Server(args.server_arg, args.server_fds)
    limit = args.server_fds or resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(f"idle: {args.idle} connections held {args.hold:.0f} s; server fd limit {limit}; "
          f"server fds at start {server.fds()}")
    try:
        queue: Any = multiprocessing.Queue()
        workers = []
        remaining, index = args.idle, 0
        while remaining > 0:
            count = min(PER_PROCESS, remaining)
            source = f"127.0.0.{2 + index}"  # spread over source addresses: ephemeral ports
            proc = multiprocessing.Process(target=_hold_idle, args=(server.port, count, args.hold, source, queue))
            proc.start()
            workers.append(proc)
            remaining -= count
            index += 1
        samples = []
        start = time.monotonic()
        while time.monotonic() - start < args.hold + 1:
            status, ms = probe(server.base)
            samples.append((round(time.monotonic() - start, 1), status, round(ms), server.fds()))
            time.sleep(max(0.0, 1.0 - ms / 1000))
        results = [queue.get(timeout=60) for _ in workers]
        for proc in workers:
            proc.join(timeout=30)
        print("  t(s)  /healthz  ms     server fds")
        for t, status, ms, fds in samples:
            print(f"  {t:5.1f}  {status:>8}  {ms:>5}  {fds:>8}")
        opened = sum(r[0] for r in results)
        print(f"  connections opened {opened}, failed to open {sum(r[1] for r in results)}, "
              f"closed by the server {sum(r[2] for r in results)}, answered by the server {sum(r[3] for r in results)}")
        after, ms = probe(server.base)
        print(f"  after: /healthz {after} in {ms:.0f} ms; server fds {server.fds()}; alive {server.proc.poll() is None}")
    finally:
        server.stop()
        print("  " + server.log_summary())
        server.remove_log()


# --------------------------------------------------------------------------- slow bodies


def _slow_body(port: int, cap: float, held: list[float], lock: threading.Lock) -> None:
    start = time.monotonic()
    try:
        sock = socket.create_connection((HOST, port), timeout=5)
    except OSError:
        return
    try:
        sock.sendall(b"POST /v1/evaluations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 4096\r\n\r\n")
        sock.settimeout(1.0)
        while time.monotonic() - start < cap:
            try:
                sock.send(b" ")
                sock.recv(4096, socket.MSG_PEEK)  # returns once the server answers or closes
                break
            except socket.timeout:
                continue
            except OSError:
                break
    finally:
        with lock:
            held.append(time.monotonic() - start)
        sock.close()


def slow(args: argparse.Namespace) -> None:
    server = Server(args.server_arg)
    try:
        held: list[float] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=_slow_body, args=(server.port, args.slow_cap, held, lock)) for _ in range(args.slow)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        mid, ms = probe(server.base)
        for thread in threads:
            thread.join(timeout=args.slow_cap + 30)
        held.sort()
        at_cap = sum(1 for h in held if h >= args.slow_cap - 0.5)
        print(f"slow: {args.slow} bodies of 4096 bytes sent one byte a second (cap {args.slow_cap:.0f} s): "
              f"held median {held[len(held) // 2]:.1f} s, max {held[-1]:.1f} s, {at_cap} still open at the cap; "
              f"/healthz meanwhile {mid} in {ms:.0f} ms")
    finally:
        server.stop()
        print("  " + server.log_summary())
        server.remove_log()


# --------------------------------------------------------------------------- short lines


def lines(args: argparse.Namespace) -> None:
    import httpx

    server = Server(args.server_arg)
    try:
        body = b"ab\n" * args.lines
        worst = [0.0]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                _, ms = probe(server.base, timeout=60)
                worst[0] = max(worst[0], ms)
                time.sleep(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        start = time.perf_counter()
        try:
            response = httpx.post(server.base + "/v1/evaluations/batch", content=body, timeout=300,
                                  headers={"content-type": "application/x-ndjson"})
            outcome = f"{response.status_code}, {len(response.content)} bytes"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        elapsed = time.perf_counter() - start
        done.set()
        watcher.join()
        print(f"lines: batch of {args.lines:,} lines 'ab' ({len(body) / 1e6:.0f} MB): {outcome} in {elapsed:.1f} s; "
              f"server peak RSS {server.peak_rss_mb():.0f} MB; slowest /healthz meanwhile {worst[0]:.0f} ms")
    finally:
        server.stop()
        print("  " + server.log_summary())
        server.remove_log()


# --------------------------------------------------------------------------- large answers


def _official(i: int) -> dict[str, Any]:
    return {"id": f"o{i}", "name": "Nguyễn Văn A", "category": "civil_servant", "attendance": "late",
            "arrived_at": "08:40", "wearing_id_card": False, "smoking": True, "drinking_alcohol": True,
            "attire_proper": False, "signed_pledge": False, "nameplate_on_desk": False}


def answer(args: argparse.Namespace) -> None:
    import httpx

    base_visit = {"visit_id": "big", "inspected_at": "2018-06-12T07:50:00+07:00",
                  "unit": {"id": "u", "level": "commune"}}
    many = orjson.dumps({**base_visit, "personnel": [_official(i) for i in range(10_000)]})
    keys = {**base_visit, "personnel": []}
    for i in range(170_000):
        keys[f"k{i:06d}"] = 0
    stray = orjson.dumps(keys)
    server = Server(args.server_arg)
    try:
        largest = orjson.dumps({**base_visit, "personnel": [_official(i) for i in range(1000)]})
        cases = (("10,000 officials, each with findings", many), ("1,000 officials, each with findings", largest),
                 ("170,000 unknown keys", stray))
        for name, body in cases:
            start = time.perf_counter()
            response = httpx.post(server.base + "/v1/evaluations", content=body, timeout=300,
                                  headers={"content-type": "application/json"})
            elapsed = time.perf_counter() - start
            print(f"answer: {name} ({len(body) / 1e6:.1f} MB): {response.status_code}, "
                  f"{len(response.content) / 1e6:.2f} MB answer in {elapsed:.2f} s")
        print(f"  server peak RSS {server.peak_rss_mb():.0f} MB")
    finally:
        server.stop()
        print("  " + server.log_summary())
        server.remove_log()


PHASES = {"idle": idle, "slow": slow, "lines": lines, "answer": answer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=sorted(PHASES), action="append", help="phases to run (default: all)")
    parser.add_argument("--idle", type=int, default=20_000, help="idle connections (at most 40,000)")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the idle connections are held")
    parser.add_argument("--slow", type=int, default=300, help="slow bodies (at most 2,000)")
    parser.add_argument("--slow-cap", type=float, default=60.0, help="seconds after which a slow body gives up")
    parser.add_argument("--lines", type=int, default=20_000_000, help="lines in the short-line batch")
    parser.add_argument("--server-arg", action="append", default=[], help="extra argument for `compliance serve`")
    parser.add_argument("--server-fds", type=int, default=0, help="the server's fd limit (default: this shell's)")
    args = parser.parse_args()
    args.idle = max(1, min(args.idle, 40_000))
    args.hold = max(1.0, min(args.hold, 120.0))
    args.slow = max(1, min(args.slow, 2_000))
    args.slow_cap = max(1.0, min(args.slow_cap, 120.0))
    args.lines = max(1, min(args.lines, 30_000_000))
    for phase in args.phase or list(PHASES):
        PHASES[phase](args)


if __name__ == "__main__":
    main()
