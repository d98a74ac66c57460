"""The JSON array scanner and the JSON locator against the JSON parser, on generated text.

The scanner cuts an array into its items without parsing them, so it must agree with a
parser on every array a parser reads, however the text is laid out and however it is cut
into chunks; the locator must point at the text each value of a record was parsed from.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.jsontext import ArrayBroken, array_items, locate

KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6).map(lambda k: unicodedata.normalize("NFC", k))
"""Keys in NFC, as the locator gives them (the visit model reads keys so)."""
SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=25)
LAYOUTS = st.sampled_from([
    {"indent": None, "separators": (",", ":")},
    {"indent": None, "separators": (", ", ": ")},
    {"indent": 2},
    {"indent": "\t"},
])


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, max_size=6), LAYOUTS, st.booleans(), st.lists(st.integers(0, 10_000), max_size=8))
def test_the_scanner_cuts_every_array_into_the_items_a_parser_reads(
    items: list[Any], layout: dict[str, Any], ascii_only: bool, cuts: list[int]
) -> None:
    text = "\n " + json.dumps(items, ensure_ascii=ascii_only, **layout) + "\n"
    data = text.encode()
    found = list(array_items(_chunks(data, cuts), max_bytes=1 << 20))
    assert [json.loads(item.raw) for item in found if item.raw is not None] == items
    assert [item.number for item in found] == list(range(1, len(items) + 1))
    for item in found:
        assert item.raw is not None
        # its place: the line and column (in characters) where its text starts
        start = len(data[: item.offset].decode())
        assert (item.line, item.column) == _line_column(text, start)
        assert data[item.offset : item.offset + len(item.raw)] == item.raw


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=4), st.integers(0, 200), st.binary(min_size=1, max_size=3), st.lists(st.integers(0, 10_000), max_size=6))
def test_a_broken_array_gives_its_items_then_one_break_never_another_error(
    items: list[Any], at: int, junk: bytes, cuts: list[int]
) -> None:
    data = json.dumps(items).encode()
    at %= len(data)
    mangled = data[:at] + junk + data[at:]
    try:
        found = list(array_items(_chunks(mangled, cuts), max_bytes=1 << 20))
    except ArrayBroken as broken:
        assert broken.line >= 1 and broken.column >= 1 and broken.number >= 1
        return
    assert all(item.raw is not None or item.size > 0 for item in found)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5), LAYOUTS, st.integers(1, 5), st.integers(1, 30))
def test_the_locator_points_at_the_text_of_each_value(
    record: dict[str, Any], layout: dict[str, Any], line: int, column: int
) -> None:
    text = json.dumps(record, ensure_ascii=False, **layout)
    doc = locate(text.encode(), "f.json", line, column)
    decoder = json.JSONDecoder()
    lines = text.split("\n")

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        at_line, at_column = doc.marks[path]
        row = at_line - line
        col = at_column - (column if row == 0 else 1)
        offset = sum(len(x) + 1 for x in lines[:row]) + col
        assert decoder.raw_decode(text, offset)[0] == value
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, (*path, index))

    walk(record, ())
