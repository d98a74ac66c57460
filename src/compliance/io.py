"""Read visit documents from files or stdin as a stream of located records.

Formats: JSONL (also `.jsonl.gz`), a JSON document or array, multi-document YAML, and
(with pyarrow installed) Parquet. Each record remembers its source and where it starts:
the 1-based line (and, in a JSON array, column) of its first character, or its record
number in a Parquet file, so that a bad one is reported where it stands while the others go
on. Nothing is read whole that can be streamed, and no reader holds more than one record of
bounded size and depth in memory, whatever the file: a JSONL line, an item of a JSON array
and a JSON document at most MAX_RECORD_BYTES, a YAML document at most yamlsafe.MAX_BYTES,
stdin at most MAX_STDIN_BYTES, nesting at most MAX_DEPTH levels.
"""

from __future__ import annotations

import gzip
import io
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from pydantic import ValidationError

from .errors import InputError, Problem, location
from .jsontext import MAX_DEPTH, ArrayBroken, array_items, locate, shift
from .observations import VisitFormat
from .validation import describe
from .validation import problems as validation_problems
from .visit import Visit, nfc_data
from .yamlsafe import MAX_BYTES as MAX_YAML_BYTES
from .yamlsafe import Oversized, YamlDocument, bounded_lines, iter_documents, split_documents

Format = Literal["jsonl", "json", "yaml", "parquet"]

MAX_RECORD_BYTES = 8 * 1024 * 1024
"""A JSONL line, an item of a JSON array, a JSON document."""
MAX_LINE_BYTES = MAX_RECORD_BYTES
MAX_STDIN_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 1 << 20
PARQUET_EXPANSION = 64
"""A Parquet column chunk may expand to at most this many times its stored size (past
MAX_RECORD_BYTES): a few KB that decompress to gigabytes is a bomb, not visits."""
_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"
_PARSER_PLACE = re.compile(r" at line (\d+) column (\d+)$")


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: raw JSON bytes or parsed data, or the problem that stopped its parsing."""

    source: str
    line: int
    """Where the record starts: its line, or (unit "record", Parquet) its record number."""
    raw: bytes | None = None
    data: Any = None
    doc: YamlDocument | None = None
    problem: Problem | None = None
    unit: Literal["line", "record"] = "line"
    column: int | None = None
    """The column `raw` starts at, when the record shares its line (an item of a JSON array)."""
    number: int | None = None
    """The record's number in a JSON array or a Parquet file."""

    @property
    def ordinal(self) -> int:
        """The record's rank in its file (two items of a JSON array may share a line)."""
        return self.number if self.number is not None else self.line

    def where(self) -> dict[str, Any]:
        """The file, line and column, or record number, for a Problem."""
        if self.unit == "record":
            return {"file": self.source, "record": self.line}
        return {"file": self.source, "line": self.line, "column": self.column, "record": self.number}

    def place(self) -> str:
        """Where the record stands, as messages say it (`Problem.where`)."""
        if self.unit == "record":
            return location(self.source, None, None, self.line)
        return location(self.source, self.line, self.column, self.number)

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
        """The visit validated in `visit_format` (an engine's: `engine.parse_record` gives its
        format and context), or InputError located at this record and field."""
        if self.problem is not None:
            raise InputError([self.problem])
        if self.raw is not None:
            return self._parse_raw(self.raw, visit_format, context)
        if not isinstance(self.data, dict):
            raise InputError([Problem("not_a_mapping", {"found": describe(self.data)}, **self.where())])
        model = visit_format.model
        try:
            return model.model_validate(nfc_data(self.data), context=context)
        except ValidationError as exc:
            if self.doc is not None:
                raise InputError(validation_problems(exc, model, source=self.source, doc=self.doc)) from None
            where = self.where()
            raise InputError(
                validation_problems(exc, model, source=self.source, line=where.get("line"), record=where.get("record"))
            ) from None

    def _parse_raw(self, raw: bytes, visit_format: VisitFormat, context: Mapping[str, Any] | None) -> Visit:
        where = self.where()
        model = visit_format.model
        try:
            visit, repeated = visit_format.from_json(raw, context=context)
        except ValidationError as exc:
            if self.unit == "line" and (self.column is not None or b"\n" in raw):
                # Several lines, or not at the start of one: each problem at its own place.
                doc = locate(raw, self.source, self.line, self.column or 1)
                found = validation_problems(exc, model, source=self.source, doc=doc, record=self.number)
            else:
                found = validation_problems(exc, model, source=self.source, line=where.get("line"), record=where.get("record"))
            raise InputError([self._placed(p) for p in found]) from None
        if repeated is not None:
            if self.unit == "record":  # the text is a copy made from the row: its lines are nobody's
                raise InputError([Problem(repeated.code, repeated.params, **where)])
            line, column = shift(self.line, self.column or 1, repeated.line, repeated.column)
            raise InputError([repeated.at(file=self.source, line=line, column=column, record=self.number)])
        return visit

    def _placed(self, problem: Problem) -> Problem:
        """A problem the JSON parser placed within the record's text, placed in the file instead."""
        detail = problem.params.get("detail")
        found = None
        if problem.code == "bad_json" and isinstance(detail, str) and self.unit == "line":
            found = _PARSER_PLACE.search(detail)
        if found is not None:
            line, column = shift(self.line, self.column or 1, int(found[1]), int(found[2]))
            params = {**problem.params, "detail": str(detail)[: found.start()]}
            return Problem(problem.code, params, file=self.source, line=line, column=column, record=self.number)
        if problem.line is None and problem.record is None:
            return problem.at(**self.where())
        return problem


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
                yield from _jsonl(stream, source, first_line, length=end - start)
            elif fmt == "jsonl":
                yield from _jsonl(stream, source)
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


