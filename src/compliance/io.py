"""Read visit documents from files or stdin as a stream of located records.

Formats: JSONL (also `.jsonl.gz`), a JSON document or array, multi-document YAML, and
(with pyarrow installed) Parquet. Each record remembers its source and 1-based line (JSONL,
YAML) or record number (JSON arrays, Parquet), so that a bad one is reported where it stands
while the others go on. Nothing is read whole that can be streamed.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from pydantic import ValidationError

from .errors import InputError, Problem
from .jsonkeys import data_keys, duplicate_key
from .observations import VisitFormat
from .validation import describe
from .validation import problems as validation_problems
from .visit import Visit, nfc_data
from .yamlsafe import YamlDocument, iter_documents, split_documents

Format = Literal["jsonl", "json", "yaml", "parquet"]

MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_STDIN_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: raw JSON bytes or parsed data, or the problem that stopped its parsing."""

    source: str
    line: int
    raw: bytes | None = None
    data: Any = None
    doc: YamlDocument | None = None
    problem: Problem | None = None
    unit: Literal["line", "record"] = "line"
    offset: int | None = None
    """Where `raw` starts in its file, when the file is plain JSONL (not compressed)."""

    @property
    def visit_id(self) -> str | None:
        """The visit id if it can be read from the record, for error reports."""
        data = self.data
        if data is None and self.raw is not None:
            try:
                data = orjson.loads(self.raw)
            except orjson.JSONDecodeError:
                return None
        if isinstance(data, dict):
            vid = data.get("visit_id")
            return vid if isinstance(vid, str) else None
        return None

    def parse(self, visit_format: VisitFormat, context: Mapping[str, Any] | None = None) -> Visit:
        """The visit validated in `visit_format` (an engine's: `engine.visit_format` and
        `engine.parse_context`), or InputError located at this record and field."""
        if self.problem is not None:
            raise InputError([self.problem])
        model = visit_format.model
        try:
            if self.raw is not None:
                visit, repeated = visit_format.from_json(self.raw, context=context)
                if repeated is not None:
                    # A record is one line of a JSONL file: its own line 1 is the record's line.
                    line = self.line + repeated.line - 1 if self.unit == "line" and repeated.line else self.line
                    raise InputError([repeated.at(file=self.source, line=line)])
                return visit
            if not isinstance(self.data, dict):
                raise InputError(
                    [Problem("not_a_mapping", {"found": describe(self.data)}, file=self.source, line=self.line)]
                )
            return model.model_validate(nfc_data(self.data), context=context)
        except ValidationError as exc:
            raise InputError(
                validation_problems(exc, model, source=self.source, doc=self.doc, line=None if self.doc else self.line)
            ) from None


def detect_format(name: str) -> Format | None:
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    for suffix, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".yaml", "yaml"),
                        (".yml", "yaml"), (".parquet", "parquet")):
        if lower.endswith(suffix):
            return fmt  # type: ignore[return-value]
    return None


