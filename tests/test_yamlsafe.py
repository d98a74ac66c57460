"""Hostile and mistaken YAML is refused quickly, with a location, and never runs code."""

from __future__ import annotations

import datetime
import re
import resource
import time
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from compliance.errors import InputError
from compliance.validation import problems as validation_problems
from compliance.yamlsafe import MAX_DEPTH, iter_documents, load_document, split_documents


def _error(text: str | bytes) -> str:
    with pytest.raises(InputError) as caught:
        load_document(text, "f.yaml")
    return caught.value.render("en")


def test_values_keep_their_line_and_column() -> None:
    doc = load_document("a:\n  b: [1, 2]\n  c: x\n", "f.yaml")
    assert doc.data == {"a": {"b": [1, 2], "c": "x"}}
    assert doc.locate(("a", "c")) == (3, 6)
    assert doc.locate(("a", "b", 1)) == (2, 10)
    assert doc.locate(("a", "missing")) == (2, 3)  # falls back to the nearest parent


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    message = _error("rules:\n  a: 1\n  a: 2\n")
    assert "f.yaml:3:3" in message and "duplicate key 'a'" in message and "line 2" in message


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system [echo hacked]\n",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
        "x: !!binary aGVsbG8=\n",
        "x: !!set {a, b}\n",
    ],
)
def test_tags_that_construct_objects_are_refused(text: str) -> None:
    message = _error(text)
    assert "not allowed" in message and "f.yaml:1" in message


def test_billion_laughs_is_refused_fast_with_bounded_memory() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join(f"*{previous}" for _ in range(10)) + "]")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    message = _error("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    assert "alias" in message


def test_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join("*a" for _ in range(500)) + "]\n"
    assert "too many YAML aliases" in _error(text)


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    assert "nested too deeply" in _error("[" * (MAX_DEPTH * 20) + "]" * (MAX_DEPTH * 20))


def test_huge_input_is_refused_before_parsing() -> None:
    with pytest.raises(InputError) as caught:
        load_document(b"a: 1\n" * 10, "f.yaml", max_bytes=20)
    assert "too large" in caught.value.render("en")


def test_not_utf8_is_refused() -> None:
    assert "not UTF-8" in _error(b"a: \xff\xfe\n")


def test_yaml_1_1_surprises_do_not_happen() -> None:
    data = load_document("t: 8:30\nb: yes\nn: no\no: on\nv: 1_000\n", "f.yaml").data
    assert data == {"t": "8:30", "b": "yes", "n": "no", "o": "on", "v": "1_000"}


def test_merge_keys_work_and_keep_explicit_values() -> None:
    data = load_document("base: &b {x: 1, y: 1}\nc:\n  <<: *b\n  y: 2\n", "f.yaml").data
    assert data["c"] == {"x": 1, "y": 2}


def test_multi_document_streams_split_so_one_broken_document_does_not_lose_the_rest() -> None:
    text = b"a: 1\n---\nb: [1\n---\nc: 3\n"
    pieces = list(split_documents(text.splitlines(keepends=True)))
    assert [offset for offset, _ in pieces] == [0, 1, 3]
    good = []
    for offset, piece in pieces:
        try:
            good.extend(d.data for d in iter_documents(piece, "f.yaml", line_offset=offset))
        except InputError as exc:
            assert exc.problems[0].line == 4
    assert good == [{"a": 1}, {"c": 3}]


MISTAKES = yaml.safe_load((Path(__file__).parent / "fixtures" / "yaml_mistakes.yaml").read_text(encoding="utf-8"))
# The parser's own English, which must not reach a Vietnamese reader.
_PARSER_WORDS = re.compile(r"found|expected|token|block|scanning|parsing|not allowed|is not a valid|document")


@pytest.mark.parametrize("case", MISTAKES, ids=[c["name"] for c in MISTAKES])
def test_syntax_mistakes_are_said_for_people_in_both_languages(case: dict) -> None:
    """tests/fixtures/yaml_mistakes.yaml: where each mistake stands and what it means, in vi and en."""
    with pytest.raises(InputError) as caught:
        load_document(case["text"], "f.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (case["line"], case.get("column"))
    assert case["en"] in problem.message("en")
    vi = problem.message("vi")
    assert case["vi"] in vi and not _PARSER_WORDS.search(vi), vi


def test_an_impossible_date_can_be_reported_without_losing_the_rest_of_the_file() -> None:
    doc = load_document("a: [2016-02-29, 2016-02-30]\nb: 2016-13-01\nc: x\n", "f.yaml", collect_bad_dates=True)
    assert doc.data["c"] == "x" and doc.data["a"][1] == "2016-02-30"
    assert [(p.line, p.column, p.path) for p in doc.problems] == [(1, 17, "a › #2"), (2, 4, "b")]
    assert doc.invalid == {("a", 1), ("b",)}


def test_text_is_loaded_in_nfc() -> None:
    """Vietnamese saved decomposed (NFD) reads as the same text typed composed."""
    decomposed = unicodedata.normalize("NFD", "Việt: Quý bản\n")
    assert decomposed != "Việt: Quý bản\n"
    assert load_document(decomposed, "f.yaml").data == {"Việt": "Quý bản"}


@pytest.mark.parametrize(
    ("escape", "shown"),
    [("\\u200b", "\\u200b"), ("\\u200d", "\\u200d"), ("\\u00a0", "\\u00a0"), ("\\ufeff", "\\ufeff"),
     ("\\u202e", "\\u202e"), ("\\e", "\\u001b"), ("\\t", "\\t")],
    ids=["zero-width space", "zero-width joiner", "no-break space", "BOM", "right-to-left override", "escape", "tab"],
)
def test_characters_that_do_not_print_are_shown_escaped_in_messages(escape: str, shown: str) -> None:
    """Two keys that look the same on screen must not read the same in the message either."""
    message = _error(f'"a{escape}b": 1\n"a{escape}b": 2\n')
    assert f"duplicate key 'a{shown}b'" in message, message



class _Dated(BaseModel):
    day: datetime.date


@settings(max_examples=300, deadline=None)
@given(year=st.integers(0, 9999), month=st.integers(0, 99), day=st.integers(0, 99), quoted=st.booleans())
def test_a_date_in_the_right_form_is_a_day_or_said_why_it_is_none(year: int, month: int, day: int, quoted: bool) -> None:
    """YYYY-MM-DD that names no day (2027-02-30, 2026-13-01, 2026-01-00) is never told "expected
    YYYY-MM-DD", whether YAML reads it (a plain value) or the model does (a quoted one)."""
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        real: datetime.date | None = datetime.date(year, month, day)
    except ValueError:
        real = None
    said = []
    try:
        data = load_document(f"day: '{text}'\n" if quoted else f"day: {text}\n", "f.yaml").data
        assert _Dated.model_validate(data).day == real
    except InputError as exc:
        said = exc.problems
    except ValidationError as exc:
        said = validation_problems(exc, _Dated)
    assert bool(said) == (real is None)
    if real is None:
        (problem,) = said
        assert problem.code == "bad_date"
        for lang, form in (("en", "expected YYYY-MM-DD"), ("vi", "cần YYYY-MM-DD")):
            assert form not in problem.message(lang) and text in problem.message(lang)
        month_length = 1 <= month <= 12 and day > 0 and year > 0
        assert month_length == (" has " in problem.message("en")) == ("chỉ có" in problem.message("vi"))
