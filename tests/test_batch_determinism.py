"""The same input gives byte-identical results.jsonl and summary.json with one worker, several
workers and the Dask engine (a real LocalCluster with worker processes on 127.0.0.1, started
by the command), and in any input order: results are sorted by unit then date, and each
unit's history is built in date order, not input order.
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _batch_support import (
    assert_exactly_once,
    manifest,
    pooled_visits,
    read_jsonl,
    run_batch,
    tally,
)

pytest.importorskip("dask.distributed")

BROKEN_LINES = [
    b'{"visit_id": "BROKEN-1", "inspected_at": "2018-06-12T08:0',
    b'{"visit_id": "BROKEN-2", "inspected_at": "2018-06-12T08:00:00+07:00", "unit": {"id": "vp.commune.p001", "level": "commune"}, "staff": []}',
    b'{"visit_id": "BROKEN-3", "inspected_at": "2018-13-01T08:00:00+07:00", "unit": {"id": "vp.commune.p002", "level": "commune"}}',
    b"\xc3\x28\xa0\xa1 not utf-8",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("determinism")
    # 600 visits over 60 units: most units are visited several times, so histories are long.
    visits = pooled_visits(600, seed=2018, units=12)
    lines = [orjson.dumps(v) for v in visits]
    ordered = lines[:100] + BROKEN_LINES[:2] + lines[100:400] + BROKEN_LINES[2:] + lines[400:]
    shuffled = list(ordered)
    random.Random(7).shuffle(shuffled)
    (d / "ordered.jsonl").write_bytes(b"\n".join(ordered) + b"\n")
    (d / "shuffled.jsonl").write_bytes(b"\n".join(shuffled) + b"\n")
    ids = [v["visit_id"] for v in visits] + ["BROKEN-1", "BROKEN-2", "BROKEN-3"]
    return {"dir": d, "ids": ids}


def _run(inputs: dict[str, Any], name: str, source: str, *options: str) -> Path:
    d = inputs["dir"]
    proc = run_batch(source, "--out", name, *options, cwd=d, timeout=180)
    assert proc.returncode == 0, proc.stderr
    counts = tally(proc.stdout)
    assert counts["records"] == 604 and counts["errors"] == 4
    out = d / name
    # BROKEN-1's id cannot be read (truncated JSON), and neither can the garbage line's.
    ids = [i for i in inputs["ids"] if i != "BROKEN-1"]
    assert_exactly_once(out, ids, unnamed_errors=2)
    return out


@pytest.fixture(scope="module")
def reference(inputs: dict[str, Any]) -> Path:
    return _run(inputs, "one-worker", "ordered.jsonl", "--workers", "1")


def _same(a: Path, b: Path, names: tuple[str, ...] = ("results.jsonl", "summary.json", "errors.jsonl")) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between {a.name} and {b.name}"


def test_reference_run_is_sorted_by_unit_then_time_and_has_repeats(reference: Path) -> None:
    results = read_jsonl(reference / "results.jsonl")
    keys = [(r["unit_id"], r["inspected_at"]) for r in results]
    units = [k[0] for k in keys]
    assert units == sorted(units, key=lambda u: orjson.dumps(u))
    from datetime import datetime

    for (u1, t1), (u2, t2) in itertools.pairwise(keys):
        if u1 == u2:
            assert datetime.fromisoformat(t1) <= datetime.fromisoformat(t2)
    assert sum(1 for r in results for f in r["findings"] if f["repeat_of"]) > 50
    assert sum(1 for r in results for s in r["sanctions"] if s["escalated_by"]) > 50
    summary = orjson.loads((reference / "summary.json").read_bytes())
    assert summary["visits"] == 600 and summary["errors"] == 4


def test_two_workers_give_identical_bytes(inputs: dict[str, Any], reference: Path) -> None:
    _same(reference, _run(inputs, "two-workers", "ordered.jsonl", "--workers", "2"))


def test_dask_engine_on_a_local_cluster_gives_identical_bytes(inputs: dict[str, Any], reference: Path) -> None:
    out = _run(inputs, "dask", "ordered.jsonl", "--engine", "dask", "--workers", "2")
    _same(reference, out)
    assert manifest(out)["engine"] == "dask"


def test_dask_engine_on_a_cluster_given_by_address(inputs: dict[str, Any], reference: Path) -> None:
    """A scheduler started elsewhere: its workers do not share the command's working directory,
    so a relative --out must still reach them (as an absolute path on a shared filesystem)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        # --scheduler alone: naming a scheduler means running on it.
        out = _run(inputs, "dask-address", "ordered.jsonl", "--scheduler", cluster.scheduler_address)
    _same(reference, out)
    assert manifest(out)["engine"] == "dask"


def test_shuffled_input_gives_identical_results_and_summary(inputs: dict[str, Any], reference: Path) -> None:
    out = _run(inputs, "shuffled", "shuffled.jsonl", "--workers", "2")
    _same(reference, out, ("results.jsonl", "summary.json"))
    # The errors are the same records, reported at their lines in the shuffled file.
    assert sorted(str(e["visit_id"]) for e in read_jsonl(out / "errors.jsonl")) == sorted(
        str(e["visit_id"]) for e in read_jsonl(reference / "errors.jsonl")
    )


def test_the_number_of_partitions_does_not_change_the_results(inputs: dict[str, Any], reference: Path) -> None:
    # The partition count comes from the input size, and a resumed run keeps its own: the
    # results must not depend on it.
    _same(reference, _run(inputs, "three-partitions", "ordered.jsonl", "--workers", "1", "--partitions", "3"))


def test_a_jsonl_file_read_in_pieces_by_several_workers_gives_identical_bytes(
    inputs: dict[str, Any], reference: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large JSONL inputs are cut at line boundaries and read by the workers in parallel: each
    record keeps its line number, and nothing downstream can tell how the file was shared out."""
    from compliance.batch import partition, runner

    monkeypatch.setattr(partition, "MIN_PIECE_BYTES", 16 * 1024)  # this small input becomes several pieces
    planned: list[list[partition.ReadTask]] = []

    def plan(*args: Any, **kwargs: Any) -> list[partition.ReadTask]:
        planned.append(partition.plan_reads(*args, **kwargs))
        return planned[-1]

    monkeypatch.setattr(runner, "plan_reads", plan)
    monkeypatch.chdir(inputs["dir"])
    outcome = runner.run(["ordered.jsonl"], inputs["dir"] / "pieces", runner.Options(workers=2))
    assert outcome.complete and outcome.records == 604
    (tasks,) = planned
    spans = sorted(s.span for t in tasks for s in t.segments if s.span)
    assert len(tasks) == 4 and len(spans) >= 4
    assert spans[0][0] == 0 and spans[0][2] == 1 and spans[-1][1] == (inputs["dir"] / "ordered.jsonl").stat().st_size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), "pieces must tile the file"
    assert all(b[2] > a[2] for a, b in itertools.pairwise(spans)), "each piece starts at a later line"
    _same(reference, inputs["dir"] / "pieces")