def _jsonl(stream: IO[bytes], source: str, first_line: int = 1, length: int | None = None) -> Iterator[Record]:
    """Records of JSON lines (the first `length` bytes of `stream`, when given)."""
    seen_any = False
    for number, (line, size) in enumerate(bounded_lines(stream, MAX_RECORD_BYTES, length), start=first_line):
        if line is None:
            seen_any = True
            problem = Problem("record_too_large", {"size": size, "limit": MAX_RECORD_BYTES}, file=source, line=number)
            yield Record(source, number, problem=problem)
            continue
        if number == 1 and line.startswith(_BOM):
            line = line[3:]
        stripped = line.strip()
        if not stripped:
            continue
        seen_any = True
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(source, number, problem=Problem("not_utf8", {"position": exc.start}, file=source, line=number))
            continue
        yield Record(source, number, raw=stripped)
    if not seen_any:
        raise InputError([Problem("empty_input", file=source)])


def _json_stream(stream: IO[bytes], source: str) -> Iterator[Record]:
    """A JSON document (one visit) or an array of visits, streamed item by item.

    Leading whitespace is skipped in pieces and counted, so that lines stay right.
    """
    line, column = 1, 1
    chunk = stream.read(CHUNK_BYTES)
    if chunk.startswith(_BOM):
        chunk = chunk[3:]
    while chunk and not chunk.strip(_SPACE):
        newlines = chunk.count(b"\n")
        line += newlines
        column = len(chunk) - chunk.rfind(b"\n") if newlines else column + len(chunk)
        chunk = stream.read(CHUNK_BYTES)
    if not chunk:
        raise InputError([Problem("empty_input", file=source)])
    if chunk.lstrip(_SPACE).startswith(b"["):
        yield from _json_array(chunk, stream, source, line, column)
    else:
        yield _json_document(chunk, stream, source, line)


def _json_document(chunk: bytes, stream: IO[bytes], source: str, line: int) -> Record:
    parts, size = [chunk], len(chunk)
    while size <= MAX_RECORD_BYTES:
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        parts.append(more)
        size += len(more)
    if size > MAX_RECORD_BYTES:
        parts.clear()
        while more := stream.read(CHUNK_BYTES):  # the size it would have taken, read in pieces
            size += len(more)
        raise InputError([Problem("file_too_large", {"size": size, "limit": MAX_RECORD_BYTES}, file=source)])
    raw = b"".join(parts)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Problem("not_utf8", {"position": exc.start}, file=source)]) from None
    return Record(source, line, raw=raw)


