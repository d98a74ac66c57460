"""YAML loading that is safe for files written by people and sent by other systems.

PyYAML's `safe_load` refuses Python objects but still expands alias bombs, silently keeps the
last of two duplicate keys and reads `8:30` as the number 510. This loader composes the node
graph with bounds on depth, aliases and expanded size, then builds plain data itself so that
every value keeps its line and column for error messages. No tag other than the standard
scalar ones is accepted: nothing in a file can construct an object or run code.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import InputError, Problem, yaml_syntax
from .paths import path_params

MAX_DEPTH = 64
MAX_ALIASES = 200
MAX_EXPANDED_NODES = 200_000
MAX_BYTES = 16 * 1024 * 1024

_STANDARD_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:merge",
}


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core-schema scalars: `yes`/`no`/`on` stay text and `8:30` stays a time of day."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:timestamp",
    re.compile(
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
    ),
    list("0123456789"),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    _Resolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _Stop(Problem("yaml_too_many_aliases", {"limit": MAX_ALIASES}), mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise _Stop(Problem("yaml_too_deep", {"limit": MAX_DEPTH}), mark)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


class _Stop(Exception):
    def __init__(self, problem: Problem, mark: Any):
        super().__init__(problem.code)
        self.problem = problem
        self.mark = mark


Path_ = tuple[Any, ...]


@dataclass
class YamlDocument:
    """A loaded document: plain data plus where each value stands in the file."""

    data: Any
    source: str
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    first_line: int = 1
    problems: list[Problem] = field(default_factory=list)
    """Problems found while building that did not stop it (duplicate keys, impossible dates, when collected)."""
    invalid: set[Path_] = field(default_factory=set)
    """Paths whose value was already reported in `problems`: it is kept as its text, and a
    schema check need not report it again."""

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at `path`, or of its nearest parent."""
        table = self.key_marks if key else self.marks
        probe = tuple(path)
        while True:
            if probe in table:
                return table[probe]
            if key and probe in self.marks:
                return self.marks[probe]
            if not probe:
                return (None, None)
            probe = probe[:-1]


