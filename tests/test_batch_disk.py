"""A full disk stops a batch with a clear error and nothing that looks complete; once space is
freed, --resume finishes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = ROOT / "fixtures" / "campaign-2018.jsonl"


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to mount a small tmpfs (as root): {done.stderr.decode()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _batch(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance", "batch", str(CAMPAIGN), "--out", str(out), "--quiet", "--workers", "1", *extra],
        capture_output=True, text=True, timeout=300,
    )


def test_full_disk_is_a_clear_error_then_resume_finishes(small_disk: Path) -> None:
    out = small_disk / "out"
    failed = _batch(out)
    assert failed.returncode == 2
    assert "No space left" in failed.stderr and "Traceback" not in failed.stderr
    assert not (out / "manifest.json").exists() and not (out / "results.jsonl").exists()
    # A write that failed leaves no temporary file to keep the disk full (closing it flushed
    # what was buffered, which failed again and used to skip the removal).
    assert not [p.name for p in out.rglob(".*.tmp-*")]

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    resumed = _batch(out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    results = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(results) == 100 and all(json.loads(line)["visit_id"] for line in results)
    assert json.loads((out / "manifest.json").read_text())["counts"] == {"records": 100, "results": 100, "errors": 0}


def _cli(*args: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compliance", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=300)


def test_a_full_disk_under_a_report_or_a_redirected_output_is_one_line_exit_2(small_disk: Path, tmp_path: Path) -> None:
    done = _batch(tmp_path / "out")
    assert done.returncode == 0, done.stderr
    subprocess.run(["mount", "-o", "remount,size=20k", str(small_disk)], check=True)
    report = _cli("report", str(tmp_path / "out"), "--format", "xlsx", "-o", str(small_disk / "r.xlsx"), "--lang", "en")
    assert report.returncode == 2
    assert report.stderr.splitlines() == [f"Error: {small_disk / 'r.xlsx'}: cannot write the report to this file: No space left on device"]
    assert list(small_disk.iterdir()) == []  # no temporary file left to keep the disk full
    for fmt in ("json", "jsonl", "table", "markdown"):
        with (small_disk / "e.out").open("wb") as target:
            evaluated = _cli("evaluate", str(CAMPAIGN), "--format", fmt, stdout=target.fileno())
        assert evaluated.returncode == 2, (fmt, evaluated.returncode, evaluated.stderr)
        assert evaluated.stderr.splitlines() == ["Error: cannot write the output to standard output: No space left on device"]
        (small_disk / "e.out").unlink()