def _json_array(chunk: bytes, stream: IO[bytes], source: str, line: int, column: int) -> Iterator[Record]:
    """The items of a JSON array, each as the raw text of one record at its line and column."""
    chunks = _chained(chunk, stream)
    count = 0
    try:
        for item in array_items(chunks, MAX_RECORD_BYTES, line=line, column=column):
            count += 1
            line, column, number = item.line, item.column, item.number
            problem = None
            if item.raw is None:
                code, params = ("too_deep", {"limit": MAX_DEPTH}) if item.too_deep else (
                    "record_too_large", {"size": item.size, "limit": MAX_RECORD_BYTES})
                problem = Problem(code, params, file=source, line=line, column=column, record=number)
            else:
                try:
                    item.raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problem = Problem("not_utf8", {"position": item.offset + exc.start}, file=source, line=line,
                                      column=column, record=number)
            if problem is not None:
                yield Record(source, line, column=column, number=number, problem=problem)
            else:
                yield Record(source, line, raw=item.raw, column=column, number=number)
    except ArrayBroken as broken:
        count += 1
        said: dict[str, Any] = {"detail": broken.detail, "detail_vi": broken.detail_vi}
        problem = Problem("bad_json", said, file=source, line=broken.line, column=broken.column, record=broken.number)
        yield Record(source, broken.line, column=broken.column, number=broken.number, problem=problem)
    if count == 0:
        raise InputError([Problem("empty_input", file=source)])


def _chained(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield first
    while more := stream.read(CHUNK_BYTES):
        yield more


def _yaml(stream: IO[bytes], source: str) -> Iterator[Record]:
    count = 0
    for offset, piece in split_documents(stream, MAX_YAML_BYTES):
        if isinstance(piece, Oversized):
            count += 1
            problem = Problem("record_too_large", {"size": piece.size, "limit": MAX_YAML_BYTES}, file=source, line=offset + 1)
            yield Record(source, offset + 1, problem=problem)
            continue
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
        raise InputError([Problem("needs_extra", {"feature_vi": "Đọc tệp Parquet", "feature_en": "Reading Parquet",
                                                  "extra": "batch", "module": "pyarrow"}, file=str(path))]) from None
    source = str(path)
    try:
        # Pages are read as they are decoded, not a whole row group at once.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=CHUNK_BYTES)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError([Problem("file_unreadable", {"detail": str(exc)}, file=source)]) from None
    _check_parquet(parquet, source)
    index = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            index += 1
            yield Record(source, index, data=_drop_nulls(row), unit="record", number=index)


def _check_parquet(parquet: Any, source: str) -> None:
    """Refuse, before reading any row, a schema nested deeper than MAX_DEPTH and a column
    chunk that would expand far beyond its stored size (a few KB that decompress to GB)."""
    depth = max((_type_depth(field.type) for field in parquet.schema_arrow), default=0)
    if depth > MAX_DEPTH:
        raise InputError([Problem("too_deep", {"limit": MAX_DEPTH}, file=source)])
    metadata = parquet.metadata
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            expanded, stored = column.total_uncompressed_size, column.total_compressed_size
            if expanded > max(MAX_RECORD_BYTES, PARQUET_EXPANSION * stored):
                name = column.path_in_schema
                raise InputError([Problem("file_unreadable", {
                    "detail_en": f"column '{name}' of row group {group + 1} expands from {stored:,} to {expanded:,} bytes, more than {PARQUET_EXPANSION} times: refused as a decompression bomb",
                    "detail_vi": f"cột '{name}' của nhóm hàng {group + 1} giải nén từ {stored:,} thành {expanded:,} byte, hơn {PARQUET_EXPANSION} lần: bị từ chối vì có thể là bom giải nén",
                }, file=source)])


def _type_depth(kind: Any) -> int:
    """Levels of nesting of an Arrow type (a scalar is 0)."""
    depth, pending = 0, [(kind, 0)]
    while pending:
        current, level = pending.pop()
        depth = max(depth, level)
        pending.extend((current.field(i).type, level + 1) for i in range(getattr(current, "num_fields", 0)))
    return depth


def _drop_nulls(value: Any) -> Any:
    """Parquet stores absent struct fields as nulls; null and absent mean the same here."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value
