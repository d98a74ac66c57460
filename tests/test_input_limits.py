"""Every reader bounds the depth and the size of what it holds, whatever the file.

Each hostile shape goes through every reader it can reach (a JSON array, a JSON document,
JSONL, YAML, Parquet, gzip, stdin) and every command that reads visits (`evaluate`,
`explain`, `batch`), in a child process whose address space is capped (RLIMIT_AS): a reader
that holds the whole thing then fails the test with a MemoryError instead of taking the
machine down. What is asserted is what a user sees: exit 2 (or, for `batch`, the record in
errors.jsonl), a located message in both languages, no traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from compliance.io import MAX_RECORD_BYTES
from compliance.jsontext import MAX_DEPTH

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux applies it"), pytest.mark.slow]

MEMORY = 512 * 1024 * 1024
"""The child's address space: several times what evaluating a visit needs, far less than
the hostile inputs below expand to."""
DEEP = 100_000
BIG = 640 * 1024 * 1024
"""Bytes a compressed hostile file expands to (it is a few hundred KB on disk)."""

VISIT = {"visit_id": "V-1", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u-1", "level": "commune"}}


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_limited(*args: str, stdin: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as feed:
        return subprocess.run(
            [sys.executable, "-m", "compliance", *args], stdin=feed, cwd=cwd, preexec_fn=_limited,
            capture_output=True, text=True, timeout=600,
        )


def _gzip_stream(path: Path, head: bytes, filler: bytes, size: int, tail: bytes) -> Path:
    """head + filler repeated to `size` bytes + tail, written compressed a piece at a time."""
    block = filler * ((1 << 20) // len(filler))
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(tail)
    return path


def _visit_text() -> bytes:
    return json.dumps(VISIT).encode()


# name -> (file name, how to write it, words the message holds)
def _deep_array(path: Path) -> None:
    path.write_bytes(b"[" * DEEP + b"]" * DEEP)


def _deep_in_item(path: Path) -> None:
    path.write_bytes(b"[" + _visit_text()[:-1] + b', "notes": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}]")


def _deep_document(path: Path) -> None:
    path.write_bytes(_visit_text()[:-1] + b', "notes": ' + b"[" * DEEP + b"]" * DEEP + b"}")


def _deep_line(path: Path) -> None:
    path.write_bytes(_visit_text() + b"\n" + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"\n")


def _deep_yaml(path: Path) -> None:
    path.write_bytes(b"visit_id: V-1\nnotes: " + b"[" * DEEP + b"]" * DEEP + b"\n")


def _huge_line_gz(path: Path) -> None:
    _gzip_stream(path, b'{"visit_id": "', b"a", BIG, b'"}\n' + _visit_text() + b"\n")


def _huge_item_gz(path: Path) -> None:
    _gzip_stream(path, b'[{"visit_id": "', b"a", BIG, b'"}, ' + _visit_text() + b"]")


def _huge_document_gz(path: Path) -> None:
    _gzip_stream(path, b'{"visit_id": "', b"a", BIG, b'"}')


def _huge_yaml_gz(path: Path) -> None:
    _gzip_stream(path, b"visit_id: V-1\nnotes: |\n", b"  " + b"a" * 65_533 + b"\n", BIG, b"---\n" + _visit_text() + b"\n")


def _parquet_bomb(path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"visit_id": ["V-1"], "notes": pa.array(["a" * (200 * 1024 * 1024)], type=pa.large_string())})
    pq.write_table(table, path, compression="zstd")


SHAPES: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "array nested 100,000 deep": ("deep.json", _deep_array, ("nested too deeply", "lồng quá sâu")),
    "array item nested 100,000 deep": ("item.json", _deep_in_item, ("nested too deeply", "lồng quá sâu")),
    "document nested 100,000 deep": ("doc.json", _deep_document, ("JSON", "JSON")),
    "JSONL line nested 100,000 deep": ("deep.jsonl", _deep_line, ("JSON", "JSON")),
    "YAML nested 100,000 deep": ("deep.yaml", _deep_yaml, ("nested too deeply", "lồng quá sâu")),
    "JSONL line of 640 MB (gzip)": ("huge.jsonl.gz", _huge_line_gz, ("record too large", "bản ghi quá lớn")),
    "array item of 640 MB (gzip)": ("huge.json.gz", _huge_item_gz, ("record too large", "bản ghi quá lớn")),
    "document of 640 MB (gzip)": ("doc.json.gz", _huge_document_gz, ("too large", "quá lớn")),
    "YAML document of 640 MB (gzip)": ("huge.yaml.gz", _huge_yaml_gz, ("record too large", "bản ghi quá lớn")),
    "Parquet cell of 200 MB in 10 KB": ("bomb.parquet", _parquet_bomb, ("decompression bomb", "bom giải nén")),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    directory = tmp_path_factory.mktemp("hostile")
    made: dict[str, Path] = {}

    def make(shape: str) -> Path:
        if shape not in made:
            name, write, _ = SHAPES[shape]
            write(directory / name)
            made[shape] = directory / name
        return made[shape]

    return make


def _said_without_traceback(stderr: str, words: tuple[str, ...], lang: str) -> None:
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr[-2000:]
    assert words[0 if lang == "en" else 1] in stderr, stderr[-2000:]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_evaluate_refuses_each_shape_in_bounded_memory(hostile: Callable[[str], Path], shape: str) -> None:
    path = hostile(shape)
    done = run_limited("evaluate", str(path), "--format", "jsonl", "--lang", "vi")
    assert done.returncode == 2, done.stderr[-2000:]
    _said_without_traceback(done.stderr, SHAPES[shape][2], "vi")
    assert str(path) in done.stderr


@pytest.mark.parametrize("shape", ["array nested 100,000 deep", "array item nested 100,000 deep", "YAML nested 100,000 deep"])
def test_stdin_and_explain_refuse_deep_nesting_in_bounded_memory(hostile: Callable[[str], Path], shape: str) -> None:
    path = hostile(shape)
    piped = run_limited("evaluate", "-", stdin=path)
    assert piped.returncode == 2 and "<stdin>:" in piped.stderr, piped.stderr[-2000:]
    _said_without_traceback(piped.stderr, SHAPES[shape][2], "en")
    explained = run_limited("explain", str(path))
    assert explained.returncode == 2, explained.stderr[-2000:]
    _said_without_traceback(explained.stderr, SHAPES[shape][2], "en")


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != "Parquet cell of 200 MB in 10 KB"])
def test_batch_reports_each_shape_as_a_bad_record_in_bounded_memory(
    hostile: Callable[[str], Path], shape: str, tmp_path: Path
) -> None:
    path = hostile(shape)
    done = run_limited("batch", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet")
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert errors and all(e["source"] == str(path) for e in errors)
    words = SHAPES[shape][2]
    assert any(words[0] in e["message"]["en"] and words[1] in e["message"]["vi"] for e in errors), errors


def test_batch_refuses_a_parquet_bomb_in_bounded_memory(hostile: Callable[[str], Path], tmp_path: Path) -> None:
    path = hostile("Parquet cell of 200 MB in 10 KB")
    done = run_limited("batch", str(path), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet")
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-2000:]
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 1 and "decompression bomb" in errors[0]["message"]["en"]


def test_the_bounds_refuse_the_hostile_not_the_large() -> None:
    """A record nested to the depth limit, or of exactly the size limit, is an ordinary record;
    one level or one byte more is refused, located."""
    from compliance.io import read_stdin

    def item(depth: int) -> bytes:  # the visit's own object is one level
        nested = "[" * (depth - 1) + "]" * (depth - 1)
        return (json.dumps(VISIT)[:-1] + ', "notes": ' + nested + "}").encode()

    kept, refused = list(read_stdin(io.BytesIO(b"[" + item(MAX_DEPTH) + b",\n " + item(MAX_DEPTH + 1) + b"]")))
    assert kept.problem is None and kept.raw == item(MAX_DEPTH)
    assert refused.problem is not None and refused.problem.code == "too_deep"
    assert (refused.problem.line, refused.problem.column, refused.problem.record) == (2, 2, 2)

    def line(size: int) -> bytes:
        text = json.dumps({**VISIT, "notes": ""}).encode()
        return text[:-2] + b"x" * (size - len(text)) + b'"}'

    kept, refused = list(read_stdin(io.BytesIO(line(MAX_RECORD_BYTES) + b"\n" + line(MAX_RECORD_BYTES + 1) + b"\n")))
    assert kept.problem is None and kept.raw is not None and len(kept.raw) == MAX_RECORD_BYTES
    assert refused.problem is not None and refused.problem.code == "record_too_large" and refused.problem.line == 2
