"""JSON read as text: a top-level array cut into the bytes of its items, and where each value
of a record stands in the file.

A JSON array of visits is streamed item by item. An event parser (ijson) cannot do that
safely: every event carries the whole path to it, so memory grows with the square of the
nesting depth (200 KB of brackets took all of a machine's memory), and it cannot say on
which line an item stands. The scanner here keeps a depth counter, the line and column it
has reached and the bytes of the current item, at most `max_bytes` of them; an item is then
parsed like a JSONL line, and a problem in it is reported at its own line and column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .yamlsafe import YamlDocument

MAX_DEPTH = 64
"""Deepest nesting of an item (a visit is a handful of levels deep; YAML has the same bound)."""

_STRUCTURE = re.compile(rb'["\[\]{},]')
_NON_SPACE = re.compile(rb"[^ \t\r\n]")
_CONTINUATION = bytes(range(0x80, 0xC0))
"""UTF-8 continuation bytes: a column counts characters, so these are not counted."""


def _characters(data: bytes | memoryview) -> int:
    """Continuation bytes in `data` (characters = bytes - these)."""
    data = bytes(data)
    return 0 if data.isascii() else len(data) - len(data.translate(None, _CONTINUATION))


def _string_end(chunk: bytes, pos: int, escaped: bool) -> tuple[int, bool]:
    """Where the string that `chunk[pos:]` continues ends (just past its closing quote), or
    -1 if it runs on past the chunk; and whether the chunk ends on an escaping backslash.
    `escaped`: the previous chunk did, so the first byte here is escaped. Found with
    bytes.find, at memory speed: a string of gigabytes is only skipped."""
    if escaped:
        pos += 1
    while True:
        quote = chunk.find(b'"', pos)
        if quote < 0:
            run = len(chunk) - max(pos, len(chunk.rstrip(b"\\")))
            return -1, run % 2 == 1
        start = quote
        while start > pos and chunk[start - 1] == 0x5C:  # backslashes just before the quote
            start -= 1
        if (quote - start) % 2 == 0:
            return quote + 1, False
        pos = quote + 1


class _Position:
    """Line and column (1-based, in characters) of offsets in a stream read chunk by chunk."""

    def __init__(self, line: int = 1, column: int = 1):
        self.line = line
        self.mark = 0
        """Offset up to which lines are counted."""
        self.line_start = 0
        self.skew = column - 1
        """Characters of the line before `line_start`, less the continuation bytes after it."""

    def advance(self, chunk: bytes, base: int, upto: int) -> None:
        start, end = self.mark - base, upto - base
        if end <= start:
            return
        newlines = chunk.count(b"\n", start, end)
        if newlines:
            self.line += newlines
            last = chunk.rfind(b"\n", start, end)
            self.line_start = base + last + 1
            self.skew = -_characters(memoryview(chunk)[last + 1 : end])
        else:
            self.skew -= _characters(memoryview(chunk)[start:end])
        self.mark = upto

    def at(self, chunk: bytes, base: int, offset: int) -> tuple[int, int]:
        self.advance(chunk, base, offset)
        return self.line, offset - self.line_start + self.skew + 1


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a top-level array: its bytes, or why they were not kept."""

    number: int
    line: int
    column: int
    offset: int
    size: int
    raw: bytes | None
    """None when the item is larger than allowed or nested too deeply."""
    too_deep: bool = False


class ArrayBroken(Exception):
    """The array's text breaks off or goes wrong here; nothing after it can be read."""

    def __init__(self, number: int, line: int, column: int, detail: str, detail_vi: str):
        super().__init__(detail)
        self.number, self.line, self.column = number, line, column
        self.detail, self.detail_vi = detail, detail_vi


def array_items(
    chunks: Iterable[bytes], max_bytes: int, max_depth: int = MAX_DEPTH, *, line: int = 1, column: int = 1
) -> Iterator[Item]:
    """The items of the JSON array that `chunks` hold (the text starts with '[' after
    whitespace), each cut out between the commas of the array without being parsed.

    Memory holds one chunk and at most `max_bytes` of one item whatever the input. An item
    whose text goes wrong is still cut at its commas (its parser then says what is wrong);
    the array itself going wrong (a '}' where an item should end, text after its ']', the
    end of the file inside it) raises ArrayBroken after the items before it. The text starts
    at `line`, `column` of its file.
    """
    scanner = _ArrayScanner(max_bytes, max_depth, line, column)
    for chunk in chunks:
        if chunk:
            yield from scanner.feed(chunk)
    scanner.end()


