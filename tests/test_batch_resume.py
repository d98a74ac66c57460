"""Crash safety of `compliance batch`: kill the whole process group with SIGKILL at chosen
moments (reading and partitioning, evaluating with some partitions done, merging) and at
random ones, then `--resume`: every record comes out exactly once, no line is torn, and
results.jsonl and summary.json are byte-identical to an uninterrupted run.

The moment is picked by watching the output directory, as a user would see it; a crash must
never leave a half-written file looking complete.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _batch_support import (
    assert_exactly_once,
    cli_env,
    command,
    manifest,
    pooled_visits,
    read_jsonl,
    run_batch,
    tally,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc"),
]

PARTITIONS = 8
BROKEN = [
    b'{"visit_id": "CRASH-BAD-1", "inspected_at": "2018-06-12T08:00:00+07:00", "unit": {"id": "vp.commune.p001", "level": "commune"}, "personel": []}',
    b'{"visit_id": "CRASH-BAD-2", "inspected_at": "yesterday", "unit": {"id": "vp.district.p002", "level": "district"}}',
    b'{"visit_id": "CRASH-BAD-3", "unit": ',
]


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """About 3000 visits (20 MB) and the outputs of an uninterrupted run."""
    d = tmp_path_factory.mktemp("crash")
    visits = pooled_visits(3000, seed=26, units=60)
    lines = [orjson.dumps(v) for v in visits]
    lines[500:500] = BROKEN[:1]
    lines[1700:1700] = BROKEN[1:2]
    lines.append(BROKEN[2])
    (d / "visits.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    ids = [v["visit_id"] for v in visits] + ["CRASH-BAD-1", "CRASH-BAD-2"]
    proc = run_batch("visits.jsonl", "--out", "baseline", "--workers", "2", cwd=d)
    assert proc.returncode == 0, proc.stderr
    baseline = d / "baseline"
    assert tally(proc.stdout)["partitions"] == PARTITIONS
    assert_exactly_once(baseline, ids, unnamed_errors=1)
    return {"dir": d, "ids": ids, "baseline": baseline, "records": len(lines)}


# --------------------------------------------------------------------------------------------
# Starting, watching and killing a run
# --------------------------------------------------------------------------------------------


def _start(crash: dict[str, Any], out: str, *extra: str, source: str = "visits.jsonl") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command(source, "--out", out, "--workers", "2", *extra),
        cwd=crash["dir"], env=cli_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies do not count)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    if proc.stderr:
        proc.stderr.close()
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _group_alive(proc.pid), "a worker outlived SIGKILL of its process group"


def _kill_when(proc: subprocess.Popen[bytes], moment: Callable[[], bool], timeout: float = 60) -> bool:
    """SIGKILL the whole group as soon as `moment()` holds; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            reached = moment()
        except OSError:  # a directory vanished between two looks
            reached = False
        if reached:
            _kill_group(proc)
            return True
        time.sleep(0.0005)
    _kill_group(proc)
    return False


def _stats(out: Path) -> list[Path]:
    parts = out / ".work" / "parts"
    return sorted(parts.glob("stats-*.json")) if parts.is_dir() else []


def in_pass_1(out: Path) -> Callable[[], bool]:
    def moment() -> bool:
        work = out / ".work"
        if (work / "partition.json").exists() or not (work / "partitions").is_dir():
            return False
        return any(p.stat().st_size > 0 for p in (work / "partitions").glob("part-*.bin"))

    return moment


def in_pass_2(out: Path, low: int, high: int) -> Callable[[], bool]:
    return lambda: low <= len(_stats(out)) <= high


def in_merge(out: Path) -> Callable[[], bool]:
    """Every partition evaluated, the run not yet complete: results.jsonl is being finished
    (its first partitions were joined while pass 2 ran), or errors and the summary written."""

    def moment() -> bool:
        names = os.listdir(out) if out.is_dir() else []
        if "manifest.json" in names:
            return False
        return len(_stats(out)) == PARTITIONS

    return moment


def _kill_at(crash: dict[str, Any], out: str, moment: Callable[[Path], Callable[[], bool]], *extra: str) -> Path:
    """Run until `moment`, then SIGKILL; retried if the run was too quick to catch there."""
    target = crash["dir"] / out
    for _ in range(3):
        proc = _start(crash, out, *extra)
        if _kill_when(proc, moment(target)):
            assert not (target / "manifest.json").exists()
            return target
        shutil.rmtree(target, ignore_errors=True)
    pytest.fail(f"could not catch the run at the chosen moment ({out})")


# --------------------------------------------------------------------------------------------
# What a crash may leave, and what --resume must make of it
# --------------------------------------------------------------------------------------------