def _expanded_size(node: Node, memo: dict[int, int], depth: int = 0) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, MappingNode):
        size = 1 + sum(
            _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
            for k, v in node.value
        )
    elif isinstance(node, SequenceNode):
        size = 1 + sum(_expanded_size(v, memo, depth + 1) for v in node.value)
    else:
        size = 1
    memo[key] = size
    return size


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(
        self,
        loader: _Loader,
        doc: YamlDocument,
        line_offset: int,
        collect_duplicates: bool = False,
        collect_bad_dates: bool = False,
    ):
        self.loader = loader
        self.doc = doc
        self.offset = line_offset
        self.active: set[int] = set()
        self.collect_duplicates = collect_duplicates
        self.collect_bad_dates = collect_bad_dates
        self.pending: list[tuple[int, Path_]] = []

    def pos(self, mark: Any) -> tuple[int, int]:
        line, column = _pos(mark)
        return (line + self.offset, column)

    def fail(self, problem: Problem, node: Node) -> InputError:
        line, col = self.pos(node.start_mark)
        return InputError([problem.at(file=self.doc.source, line=line, column=col)])

    def build(self, node: Node, path: Path_) -> Any:
        self.doc.marks.setdefault(path, self.pos(node.start_mark))
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(Problem("yaml_tag", {"tag": node.tag}), node)
        if id(node) in self.active:
            raise self.fail(Problem("invalid_value", yaml_syntax("recursive_alias", "recursive alias")), node)
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise self.fail(Problem("bad_yaml", {"detail": _first_line(exc)}), node) from None
            except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise ValueError, KeyError...
                # `2016-13-45` looks like a date and is none; `!!int x`, `!!bool maybe`, `!!timestamp x`
                if node.tag == "tag:yaml.org,2002:timestamp":
                    return self.bad_date(node, path)
                text, kind = str(node.value)[:40], node.tag.rpartition(":")[2]
                raw = f"'{text}' is not a valid {kind} ({type(exc).__name__})"
                raise self.fail(Problem("bad_yaml", yaml_syntax("bad_scalar", raw, value=text, type=kind)), node) from None
            # Text in NFD (decomposed Vietnamese) would differ from the same text typed in NFC.
            return unicodedata.normalize("NFC", value) if isinstance(value, str) and not value.isascii() else value
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise self.fail(Problem("bad_yaml", {"detail": "unsupported node", "detail_vi": "loại nút YAML không được hỗ trợ"}), node)

    def bad_date(self, node: ScalarNode, path: Path_) -> str:
        """`2016-02-30`: an error; when collecting, reported once and kept as its text, so the
        rest of the file is still read and checked."""
        problem = Problem("bad_date", {"found": repr(str(node.value))[:60]})
        if not self.collect_bad_dates:
            raise self.fail(problem, node)
        line, column = self.pos(node.start_mark)
        self.found(problem.at(file=self.doc.source, line=line, column=column), path)
        self.doc.invalid.add(path)
        return str(node.value)

    def found(self, problem: Problem, path: Path_) -> None:
        """A problem that does not stop the build, its path named once the document is whole
        (a version is named by its `effective_from`, which may come after the mistake)."""
        self.pending.append((len(self.doc.problems), path))
        self.doc.problems.append(problem)

    def name_paths(self) -> None:
        memo: dict[Path_, Any] = {}
        for index, path in self.pending:
            self.doc.problems[index] = self.doc.problems[index].at(**path_params(path, self.doc.data, memo))

    def mapping(self, node: MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                for source in self._merge_sources(value_node):
                    for k, v in self.mapping(source, path).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fail(Problem("bad_yaml", yaml_syntax("key_not_text", "a key must be plain text")), key_node)
            key = self.build(key_node, path + ("<key>",))
            if isinstance(key, (list, dict)):
                raise self.fail(Problem("bad_yaml", yaml_syntax("key_not_text", "a key must be plain text")), key_node)
            line = self.pos(key_node.start_mark)[0]
            if key in first_seen and self.collect_duplicates:
                # Keep the first value, report the repeat and go on, so that every other
                # mistake in the file is reported in the same run.
                at_line, at_col = self.pos(key_node.start_mark)
                repeated = Problem("yaml_duplicate_key", {"key": key, "first_line": first_seen[key]})
                self.found(repeated.at(file=self.doc.source, line=at_line, column=at_col), path + (key,))
                continue
            if key in first_seen:
                raise self.fail(
                    Problem("yaml_duplicate_key", {"key": key, "first_line": first_seen[key]}),
                    key_node,
                )
            first_seen[key] = line
            self.doc.key_marks[path + (key,)] = self.pos(key_node.start_mark)
            out[key] = self.build(value_node, path + (key,))
        for k, v in merged.items():
            out.setdefault(k, v)
        self.doc.marks.pop(path + ("<key>",), None)
        return out

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        raise self.fail(Problem("bad_yaml", yaml_syntax("bad_merge", "'<<' must merge a mapping")), node)


def _first_line(exc: BaseException) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem or exc).strip().splitlines()[0]


_CLOSING = {"flow sequence": ("[", "]"), "flow mapping": ("{", "}")}


def _syntax_problem(exc: yaml.MarkedYAMLError) -> tuple[dict[str, Any], Any]:
    """The parser's complaint said for people, and the mark that best shows where it is.

    PyYAML speaks of tokens ("expected <block end>, but found '<block mapping start>'");
    the common mistakes behind its words are a tab, a line out of line, a missing ':', a ':'
    inside unquoted text, and a quote or bracket left open. Anything else keeps its words.
    """
    raw = _first_line(exc)
    context = exc.context or ""
    problem = exc.problem or ""
    if "'\\t'" in problem or "tab character" in problem:
        return yaml_syntax("tab", raw), exc.problem_mark
    if context == "while scanning a simple key" and "expected ':'" in problem:
        return yaml_syntax("missing_colon", raw), exc.context_mark or exc.problem_mark
    if problem.startswith("mapping values are not allowed"):
        return yaml_syntax("colon_in_value", raw), exc.problem_mark
    if context == "while scanning a quoted scalar" and "end of stream" in problem:
        return yaml_syntax("unclosed_quote", raw), exc.context_mark or exc.problem_mark
    kind = context.removeprefix("while parsing a ")
    if kind in _CLOSING and exc.context_mark is not None:
        opening, closing = _CLOSING[kind]
        return (
            yaml_syntax("unclosed_bracket", raw, open=opening, close=closing, open_line=exc.context_mark.line + 1),
            exc.problem_mark,
        )
    opened = _quote_left_open(exc.problem_mark)
    if opened is not None:
        return yaml_syntax("unclosed_quote", raw), opened
    if problem.startswith("expected <block end>"):
        return yaml_syntax("indentation", raw), exc.problem_mark
    alias = re.match(r"found undefined alias '(.*)'$", problem)
    if alias:
        return yaml_syntax("unknown_alias", raw, name=alias.group(1)), exc.problem_mark
    return {"detail": raw}, exc.problem_mark or exc.context_mark


