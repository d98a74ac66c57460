"""How long evaluating the example visit takes in-process (parse once, evaluate many times),
on the embedders' typed path (`Engine.evaluate`, a `Result`) and on the lean path
(`Engine.evaluate_data`, the contract's JSON as the batch writes it).

    python benchmarks/evaluate_example.py [--repeat 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

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
    result = engine.evaluate(visit)
    print(f"engine load (checks + ruleset): {loaded * 1000:.0f} ms")
    print(f"example visit: {len(result.findings)} findings, {len(result.sanctions)} sanctions")
    for label, evaluate in (
        ("evaluate → Result", lambda: engine.evaluate(visit)),
        ("evaluate → Result → JSON", lambda: engine.evaluate(visit).to_json()),
        ("evaluate_data → JSON", lambda: engine.evaluate_data(visit).to_json()),
    ):
        best, median = timed(evaluate, args.repeat)
        print(f"{label:<25} best {best * 1e6:.1f} µs, median {median * 1e6:.1f} µs per visit ({1 / median:,.0f} visits/s)")


def timed(evaluate: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best and median of five rounds, after one call that warms the caches."""
    evaluate()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat // 5):
            evaluate()
        rounds.append((time.perf_counter() - start) / (repeat // 5))
    return min(rounds), statistics.median(rounds)


if __name__ == "__main__":
    main()
