"""What routing a visit to its province's ruleset costs, per visit (the catalogue's lookup by
province and local date, and the check that its unit level still exists on that date).

    python benchmarks/routing.py [--visits 20000]

Figures are µs per visit, best and median of five rounds, over generated visits
(benchmarks/generate.py: Vĩnh Phúc before 2025-07-01, Phú Thọ after), and the whole parse
(validation plus routing) for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import visits  # noqa: E402

from compliance import Engine  # noqa: E402


def timed(step: object, items: list[object]) -> tuple[float, float]:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for item in items:
            step(item)  # type: ignore[operator]
        rounds.append((time.perf_counter() - start) / len(items))
    return min(rounds) * 1e6, statistics.median(rounds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=20_000)
    args = parser.parse_args()
    engine = Engine.load()
    lines = [orjson.dumps(v) for v in visits(args.visits, seed=7)]
    parsed = [engine.visit_format.parse(line, context=engine.parse_context) for line in lines]
    used: dict[str, int] = {}
    for visit in parsed:
        name = engine.ruleset_for(visit).name
        used[name] = used.get(name, 0) + 1
    route = engine._route  # noqa: SLF001 - the step measured alone
    figures = {
        "route (province, local date, unit level)": timed(route, parsed),
        "parse, without routing": timed(lambda line: engine.visit_format.parse(line, context=engine.parse_context), lines),
        "parse, with routing (Engine.parse_visit)": timed(engine.parse_visit, lines),
    }
    print(f"{len(lines)} generated visits; rulesets: {', '.join(f'{k} {v}' for k, v in sorted(used.items()))}")
    for name, (best, median) in figures.items():
        print(f"  {name:45s} best {best:7.2f} µs   median {median:7.2f} µs per visit")


if __name__ == "__main__":
    main()
