"""What validating a visit costs with the visit format composed from the installed checks,
against the single hand-written model the project had before checks declared their own
observations (read from git history, at REVISION).

    python benchmarks/visit_format.py [--visits 20000] [--revision 8c551cb]

Both models validate the same generated visits (benchmarks/generate.py), from JSON bytes as
the batch does; the figures are µs per visit, best and median of five rounds.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import visits  # noqa: E402

from compliance import Engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def old_model(revision: str) -> Any:
    """The visit model at `revision`, loaded from git as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/compliance/visit.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("visit_before", handle.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["visit_before"] = module
    spec.loader.exec_module(module)
    return module.Visit


def timed(model: Any, lines: list[bytes], context: Any = None) -> tuple[float, float]:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for line in lines:
            model.model_validate_json(line, context=context)
        rounds.append((time.perf_counter() - start) / len(lines))
    return min(rounds) * 1e6, statistics.median(rounds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--revision", default="8c551cb", help="the commit whose hand-written model to compare with")
    args = parser.parse_args()
    import orjson

    lines = [orjson.dumps(v) for v in visits(args.visits, seed=11)]
    engine = Engine.load()
    before = old_model(args.revision)
    for line in lines[:100]:  # the same visits are valid for both
        before.model_validate_json(line)
        engine.visit_model.model_validate_json(line)
    figures = {
        f"hand-written model ({args.revision})": timed(before, lines),
        "composed model, no context": timed(engine.visit_model, lines),
        "composed model, engine's context (arrival checked against the calendar)": timed(
            engine.visit_model, lines, engine.parse_context
        ),
    }
    checks = ", ".join(i.check.id for i in engine.checks)
    print(f"{len(lines)} generated visits; checks installed: {checks}")
    for name, (best, median) in figures.items():
        print(f"  {name:75s} best {best:6.1f} µs   median {median:6.1f} µs per visit")


if __name__ == "__main__":
    main()
