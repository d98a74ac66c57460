"""Batch throughput and memory, as ratios within one run so that machine noise cancels.

    python benchmarks/batch.py                # N = 100,000 visits, and 10 x N for memory
    python benchmarks/batch.py -n 20000 --no-scale

Prints visits/s and peak memory (max RSS of the process doing the work; for the parallel
batch, of the largest worker) for
  (a) reading and parsing the JSONL alone (orjson),
  (b) parsing and validating into the models (pydantic),
  (c) the full batch at 1 worker and at all cores (and on Dask's local cluster),
and the ratios the project targets: (c1)/(b) >= 0.30, (c all)/(c1) >= 1.85 on 2 cores,
Dask/local >= 0.7, and peak memory at 10 x N close to that at N; one digest of the outputs
(results, summary, errors), which every run must share and which stays the same across versions
that did not change the outputs by a byte. Then the cost of each stage per visit, in one process
(the README's performance table).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

MEASURED = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
"""Runs one command and reports the largest resident set among its processes (the command
and its workers), so that each figure is that run's own, not the benchmark's running maximum."""

STAGE = r"""
import resource, sys, time, json
import orjson
from compliance import Engine
model = Engine.load().visit_model
path, stage = sys.argv[1], sys.argv[2]
start = time.perf_counter()
count = 0
with open(path, "rb") as handle:
    if stage == "read":
        for line in handle:
            orjson.loads(line)
            count += 1
    else:
        for line in handle:
            model.model_validate_json(line)
            count += 1
