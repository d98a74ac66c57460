"""Shared helpers of the `compliance batch` tests (tests/test_batch*.py).

The command is run the way a user runs it: as a separate process, with its exit code, its
stdout and its stderr, so that what is asserted is what a user sees.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from _generated import generated_visits

ROOT = Path(__file__).resolve().parent.parent

# The console script, run by this very interpreter (so whichever environment runs the tests).
COMMAND = [sys.executable, "-c", "import sys; from compliance.cli import main; sys.exit(main())"]

TALLY = re.compile(
    r"^(?P<records>\d+) records: (?P<results>\d+) results, (?P<errors>\d+) errors; "
    r"(?P<partitions>\d+) partitions; [0-9.]+s → (?P<out>.+)$"
)


# Settings of the environment that would change what is asserted: the language, the ruleset,
# and rich's terminal detection.
_UNSET = ("COMPLIANCE_LANG", "COMPLIANCE_RULES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env.update(extra)
    return env


def command(*args: Any) -> list[str]:
    return [*COMMAND, "batch", *(str(a) for a in args)]


def run_batch(*args: Any, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """`compliance batch ARGS...` to completion; stdout and stderr captured (not a TTY)."""
    return subprocess.run(
        command(*args), cwd=cwd, env=cli_env(**env), capture_output=True, text=True, timeout=timeout, check=False
    )


def tally(stdout: str) -> dict[str, Any]:
    """The one-line tally, parsed; fails unless stdout holds exactly that line."""
    lines = stdout.splitlines()
    assert len(lines) == 1, f"stdout must be the tally alone, got: {stdout!r}"
    match = TALLY.match(lines[0])
    assert match, f"not a tally: {lines[0]!r}"
    out = {k: int(v) for k, v in match.groupdict().items() if k != "out"}
    out["out"] = match["out"]
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL output, parsed: a torn or partial line fails the test."""
    data = path.read_bytes()
    if not data:
        return []
    assert data.endswith(b"\n"), f"{path.name} does not end with a newline (torn last line?)"
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]]


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def pooled_visits(count: int, seed: int, units: int) -> list[dict[str, Any]]:
    """Generated visits spread over only `units` units, so that units and their officials are
    visited again and again and the history (repeats, escalation) is exercised."""
    rng = random.Random(seed)
    out = []
    for v in generated_visits(count, seed=seed):
        level = v["unit"]["level"]
        unit_id = f"vp.{level}.p{rng.randrange(units):03d}"
        v["unit"]["id"] = unit_id
        v["unit"]["name"] = f"Đơn vị {unit_id}"
        for i, official in enumerate(v["personnel"]):
            official["id"] = f"{unit_id}-{i:03d}"
        out.append(v)
    return out


def assert_exactly_once(out: Path, expected_ids: Sequence[str], unnamed_errors: int = 0) -> None:
    """Every input visit id appears once across results.jsonl and errors.jsonl, nothing else."""
    results = read_jsonl(out / "results.jsonl")
    errors = read_jsonl(out / "errors.jsonl")
    seen = Counter(r["visit_id"] for r in results) + Counter(e["visit_id"] for e in errors if e["visit_id"])
    duplicates = {k: n for k, n in seen.items() if n > 1}
    assert not duplicates, f"visits reported more than once: {sorted(duplicates)[:10]}"
    assert set(seen) == set(expected_ids), (
        f"missing: {sorted(set(expected_ids) - set(seen))[:10]}, unexpected: {sorted(set(seen) - set(expected_ids))[:10]}"
    )
    assert sum(1 for e in errors if not e["visit_id"]) == unnamed_errors


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((out / "manifest.json").read_bytes())
    return data


def report_then_wait(task: tuple[int, int]) -> int:
    """A pool task that reports progress, then runs a while (for the executor's progress test)."""
    import time

    from compliance.batch import executors

    slot, done = task
    executors.report(slot, done, 1)
    time.sleep(2.5)
    return slot