class _ArrayScanner:
    def __init__(self, max_bytes: int, max_depth: int, line: int, column: int):
        self.max_bytes, self.max_depth = max_bytes, max_depth
        self.where = _Position(line, column)
        self.base = 0
        self.chunk = b""
        self.depth = 0  # 0 outside the array, 1 between its items, more inside an item
        self.in_string = self.escaped = False
        self.seeking = False  # after '[' or ',': the next item starts at the next non-space byte
        self.closed = False
        self.number = 0
        self.in_item = False
        self.parts: list[bytes] | None = None  # None: the item is too large or too deep to keep
        self.start = self.start_line = self.start_column = 0
        self.size = 0  # bytes of the item in earlier chunks
        self.piece_from = 0  # where the current chunk's bytes of the item begin
        self.deepest = 0

    def broken(self, offset: int, detail: str, detail_vi: str, number: int | None = None) -> ArrayBroken:
        line, column = self.where.at(self.chunk, self.base, offset)
        if number is None:
            number = self.number if self.in_item else self.number + 1
        return ArrayBroken(number, line, column, detail, detail_vi)

    def finish(self, end: int) -> Item:
        local = end - self.piece_from
        raw = None
        if self.parts is not None and self.deepest <= self.max_depth and self.size + local <= self.max_bytes:
            raw = (b"".join(self.parts) + self.chunk[self.piece_from - self.base : end - self.base]).rstrip(b" \t\r\n")
        item = Item(self.number, self.start_line, self.start_column, self.start,
                    len(raw) if raw is not None else self.size + local, raw, too_deep=self.deepest > self.max_depth)
        self.in_item, self.parts = False, None
        return item

    def feed(self, chunk: bytes) -> Iterator[Item]:
        self.chunk = chunk
        base = self.base
        pos, length = 0, len(chunk)
        while pos < length:
            if self.closed:
                found = _NON_SPACE.search(chunk, pos)
                if found is None:
                    break
                raise self.broken(base + found.start(), "text after the end of the array", "có văn bản sau dấu ']' kết thúc mảng")
            if self.in_string:
                end, self.escaped = _string_end(chunk, pos, self.escaped)
                if end < 0:
                    break
                self.in_string, pos = False, end
                continue
            if self.depth == 0 or self.seeking:
                found = _NON_SPACE.search(chunk, pos)
                if found is None:
                    break
                byte, offset = found.group(), base + found.start()
                if self.depth == 0:
                    if byte != b"[":
                        raise self.broken(offset, "not a JSON array", "không phải mảng JSON", 1)
                    self.depth, self.seeking, pos = 1, True, found.end()
                elif byte == b"]" and self.number == 0:
                    self.depth, self.seeking, self.closed, pos = 0, False, True, found.end()
                elif byte in (b",", b"]"):
                    raise self.broken(offset, "a ',' or ']' where a value should be", "dấu ',' hoặc ']' ở chỗ cần một giá trị")
                else:
                    self.number += 1
                    self.start, self.piece_from, self.size, self.deepest = offset, offset, 0, 0
                    self.start_line, self.start_column = self.where.at(chunk, base, offset)
                    self.in_item, self.parts, self.seeking, pos = True, [], False, found.start()
                continue
            found = _STRUCTURE.search(chunk, pos)
            if found is None:
                break
            token, pos = found.group(), found.end()
            if token == b'"':
                self.in_string = True
            elif token in (b"[", b"{"):
                self.depth += 1
                self.deepest = max(self.deepest, self.depth - 1)
            elif self.depth > 1:
                if token != b",":
                    self.depth -= 1
            elif token == b"}":
                raise self.broken(base + found.start(), "a '}' that closes nothing", "dấu '}' không đóng gì cả")
            else:  # the ',' or ']' that ends an item
                yield self.finish(base + found.start())
                if token == b",":
                    self.seeking = True
                else:
                    self.depth, self.closed = 0, True
        end = base + length
        if self.in_item:
            self.size += end - self.piece_from
            if self.parts is not None:
                if self.size > self.max_bytes or self.deepest > self.max_depth:
                    self.parts = None
                else:
                    self.parts.append(chunk[self.piece_from - base :])
            self.piece_from = end
        self.where.advance(chunk, base, end)
        self.base = end

    def end(self) -> None:
        if self.closed:
            return
        if self.in_item:
            raise ArrayBroken(self.number, self.start_line, self.start_column,
                              "the file ends inside this item (cut short?)", "tệp kết thúc giữa phần tử này (bị cắt cụt?)")
        if self.depth == 0:
            raise self.broken(self.base, "empty input", "tệp rỗng", 1)
        raise self.broken(self.base, "the file ends before the array's closing ']' (cut short?)",
                          "tệp kết thúc trước dấu ']' đóng mảng (bị cắt cụt?)")


# ---------------------------------------------------------------- where values stand

_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+', re.DOTALL)


def locate(raw: bytes, source: str, line: int = 1, column: int = 1) -> YamlDocument:
    """Where each value and key of the JSON text `raw` stands, as a YAML document records it
    (`raw` starts at `line`, `column` of its file), so that a problem in it names its place.

    Keys are taken in NFC, as the visit model sees them. Text that does not parse stops the
    walk where it goes wrong: what comes before it is still located.
    """
    doc = YamlDocument(data=None, source=source, first_line=line)
    where = _Position(line, column)
    path: list[Any] = []
    frames: list[list[Any]] = []  # [kind, key or index, expecting a key]
    for token in _TOKEN.finditer(raw):
        first = token.group()[:1]
        at = token.start()
        if first in (b"]", b"}"):
            if not frames:
                break
            frames.pop()
            if path:
                path.pop()
            continue
        if first == b",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
                path[-1] = frames[-1][1]
            elif frames:
                frames[-1][2] = True
            continue
        if first == b":":
            if frames:
                frames[-1][2] = False
            continue
        if frames and frames[-1][0] == "{" and frames[-1][2]:
            try:
                key = orjson.loads(token.group())
            except orjson.JSONDecodeError:
                break
            key = unicodedata.normalize("NFC", key) if isinstance(key, str) else key
            path[-1] = key
            doc.key_marks.setdefault(tuple(path), where.at(raw, 0, at))
            continue
        doc.marks.setdefault(tuple(path), where.at(raw, 0, at))
        if first in (b"[", b"{"):
            frames.append(["[", 0, False] if first == b"[" else ["{", None, True])
            path.append(0 if first == b"[" else _NO_KEY)
    return doc


_NO_KEY = object()
"""Stands in the path for an object's key until its first key is read."""


def shift(line: int, column: int, at_line: int | None, at_column: int | None) -> tuple[int | None, int | None]:
    """A place given within a record's text (1-based) as a place in its file."""
    if at_line is None:
        return line, column
    if at_line == 1:
        return line, (column + at_column - 1) if at_column is not None else column
    return line + at_line - 1, at_column