def _quote_left_open(mark: Any) -> Any:
    """Where a double quote was opened and never closed on its line, above the error.

    A quote left open in mid-file runs on to the next line's quote and the parser complains
    there, about indentation; the line above with an odd number of quotes is the real mistake.
    """
    if mark is None or not isinstance(getattr(mark, "buffer", None), str):
        return None
    lines = mark.buffer[: mark.pointer].split("\n")
    for index in range(len(lines) - 2, -1, -1):
        quotes = [i for i, ch in enumerate(lines[index]) if ch == '"' and (i == 0 or lines[index][i - 1] != "\\")]
        if len(quotes) % 2:
            return yaml.Mark(mark.name, 0, index, quotes[-1], None, None)
    return None


def _decode(raw: bytes, source: str, line_offset: int = 0) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1 + line_offset
        raise InputError([Problem("not_utf8", {"position": exc.start}, file=source, line=line)]) from None


def iter_documents(
    raw: bytes | str,
    source: str,
    *,
    max_bytes: int = MAX_BYTES,
    line_offset: int = 0,
    collect_duplicates: bool = False,
    collect_bad_dates: bool = False,
) -> Iterator[YamlDocument]:
    """Each document of a (possibly multi-document) YAML text, bounded and located.

    `line_offset` shifts reported lines when the text is a piece of a larger file. With
    `collect_duplicates` a repeated key does not stop loading: the first value stands and the
    repeat is reported in the document's `problems`; with `collect_bad_dates` an impossible
    date (`2016-02-30`) is reported there too and kept as its text. Text comes out in NFC.
    """
    size = len(raw)
    if size > max_bytes:
        raise InputError([Problem("file_too_large", {"size": size, "limit": max_bytes}, file=source)])
    text = _decode(raw, source, line_offset) if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML checks the whole text first
        start = text.rfind("\n", 0, exc.position) + 1
        where = {"line": text.count("\n", 0, exc.position) + 1 + line_offset, "column": exc.position - start + 1}
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        char = f"U+{code:04X}"
        params = yaml_syntax("control_character", _first_line(exc), char=char)
        raise InputError([Problem("bad_yaml", params, file=source, **where)]) from None
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except _Stop as stop:
                line, col = _pos(stop.mark)
                line += line_offset
                raise InputError([stop.problem.at(file=source, line=line, column=col)]) from None
            except yaml.MarkedYAMLError as exc:
                params, mark = _syntax_problem(exc)
                line, col = _pos(mark) if mark else (None, None)
                line = line + line_offset if line is not None else None
                raise InputError([Problem("bad_yaml", params, file=source, line=line, column=col)]) from None
            except yaml.YAMLError as exc:
                raise InputError([Problem("bad_yaml", {"detail": _first_line(exc)}, file=source)]) from None
            if node is None:
                continue
            if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                line, col = _pos(node.start_mark)
                line += line_offset
                raise InputError(
                    [Problem("yaml_too_large_expanded", {"limit": MAX_EXPANDED_NODES}, file=source, line=line, column=col)]
                )
            doc = YamlDocument(data=None, source=source, first_line=node.start_mark.line + 1 + line_offset)
            builder = _Builder(loader, doc, line_offset, collect_duplicates, collect_bad_dates)
            doc.data = builder.build(node, ())
            builder.name_paths()
            yield doc
    finally:
        loader.dispose()


_DOC_START = re.compile(rb"^---(?:[ \t\r]|$)")  # \r: a file with CRLF line endings
_DOC_END = re.compile(rb"^\.\.\.(?:[ \t\r]|$)")


@dataclass(frozen=True)
class Oversized:
    """A document of a stream larger than allowed: only its size was counted, not kept."""

    size: int


