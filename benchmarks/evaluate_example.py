"""How long evaluating the example visit takes in-process (parse once, evaluate many times).

    python benchmarks/evaluate_example.py [--repeat 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from compliance import Engine
from compliance.io import read_path

EXAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "visit.example.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20_000)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = Engine.load()
    loaded = time.perf_counter() - started
    visit = engine.parse_record(next(read_path(EXAMPLE)))
    engine.evaluate(visit)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(args.repeat // 5):
            engine.evaluate(visit)
        rounds.append((time.perf_counter() - start) / (args.repeat // 5))
    best, median = min(rounds), statistics.median(rounds)
    result = engine.evaluate(visit)
    print(f"engine load (checks + ruleset): {loaded * 1000:.0f} ms")
    print(f"example visit: {len(result.findings)} findings, {len(result.sanctions)} sanctions")
    print(f"evaluate: best {best * 1e6:.1f} µs, median {median * 1e6:.1f} µs per visit ({1 / median:,.0f} visits/s)")


if __name__ == "__main__":
    main()
