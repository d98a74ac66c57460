"""Benchmark the HTTP service and the in-process engine on single-visit evaluation.

    python benchmarks/service.py                      # 1 and N=min(cpus, 4) workers
    python benchmarks/service.py --workers 2 --requests 2000 --concurrency 8,16,32

Prints, for `compliance serve` on 127.0.0.1 at 1 and N uvicorn workers and for each number of
concurrent clients (default 8, 16 and 32), the requests/s and p50/p99 latency of
`POST /v1/evaluations` under an async httpx client, and the in-process
evaluations/s of one thread. The script starts and stops its own servers (127.0.0.1 only, a
free port) and every phase is bounded in request count and in time. The client runs on the
same machine, so it takes CPU from the server: figures are a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import visits as generate_visits  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def in_process(bodies: list[bytes], max_evaluations: int, max_seconds: float) -> dict[str, Any]:
    from compliance import Engine

    engine = Engine.load()
    for body in bodies[:20]:  # warm caches, as a long-running service would be
        engine.evaluate(body)
    count = 0
    start = time.perf_counter()
    deadline = start + max_seconds
    while count < max_evaluations and time.perf_counter() < deadline:
        engine.evaluate(bodies[count % len(bodies)])
        count += 1
    elapsed = time.perf_counter() - start
    return {"evaluations": count, "seconds": elapsed, "per_second": count / elapsed}


class Server:
    """`compliance serve` in a subprocess on 127.0.0.1; always stopped by `stop`."""

    def __init__(self, workers: int, extra: list[str] = [], startup_timeout: float = 90):  # noqa: B006
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = tempfile.TemporaryFile()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLIANCE_TOKEN")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from compliance.cli import main; main()", "serve",
             "--host", HOST, "--port", str(self.port), "--workers", str(workers), "--log-level", "warning", *extra],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env,
        )
        self.wait_ready(startup_timeout)

    def wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("server did not become ready:\n" + self.log.read().decode(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def load(base: str, bodies: list[bytes], requests: int, concurrency: int, max_seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as client:
        # warm-up: every worker process gets a few requests before timing starts
        await asyncio.gather(*(client.post("/v1/evaluations", content=bodies[i % len(bodies)]) for i in range(concurrency * 2)))
        start = time.perf_counter()
        deadline = start + max_seconds

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < requests and time.perf_counter() < deadline:
                body = bodies[next_index % len(bodies)]
                next_index += 1
                sent = time.perf_counter()
                response = await client.post("/v1/evaluations", content=body)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed if elapsed else float("nan"),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def batch(base: str, bodies: list[bytes], lines: int) -> dict[str, Any]:
    """One NDJSON batch of `lines` visits: visits/s through the streaming endpoint."""
    import httpx

    payload = b"\n".join(bodies[i % len(bodies)] for i in range(lines))
    start = time.perf_counter()
    response = httpx.post(base + "/v1/evaluations/batch", content=payload, timeout=300,
                          headers={"content-type": "application/x-ndjson"})
    elapsed = time.perf_counter() - start
    answered = len(response.content.splitlines()) if response.status_code == 200 else 0
    return {"visits": answered, "seconds": elapsed, "per_second": answered / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=max(2, min(os.cpu_count() or 2, 4)),
                        help="N for the multi-worker run (default: CPUs, 2..4)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per server run (at most)")
    parser.add_argument("--concurrency", default="8,16,32", help="concurrent client connections, comma-separated")
    parser.add_argument("--server-arg", action="append", default=[], help="extra argument for `compliance serve`")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time limit of each timed phase")
    parser.add_argument("--distinct", type=int, default=200, help="distinct generated visits to cycle through")
    parser.add_argument("--seed", type=int, default=2018)
    args = parser.parse_args()
    requests = max(1, min(args.requests, 100_000))
    levels = [max(1, min(int(c), 256)) for c in args.concurrency.split(",") if c.strip()]
    max_seconds = max(1.0, min(args.max_seconds, 300.0))
    workers = max(1, min(args.workers, 16))

    bodies = [orjson.dumps(v) for v in generate_visits(max(1, min(args.distinct, 10_000)), args.seed)]
    size = statistics.fmean(len(b) for b in bodies)
    print(f"visits: {len(bodies)} distinct, {size / 1024:.1f} KiB on average; CPUs: {os.cpu_count()}")

    local = in_process(bodies, max_evaluations=max(requests, 5000), max_seconds=max_seconds)
    print(f"in-process (1 thread): {local['per_second']:8.0f} evaluations/s  ({local['evaluations']} in {local['seconds']:.2f} s)")

    print(f"HTTP POST /v1/evaluations, async httpx client, up to {requests} requests per row:")
    print(f"{'workers':>8} {'clients':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'requests':>9} {'errors':>7}")
    batches = []
    for count in dict.fromkeys([1, workers]):
        server = Server(count, args.server_arg)
        try:
            for concurrency in levels:
                stats = asyncio.run(load(server.base, bodies, requests, concurrency, max_seconds))
                print(f"{count:>8} {concurrency:>8} {stats['per_second']:>9.0f} {stats['p50_ms']:>8.1f} "
                      f"{stats['p99_ms']:>8.1f} {stats['mean_ms']:>8.1f} {stats['requests']:>9} {stats['errors']:>7}")
            batches.append((count, batch(server.base, bodies, min(requests, 5000))))
        finally:
            server.stop()
    for count, result in batches:
        print(f"batch (NDJSON, one request, {count} worker(s)): {result['per_second']:8.0f} visits/s "
              f"({result['visits']} in {result['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
