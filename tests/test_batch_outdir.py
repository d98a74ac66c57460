"""The output directory belongs to one run at a time, and the run writes and deletes only what
it made there: never another run's files, an input, or what a symbolic link points at."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from _batch_support import assert_exactly_once, cli_env, command, manifest, pooled_visits, run_batch, write_jsonl

from compliance.batch.lock import LOCK, locked


@pytest.fixture(scope="module")
def visits() -> list[dict[str, Any]]:
    return pooled_visits(300, seed=5, units=40)


# ------------------------------------------------------------------ one run at a time


def test_a_second_run_is_refused_naming_the_run_that_holds_the_directory(tmp_path: Path, visits: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", visits)
    first = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    with locked(tmp_path / "out"):  # as a run in progress holds it
        for lang, words in (("en", "is in use by another batch run"), ("vi", "đang được một lần chạy batch khác sử dụng")):
            second = run_batch("in.jsonl", "--out", "out", "--overwrite", "--workers", "1", "--lang", lang, cwd=tmp_path)
            assert second.returncode == 2 and second.stdout == ""
            (line,) = second.stderr.splitlines()
            assert words in line and f" {os.getpid()} " in line and socket.gethostname() in line
        after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.name != LOCK}
    assert after == before  # nothing replaced, deleted or started
    assert not (tmp_path / "out" / LOCK).exists()


def test_runs_started_together_never_leave_a_complete_manifest_over_wrong_outputs(
    tmp_path: Path, visits: list[dict[str, Any]]
) -> None:
    write_jsonl(tmp_path / "in.jsonl", visits)
    for attempt in range(3):
        both = [subprocess.Popen(command("in.jsonl", "--out", "out", "--overwrite", "--workers", "1", "--quiet"), cwd=tmp_path,
                                 env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in both]  # type: ignore[union-attr]
        codes = sorted(code for code, _ in outcomes)
        assert codes in ([0, 0], [0, 2]), outcomes
        for code, stderr in outcomes:
            assert code == 0 or "is in use by another batch run" in stderr, stderr
        assert manifest(tmp_path / "out")["counts"] == {"records": len(visits), "results": len(visits), "errors": 0}
        assert_exactly_once(tmp_path / "out", [v["visit_id"] for v in visits])
        assert not (tmp_path / "out" / LOCK).exists(), attempt


def test_a_killed_run_does_not_hold_the_directory(tmp_path: Path, visits: list[dict[str, Any]]) -> None:
    """The kernel releases the lock of a process that dies: --resume finishes the run, and a
    lock file the killed run left behind (which only says who held it) is no obstacle."""
    write_jsonl(tmp_path / "in.jsonl", visits * 20)
    run = subprocess.Popen(command("in.jsonl", "--out", "out", "--workers", "1", "--quiet"), cwd=tmp_path, env=cli_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "out" / ".work" / "partition.json").exists():
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert json.loads((tmp_path / "out" / LOCK).read_text())["pid"] == run.pid
    resumed = run_batch("in.jsonl", "--out", "out", "--resume", "--workers", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert manifest(tmp_path / "out")["complete"] is True
    assert not (tmp_path / "out" / LOCK).exists()


def test_a_run_that_cannot_start_leaves_no_directory(tmp_path: Path) -> None:
    done = run_batch("missing.jsonl", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and not (tmp_path / "out").exists()


# ------------------------------------------------------------------ only what it made


def test_overwrite_refuses_an_input_that_is_one_of_its_outputs(tmp_path: Path, visits: list[dict[str, Any]]) -> None:
    data = tmp_path / "d"
    data.mkdir()
    write_jsonl(data / "results.jsonl", visits[:5])
    kept = (data / "results.jsonl").read_bytes()
    for args in (["d/results.jsonl", "--out", "d", "--overwrite"], ["d/results.jsonl", "--out", "d"]):
        done = run_batch(*args, "--workers", "1", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            "Error: d/results.jsonl: this input is the file results.jsonl the batch writes in d; "
            "choose another --out, or the input would be deleted"
        ]
        assert (data / "results.jsonl").read_bytes() == kept and sorted(p.name for p in data.iterdir()) == ["results.jsonl"]
    # reached through another name (a link), or lying in the work directory
    (tmp_path / "alias.jsonl").symlink_to(data / "results.jsonl")
    assert run_batch("alias.jsonl", "--out", "d", "--overwrite", cwd=tmp_path).returncode == 2
    (data / ".work").mkdir()
    write_jsonl(data / ".work" / "in.jsonl", visits[:5])
    done = run_batch("d/.work/in.jsonl", "--out", "d", "--overwrite", cwd=tmp_path)
    assert done.returncode == 2 and (data / ".work" / "in.jsonl").exists()
    assert (data / "results.jsonl").read_bytes() == kept


@pytest.mark.parametrize(("link", "flags"), [
    (".work", ["--resume"]), (".work", ["--overwrite"]), (".work/parts", ["--resume"]), ("results.jsonl", ["--overwrite"]),
    ("manifest.json", ["--overwrite"]), (LOCK, []),
])
def test_a_symbolic_link_in_the_output_directory_is_refused_and_its_target_untouched(
    tmp_path: Path, visits: list[dict[str, Any]], link: str, flags: list[str]
) -> None:
    write_jsonl(tmp_path / "in.jsonl", visits[:20])
    victim = tmp_path / "victim"
    (victim / "partitions").mkdir(parents=True)
    (victim / ".x.tmp-1").write_text("precious")
    (victim / "partitions" / "precious.txt").write_text("precious")
    out = tmp_path / "out"
    (out / ".work").mkdir(parents=True)
    if link == ".work":
        (out / ".work").rmdir()
    (out / link).symlink_to(victim if link.startswith(".work") else victim / ".x.tmp-1")
    before = sorted(str(p.relative_to(victim)) for p in victim.rglob("*"))
    done = run_batch("in.jsonl", "--out", "out", "--workers", "1", *flags, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "is a symbolic link" in done.stderr and link.split("/")[-1] in done.stderr and "Traceback" not in done.stderr
    assert sorted(str(p.relative_to(victim)) for p in victim.rglob("*")) == before
    assert (victim / ".x.tmp-1").read_text() == "precious"


def test_the_driver_holds_the_directory_while_dask_workers_write_in_it(
    tmp_path: Path, visits: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dask workers write partition files under --out; the lock is the driver's, held from
    before pass 1 to after the manifest, so no other run can start while they write."""
    pytest.importorskip("dask.distributed")
    import fcntl

    from compliance.batch import runner

    write_jsonl(tmp_path / "in.jsonl", visits[:40])
    out = tmp_path / "out"
    seen: list[str] = []

    def held(phase: str) -> None:
        fd = os.open(out / LOCK, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        seen.append(phase)

    evaluate, read_inputs = runner._evaluate, runner._read_inputs

    def evaluating(tasks: Any, executor: Any) -> Any:
        assert isinstance(executor, runner.executors.DaskCluster)
        held("evaluate")
        yield from evaluate(tasks, executor)
        held("evaluated")

    def reading(*args: Any) -> Any:
        held("read")
        return read_inputs(*args)

    monkeypatch.setattr(runner, "_evaluate", evaluating)
    monkeypatch.setattr(runner, "_read_inputs", reading)
    outcome = runner.run([str(tmp_path / "in.jsonl")], out, runner.Options(engine="dask", workers=2))
    assert outcome.complete and seen[:3] == ["read", "evaluate", "evaluated"]
    assert not (out / LOCK).exists()