def _assert_nothing_half_written_looks_complete(out: Path, baseline: Path) -> None:
    assert not (out / "manifest.json").exists()
    for name in ("results.jsonl", "errors.jsonl", "summary.json"):
        if (out / name).exists():  # final outputs appear whole or not at all
            assert (out / name).read_bytes() == (baseline / name).read_bytes(), name
    for stats_path in _stats(out):
        stats = orjson.loads(stats_path.read_bytes())
        index = stats_path.stem.split("-")[1]
        for kind in ("results", "errors"):
            part = stats_path.parent / f"{kind}-{index}.jsonl"
            data = part.read_bytes()
            lines = data.split(b"\n")
            assert lines[-1] == b"", f"{part.name} ends in a torn line"
            assert len(lines) - 1 == stats["counts"][kind], f"{part.name} is shorter than its stats say"
            for line in lines[:-1]:  # a partition's results are in their final form; errors keyed by input position
                orjson.loads(line if kind == "results" else line.partition(b"\t")[2])
    for part in (out / ".work" / "parts").glob("results-*.jsonl") if (out / ".work" / "parts").is_dir() else []:
        assert part.read_bytes()[-1:] in (b"", b"\n"), f"{part.name} looks complete but is torn"


def _resume(crash: dict[str, Any], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = run_batch("visits.jsonl", "--out", out.name, "--workers", "2", "--resume", *extra, cwd=crash["dir"])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def _assert_finished_like_baseline(crash: dict[str, Any], out: Path, proc: subprocess.CompletedProcess[str]) -> None:
    counts = tally(proc.stdout)
    assert counts["records"] == crash["records"] == counts["results"] + counts["errors"]
    baseline = crash["baseline"]
    for name in ("results.jsonl", "summary.json", "errors.jsonl"):
        assert (out / name).read_bytes() == (baseline / name).read_bytes(), f"{name} differs after --resume"
    assert_exactly_once(out, crash["ids"], unnamed_errors=1)
    m = manifest(out)
    assert m["complete"] is True
    assert m["counts"] == {k: counts[k] for k in ("records", "results", "errors")}
    assert not (out / ".work").exists()
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------------------------
# The kill points
# --------------------------------------------------------------------------------------------

KILL_POINTS = {
    "reading": in_pass_1,
    "evaluating-first-partitions": lambda out: in_pass_2(out, 1, 3),
    "evaluating-last-partitions": lambda out: in_pass_2(out, 5, PARTITIONS - 1),
    "merging": in_merge,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_resume_gives_every_record_once_and_the_same_bytes(crash: dict[str, Any], point: str) -> None:
    out = _kill_at(crash, f"killed-{point}", KILL_POINTS[point])
    _assert_nothing_half_written_looks_complete(out, crash["baseline"])
    extra: tuple[str, ...] = ()
    if point == "evaluating-first-partitions":
        _assert_refused_without_resume(crash, out)
    if point == "evaluating-last-partitions":
        extra = ("--parquet",)  # the partitions done without it are evaluated again for it
    proc = _resume(crash, out, *extra)
    _assert_finished_like_baseline(crash, out, proc)
    if extra:
        pq = pytest.importorskip("pyarrow.parquet")
        findings = sum(len(r["findings"]) for r in read_jsonl(out / "results.jsonl"))
        assert pq.read_metadata(out / "findings.parquet").num_rows == findings


def _assert_refused_without_resume(crash: dict[str, Any], out: Path) -> None:
    """Running again without --resume on an unfinished directory is refused, touching nothing."""
    before = sorted(p.name for p in (out / ".work" / "parts").iterdir())
    proc = run_batch("visits.jsonl", "--out", out.name, cwd=crash["dir"])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "unfinished batch" in proc.stderr and "--resume" in proc.stderr and "--overwrite" in proc.stderr
    assert proc.stdout == ""
    assert sorted(p.name for p in (out / ".work" / "parts").iterdir()) == before


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_a_random_moment_then_resume(crash: dict[str, Any], seed: int) -> None:
    name = f"killed-random-{seed}"
    out = crash["dir"] / name
    proc = _start(crash, name)
    time.sleep(random.Random(seed).uniform(0.3, 2.0))
    _kill_group(proc)
    if out.exists() and not (out / "manifest.json").exists():
        _assert_nothing_half_written_looks_complete(out, crash["baseline"])
    _assert_finished_like_baseline(crash, out, _resume(crash, out))


def test_ctrl_c_stops_with_a_hint_and_resume_finishes(crash: dict[str, Any]) -> None:
    name = "interrupted"
    out = crash["dir"] / name
    proc = _start(crash, name)
    moment = in_pass_2(out, 1, 5)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not moment() and time.monotonic() < deadline:
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = proc.communicate(timeout=60)
    _kill_group(proc)
    assert proc.returncode == 130
    assert f"Run again with --resume --out {name}" in stderr.decode()
    _assert_nothing_half_written_looks_complete(out, crash["baseline"])
    _assert_finished_like_baseline(crash, out, _resume(crash, out))


def test_a_killed_resume_can_itself_be_resumed_and_skips_what_was_done(crash: dict[str, Any]) -> None:
    out = _kill_at(crash, "killed-twice", lambda out: in_pass_2(out, 2, 5))
    done = {p.name: p.stat().st_mtime_ns for p in _stats(out)}
    proc = _start(crash, out.name, "--resume")
    assert _kill_when(proc, in_merge(out)), "the resumed run ended before it could be killed"
    after = {p.name: p.stat().st_mtime_ns for p in _stats(out)}
    assert len(after) == PARTITIONS
    # The partitions finished before the first kill were not evaluated again.
    assert {name: after[name] for name in done} == done
    _assert_nothing_half_written_looks_complete(out, crash["baseline"])
    _assert_finished_like_baseline(crash, out, _resume(crash, out))


# --------------------------------------------------------------------------------------------
# Unfinished and finished output directories
# --------------------------------------------------------------------------------------------


def test_resume_on_a_finished_directory_only_reports_the_tally(crash: dict[str, Any]) -> None:
    baseline = crash["baseline"]
    stamp = {p.name: p.stat().st_mtime_ns for p in baseline.iterdir()}
    proc = run_batch("visits.jsonl", "--out", "baseline", "--resume", cwd=crash["dir"])
    assert proc.returncode == 0, proc.stderr
    counts = tally(proc.stdout)
    assert {k: counts[k] for k in ("records", "results", "errors")} == manifest(baseline)["counts"]
    assert {p.name: p.stat().st_mtime_ns for p in baseline.iterdir()} == stamp
    again = run_batch("visits.jsonl", "--out", "baseline", cwd=crash["dir"])
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr
    (crash["dir"] / "other.jsonl").write_bytes(b"")
    other = run_batch("other.jsonl", "--out", "baseline", "--resume", cwd=crash["dir"])
    assert other.returncode == 2 and "same inputs" in other.stderr and "Traceback" not in other.stderr
    assert {p.name: p.stat().st_mtime_ns for p in baseline.iterdir()} == stamp


def test_resume_after_a_kill_during_the_final_clean_up_removes_the_leftovers(crash: dict[str, Any]) -> None:
    """Killed after manifest.json was written but before the work directory (a copy of the
    whole input) was removed: the run is finished, and --resume tidies up."""
    out = crash["dir"] / "killed-cleaning"
    shutil.copytree(crash["baseline"], out)
    (out / ".work" / "parts").mkdir(parents=True)
    (out / ".work" / "parts" / "stats-0000.json").write_text("{}")
    (out / ".results.jsonl.tmp-999999").write_bytes(b"half a li")
    proc = run_batch("visits.jsonl", "--out", out.name, "--resume", cwd=crash["dir"])
    assert proc.returncode == 0, proc.stderr
    _assert_finished_like_baseline(crash, out, proc)


@pytest.mark.parametrize("change", ["append", "same-size"])
def test_an_input_changed_after_the_kill_is_detected(crash: dict[str, Any], change: str) -> None:
    d = crash["dir"]
    source = f"changing-{change}.jsonl"
    (d / source).write_bytes((d / "visits.jsonl").read_bytes())
    out = f"killed-changed-{change}"
    for _ in range(3):
        proc = _start(crash, out, source=source)
        if _kill_when(proc, in_pass_2(d / out, 1, 6)):
            break
        shutil.rmtree(d / out, ignore_errors=True)
    else:
        pytest.fail("could not catch the run while evaluating")
    path = d / source
    if change == "append":
        with path.open("ab") as handle:
            handle.write(orjson.dumps({"visit_id": "LATE", "inspected_at": "2018-06-12T08:00:00+07:00",
                                       "unit": {"id": "u", "level": "commune"}}) + b"\n")
    else:
        stat = path.stat()
        data = bytearray(path.read_bytes())
        at = data.index(b'"attendance":"present"') + len(b'"attendance":"')
        data[at:at + len(b"present")] = b"absent "
        path.write_bytes(bytes(data))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # size and time as before
    resumed = run_batch(source, "--out", out, "--resume", cwd=d)
    assert resumed.returncode == 2
    assert "Traceback" not in resumed.stderr
    assert source in resumed.stderr and "changed" in resumed.stderr and "--overwrite" in resumed.stderr
    if change != "append":
        return
    # Starting again over the changed input is the way out.
    fresh = run_batch(source, "--out", out, "--overwrite", "--workers", "2", cwd=d)
    assert fresh.returncode == 0, fresh.stderr
    counts = tally(fresh.stdout)
    assert counts["records"] == crash["records"] + (1 if change == "append" else 0)
    assert manifest(d / out)["complete"] is True