seconds = time.perf_counter() - start
print(json.dumps({"count": count, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


BREAKDOWN = r"""
import gc, itertools, json, sys, tempfile, time
from pathlib import Path
from compliance import Engine, History
from compliance.batch.partition import InputFile, plan_reads, read_into_partitions, unit_bounds
from compliance.batch.summary import SummaryBuilder
from compliance.io import read_path
path, limit = sys.argv[1], int(sys.argv[2])
engine = Engine.load()
records = list(itertools.islice(read_path(path), limit))
clock = time.perf_counter
spent = dict.fromkeys(("validate", "evaluate", "serialise", "history", "summary"), 0.0)
start = clock()
for record in records:
    engine.parse_record(record)
spent["validate"] = clock() - start
# Kept for sorting by unit and date as pass 2 does; frozen, so that the collector does not
# rescan thousands of live visits, which the streaming batch never holds.
gc.disable()
visits = sorted((engine.parse_record(r) for r in records), key=lambda v: (v.unit.id, v.inspected_at))
gc.freeze()
gc.enable()
summary = SummaryBuilder(engine.catalogue.level_periods)
for _, group in itertools.groupby(visits, key=lambda v: v.unit.id):
    history, evaluations = History(), []
    for visit in group:
        t0 = clock()
        evaluation = engine.evaluate_data(visit, history=history)
        t1 = clock()
        evaluation.to_json()
        t2 = clock()
        history.add_evaluation(evaluation)
        spent["history"] += clock() - t2
        spent["serialise"] += t2 - t1
        spent["evaluate"] += t1 - t0
        evaluations.append(evaluation)
    t0 = clock()
    summary.add_unit(evaluations)
    spent["summary"] += clock() - t0
with tempfile.TemporaryDirectory() as work:
    sample = Path(work) / "sample.jsonl"
    with open(path, "rb") as source, open(sample, "wb") as out:
        out.writelines(itertools.islice(source, limit))
    info = InputFile(0, str(sample), sample.stat().st_size, 0, "")
    t0 = clock()
    (task,) = plan_reads([info], Path(work) / "partitions", unit_bounds([info], 8), 1)
    read_into_partitions(task)
    spent["pass 1 (partition)"] = clock() - t0
print(json.dumps({"count": len(visits), "checks": [c.check.id for c in engine.checks],
                  "us": {k: v / len(visits) * 1e6 for k, v in spent.items()}}))
"""
"""Per-visit cost of each stage of the batch, in one process, on the first visits of the input
(up to 20,000): where the time of the full batch goes."""


def generate(path: Path, count: int, seed: int) -> None:
    with path.open("wb") as out:
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(count), "--seed", str(seed)], stdout=out, check=True)


def stage(path: Path, name: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", STAGE, str(path), name], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def batch(path: Path, workers: int, engine: str = "local") -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    try:
        command = [sys.executable, "-m", "compliance", "batch", str(path), "--out", str(out), "--quiet",
                   "--workers", str(workers), "--engine", engine]
        done = subprocess.run([sys.executable, "-c", MEASURED, *command], check=True, capture_output=True, text=True)
        figures = json.loads(done.stdout)
        count = json.loads((out / "manifest.json").read_text())["counts"]["records"]
        return {"count": count, **figures, "digests": outputs_digest(out)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def outputs_digest(out: Path) -> str:
    """One digest of results.jsonl, summary.json and errors.jsonl: equal for every engine and
    number of workers, and equal to an earlier version's for the same inputs and rules when the
    outputs did not change by a byte."""
    digest = hashlib.sha256()
    for name in ("results.jsonl", "summary.json", "errors.jsonl"):
        with (out / name).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()[:16]


def breakdown(path: Path, limit: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", BREAKDOWN, str(path), str(limit)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def line(label: str, figures: dict[str, float]) -> float:
    rate = figures["count"] / figures["seconds"]
    print(f"  {label:<34} {rate:>10,.0f} visits/s   peak {figures['peak_mb']:>7,.0f} MB")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000, help="visits (default 100,000)")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--no-scale", action="store_true", help="skip the 10 x N memory run")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        data = work / "visits.jsonl"
        generate(data, args.n, args.seed)
        size = data.stat().st_size
        print(f"N = {args.n:,} visits, {size / args.n / 1024:.1f} KB of JSON per visit, {cores} cores")
        read = line("(a) read + parse JSON", stage(data, "read"))
        validate = line("(b) parse + validate (models)", stage(data, "validate"))
        # The first run that writes gigabytes pays for fresh page-cache memory (slow on a new
        # virtual machine), which would favour whichever run comes later: warm up first.
        batch(data, 1)
        one_figures = batch(data, 1)
        one = line("(c) full batch, 1 worker", one_figures)
        figures = batch(data, cores)
        many = line(f"(c) full batch, {cores} workers", figures)
        dask_figures = None if args.no_dask else batch(data, cores, "dask")
        dask = None if dask_figures is None else line(f"(c) full batch, Dask local x{cores}", dask_figures)
        runs = [one_figures, figures] if dask_figures is None else [one_figures, figures, dask_figures]
        digests = {run["digests"] for run in runs}
        print(f"outputs (results, summary, errors): {', '.join(sorted(digests))}"
              f" {'the same bytes from every run' if len(digests) == 1 else 'DIFFER between runs'}")
        print("ratios")
        print(f"  batch 1 worker / validate           {one / validate:5.2f}   (target >= 0.30)")
        print(f"  batch {cores} workers / 1 worker          {many / one:5.2f}   (target >= 1.85 on 2 cores)")
        if dask:
            print(f"  Dask / local engine                 {dask / many:5.2f}   (target >= 0.7)")
        print(f"  read / validate                     {read / validate:5.2f}")
        parts = breakdown(data, min(args.n, 20_000))
        print(f"per-visit cost by stage, one process, first {parts['count']:,} visits (checks: {', '.join(parts['checks'])})")
        for name, micros in parts["us"].items():
            print(f"  {name:<34} {micros:8.1f} µs")
        rest = 1e6 / one - sum(parts["us"].values())
        print(f"  {'rest of the 1-worker batch':<34} {rest:8.1f} µs   (start-up, pass 2 reading and bookkeeping, merge)")
        print(f"  {'whole 1-worker batch':<34} {1e6 / one:8.1f} µs")
        if not args.no_scale:
            big = work / "visits-10x.jsonl"
            generate(big, args.n * 10, args.seed + 1)
            data.unlink()
            scaled = batch(big, cores)
            line(f"(c) full batch 10 x N, {cores} workers", scaled)
            print(f"  peak memory 10 x N / N              {scaled['peak_mb'] / figures['peak_mb']:5.2f}   (target ~1.0, < 300 MB per worker)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