def split_documents(stream: Any, max_bytes: int = MAX_BYTES) -> Iterator[tuple[int, bytes | Oversized]]:
    """Split a multi-document YAML byte stream at its `---` / `...` markers, line by line.

    A marker at column 0 always ends a document in YAML, so each piece parses on its own:
    one broken document cannot take the rest of the file down with it, and a large file is
    never held in memory whole: a document over `max_bytes` (or a line over it) is counted
    to its end and given as `Oversized`. An empty document (a marker with only comments or
    blank lines after it) is not yielded. Yields (line offset of the piece, its bytes).
    """
    piece: list[bytes] = []
    size = 0
    oversized = False
    start = 0
    lines = bounded_lines(stream, max_bytes) if hasattr(stream, "readline") else ((line, len(line)) for line in stream)
    for number, (line, length) in enumerate(lines):
        if line is not None and number == 0 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if line is not None and (_DOC_START.match(line) or _DOC_END.match(line)):
            if oversized:
                yield start, Oversized(size)
            elif _has_content(piece):
                yield start, b"".join(piece)
            piece = [line] if _DOC_START.match(line) else []
            size, oversized = sum(map(len, piece)), False
            start = number if piece else number + 1
            continue
        size += length
        if line is None or size > max_bytes:
            oversized = True
            piece = []
        elif not oversized:
            piece.append(line)
    if oversized:
        yield start, Oversized(size)
    elif _has_content(piece):
        yield start, b"".join(piece)


def bounded_lines(stream: Any, limit: int, length: int | None = None) -> Iterator[tuple[bytes | None, int]]:
    """(line, its size in bytes) for each line of a byte stream, the line None when longer
    than `limit` (it is then read to its end in pieces, never held whole): a file that is one
    line of gigabytes costs no more memory than a short one. With `length`, only that many
    bytes are read (a piece of a file that ends at a line end)."""
    remaining = length
    while remaining is None or remaining > 0:
        want = limit + 1 if remaining is None else min(limit + 1, remaining)
        line = stream.readline(want)
        if not line:
            return
        if remaining is not None:
            remaining -= len(line)
        if line.endswith(b"\n") or len(line) <= limit:
            yield line, len(line)
            continue
        size = len(line)
        while remaining is None or remaining > 0:
            rest = stream.readline(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not rest:
                break
            size += len(rest)
            if remaining is not None:
                remaining -= len(rest)
            if rest.endswith(b"\n"):
                break
        yield None, size


def _has_content(piece: list[bytes]) -> bool:
    """Whether a piece holds more than its `---` marker, comments and blank lines: an empty
    document (`---` followed by nothing) is no record, as a blank JSONL line is none."""
    for index, line in enumerate(piece):
        text = line.strip()
        if index == 0 and _DOC_START.match(line):
            text = text[3:].strip()  # `--- {visit_id: x}` holds its document on the marker line
        if text and not text.startswith(b"#"):
            return True
    return False


def read_at_most(path: Path, limit: int) -> bytes:
    """A YAML file's bytes, refused by its size before it is read: a 60 MB file must not cost
    60 MB of memory to reject. At most limit + 1 bytes are read, in case it grows meanwhile.

    A file that is a symbolic link is not read at all: rules are echoed in error messages
    (a key, a value, a line), and a rules directory someone else can write (a pull request
    that `rules validate` checks) must not make the tool show what a link points at, such
    as another file of the machine. OSError (missing, unreadable) is the caller's to report.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError([Problem("symlink_not_read", file=str(path))]) from None
        raise
    with os.fdopen(fd, "rb") as stream:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise InputError([Problem("file_unreadable", {"detail_en": "not a regular file", "detail_vi": "không phải tệp thông thường"}, file=str(path))])
        size = status.st_size
        if size <= limit:
            raw = stream.read(limit + 1)
            if len(raw) <= limit:
                return raw
            size = max(size, len(raw))
    raise InputError([Problem("file_too_large", {"size": size, "limit": limit}, file=str(path))])


def load_document(
    raw: bytes | str,
    source: str,
    *,
    max_bytes: int = MAX_BYTES,
    collect_duplicates: bool = False,
    collect_bad_dates: bool = False,
) -> YamlDocument:
    """Exactly one YAML document (an empty file gives data None)."""
    docs = list(
        iter_documents(
            raw, source, max_bytes=max_bytes, collect_duplicates=collect_duplicates, collect_bad_dates=collect_bad_dates
        )
    )
    if not docs:
        return YamlDocument(data=None, source=source)
    if len(docs) > 1:
        raise InputError([Problem("yaml_several_documents", file=source, line=docs[1].first_line)])
    return docs[0]