def _compressed(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open(path: Path) -> IO[bytes]:
    if _compressed(path):
        return gzip.open(path, "rb")
    return path.open("rb", buffering=1 << 20)


def read_path(path: str | Path, fmt: Format | None = None, *, span: tuple[int, int, int] | None = None) -> Iterator[Record]:
    """The records of one file (or '-' for stdin), streamed.

    `span` (start, end, first line), from `jsonl_spans`, reads one piece of a JSONL file, so
    that several processes can share a large file.
    """
    if str(path) == "-":
        yield from read_stdin()
        return
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputError([Problem("file_missing", file=source)])
    if path.is_dir():
        raise InputError([Problem("file_unreadable", {"detail": "is a directory", "detail_vi": "đây là thư mục, không phải tệp"}, file=source)])
    fmt = fmt or detect_format(path.name) or _sniff_file(path)
    try:
        if fmt == "parquet":
            yield from _parquet(path)
            return
        with _open(path) as stream:
            peek = getattr(stream, "peek", None)  # buffered and gzip streams: look without consuming
            _refuse_wide(peek(4)[:4] if peek else b"", source)
            if span is not None:
                start, end, first_line = span
                stream.seek(start)
                yield from _jsonl(_lines_within(stream, end - start), source, first_line, start)
            elif fmt == "jsonl":
                yield from _jsonl(stream, source, offset=None if _compressed(path) else 0)
            elif fmt == "json":
                yield from _json_stream(stream, source)
            else:
                yield from _yaml(stream, source)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - zlib, pyarrow, YAML reader: the file itself is broken
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        raise InputError([Problem("file_unreadable", {"detail": detail}, file=source)]) from None


_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-16 LE/BE (and UTF-32 LE), UTF-32 BE


def _refuse_wide(head: bytes, source: str) -> None:
    """UTF-16 or UTF-32 text (its BOM, or a NUL among the first two bytes) is refused as a
    whole: read line by line it would only give one confusing error per line."""
    if head.startswith(_WIDE_BOMS) or b"\x00" in head[:2]:
        position = 0 if head.startswith(_WIDE_BOMS) else head.index(b"\x00")
        raise InputError([Problem("not_utf8", {"position": position}, file=source)])


def _sniff_file(path: Path) -> Format:
    with _open(path) as stream:
        head = stream.read(4096)
    return _sniff(head)


def _sniff(head: bytes) -> Format:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first, _, rest = text.partition(b"\n")
        try:
            orjson.loads(first)
            return "jsonl"
        except orjson.JSONDecodeError:
            return "json"
    return "yaml"


def read_stdin(stream: IO[bytes] | None = None) -> Iterator[Record]:
    """stdin may hold YAML, a JSON document or array, or JSONL: told apart by its first bytes."""
    stream = stream or sys.stdin.buffer
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InputError([Problem("file_too_large", {"size": len(data), "limit": MAX_STDIN_BYTES}, file="<stdin>")])
    _refuse_wide(data[:4], "<stdin>")
    fmt = _sniff(data)
    buffer = io.BytesIO(data)
    if fmt == "jsonl":
        yield from _jsonl(buffer, "<stdin>")
    elif fmt == "json":
        yield from _json_stream(buffer, "<stdin>")
    else:
        yield from _yaml(buffer, "<stdin>")


def splittable(path: str | Path) -> bool:
    """A plain UTF-8 JSONL file, which `jsonl_spans` can cut into pieces at line boundaries.

    A UTF-16 or UTF-32 file is refused whole (one error) when read whole, so it is not cut.
    """
    name = str(path)
    if name == "-" or _compressed(Path(name)) or detect_format(Path(name).name) != "jsonl":
        return False
    with open(name, "rb") as handle:
        head = handle.read(4)
    try:
        _refuse_wide(head, name)
    except InputError:
        return False
    return True


def jsonl_spans(path: str | Path, pieces: int, block: int = 1 << 23) -> list[tuple[int, int, int]]:
    """(start, end, first line) of up to `pieces` stretches of similar size, each starting at
    the beginning of a line, so that a piece's records keep their line numbers in the file."""
    size = Path(path).stat().st_size
    spans: list[tuple[int, int, int]] = []
    start, first_line = 0, 1
    with open(path, "rb") as handle:
        position = newlines = 0
        for i in range(1, max(1, pieces)):
            target = size * i // pieces
            if target <= position:
                continue
            while position < target:
                chunk = handle.read(min(block, target - position))
                if not chunk:
                    break
                newlines += chunk.count(b"\n")
                position += len(chunk)
            while True:  # on to the end of the line `target` falls in
                rest = handle.readline(block)
                if not rest:
                    break
                position += len(rest)
                if rest.endswith(b"\n"):
                    newlines += 1
                    break
            if position >= size:
                break
            spans.append((start, position, first_line))
            start, first_line = position, newlines + 1
    spans.append((start, size, first_line))
    return spans


def _lines_within(stream: IO[bytes], length: int) -> Iterator[bytes]:
    remaining = length
    if remaining <= 0:
        return
    for line in stream:
        yield line
        remaining -= len(line)
        if remaining <= 0:
            return


def _jsonl(stream: Iterable[bytes], source: str, first_line: int = 1, offset: int | None = None) -> Iterator[Record]:
    """Records of JSON lines; with `offset` (where `stream` starts in a plain file), each
    record also says where its text stands in the file."""
    seen_any = False
    for number, line in enumerate(stream, start=first_line):
        at = offset
        if offset is not None:
            offset += len(line)
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
            at = None if at is None else at + 3
        stripped = line.strip()
        if not stripped:
            continue
        seen_any = True
        if len(stripped) > MAX_LINE_BYTES:
            yield Record(source, number, problem=Problem("file_too_large", {"size": len(stripped), "limit": MAX_LINE_BYTES}, file=source, line=number))
            continue
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(source, number, problem=Problem("not_utf8", {"position": exc.start}, file=source, line=number))
            continue
        yield Record(source, number, raw=stripped, offset=None if at is None else at + line.find(stripped[:1]))
    if not seen_any:
        raise InputError([Problem("empty_input", file=source)])


def _json_stream(stream: IO[bytes], source: str) -> Iterator[Record]:
    """A JSON document (one visit) or an array of visits; arrays are streamed with ijson."""
    head = stream.read(64 * 1024)
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        raise InputError([Problem("empty_input", file=source)])
    if not body.startswith(b"["):
        rest = stream.read()
        raw = (head + rest).lstrip(b"\xef\xbb\xbf")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError([Problem("not_utf8", {"position": exc.start}, file=source)]) from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError([Problem("bad_json", {"detail": str(exc)}, file=source, line=getattr(exc, "lineno", None))]) from None
        repeated = duplicate_key(raw, data_keys(data))
        if repeated is not None:
            yield Record(source, 1, problem=repeated.at(file=source))
        elif isinstance(data, list):
            for index, item in enumerate(data, start=1):
                yield Record(source, index, data=item, unit="record")
        else:
            yield Record(source, 1, data=data)
        return
    import ijson  # streamed parsing of large arrays

    chained = io.BufferedReader(_Prefixed(body, stream))  # type: ignore[arg-type]
    index = 0
    try:
        for index, item in enumerate(ijson.items(chained, "item", use_float=True, map_type=_Object), start=1):
            key = _repeated_key(item)
            if key is not None:
                problem = Problem("json_duplicate_key", {"key": key}, file=source, line=index)
                yield Record(source, index, problem=problem, unit="record")
            else:
                yield Record(source, index, data=item, unit="record")
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as exc:
        yield Record(
            source,
            index + 1,
            problem=Problem("bad_json", {"detail": str(exc).splitlines()[0][:200]}, file=source, record=index + 1),
            unit="record",
        )


class _Object(dict):  # type: ignore[type-arg]
    """A JSON object that remembers a key set twice, which a dict keeps silently as its last value."""

    repeated: str | None = None

    def __setitem__(self, key: str, value: Any) -> None:
        if self.repeated is None and key in self:
            self.repeated = key
        super().__setitem__(key, value)


def _repeated_key(data: Any) -> str | None:
    """The first key an `_Object` in `data` saw twice (iteratively: JSON may nest 1,000 deep)."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if value.repeated is not None:  # type: ignore[attr-defined]
                return value.repeated  # type: ignore[attr-defined,no-any-return]
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None


class _Prefixed(io.RawIOBase):
    def __init__(self, prefix: bytes, rest: IO[bytes]):
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _yaml(stream: IO[bytes], source: str) -> Iterator[Record]:
    count = 0
    for offset, piece in split_documents(stream):
        try:
            for doc in iter_documents(piece, source, line_offset=offset):
                count += 1
                yield Record(source, doc.first_line, data=doc.data, doc=doc)
        except InputError as exc:
            count += 1
            problem = exc.problems[0]
            # A parser that ran off the end of this document points past it, at the next '---'.
            last = offset + max(1, piece.rstrip(b"\n").count(b"\n") + 1)
            if problem.line is None or problem.line > last:
                problem = Problem(problem.code, problem.params, file=problem.file, line=last, path=problem.path)
            yield Record(source, problem.line or offset + 1, problem=problem)
    if count == 0:
        raise InputError([Problem("empty_input", file=source)])


def _parquet(path: Path) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is an optional extra
        raise InputError([Problem("file_unreadable", {"detail": "reading Parquet needs pyarrow (pip install 'compliance[batch]')", "detail_vi": "cần cài pyarrow để đọc Parquet (pip install 'compliance[batch]')"}, file=str(path))]) from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError([Problem("file_unreadable", {"detail": str(exc)}, file=str(path))]) from None
    index = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            index += 1
            yield Record(str(path), index, data=_drop_nulls(row), unit="record")


def _drop_nulls(value: Any) -> Any:
    """Parquet stores absent struct fields as nulls; null and absent mean the same here."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value
