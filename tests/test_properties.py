"""Property-based tests: whatever arrives, the engine answers with a result or a located,
bilingual InputError / RulesError, and its answers do not depend on accidents of the input.

- any JSON value, and visit-shaped objects with random values and extra keys, as a dict, as
  JSON text and as JSON bytes: a result, or InputError whose problems render in vi and en;
- any bytes as a JSONL, JSON or YAML file: records, or InputError, never another exception;
- valid visits: deterministic, independent of personnel and record order, the same through
  every input path, and no finding ever arises from a field that was not observed (null);
- any YAML-ish text, and mutations of the real rules files, as a rules file: a ruleset, or
  RulesError whose every problem names its file (and its line, where the file parsed).

Budgets are small and derandomised for CI (the whole file runs in well under a minute). A
long randomised campaign multiplies them (profile registered in tests/conftest.py):

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import string
import typing
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from hypothesis import HealthCheck, Phase, assume, example, find, given, settings
from hypothesis import strategies as st

from compliance import (
    Engine,
    InputError,
    Problem,
    RulesError,
    default_rules_dir,
    installed_checks,
    load_ruleset,
)
from compliance.errors import CATALOG
from compliance.io import read_path
from compliance.observations import OFFICIAL, VISIT
from compliance.visit import Category, UnitLevel
from compliance.yamlsafe import load_document

ENGINE = Engine.load()
CHECKS = [info.check for info in installed_checks()]

_LOADED = settings()  # the profile in force: Hypothesis' default, or HYPOTHESIS_PROFILE=long
_SCALE = max(1, _LOADED.max_examples // 100)


def budget(examples: int) -> settings:
    """`examples` per test in CI (derandomised); the long profile multiplies them, at random."""
    return settings(
        max_examples=examples * _SCALE,
        deadline=None,
        derandomize=_SCALE == 1,
        database=None if _SCALE == 1 else _LOADED.database,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ---------------------------------------------------------------- checking what comes back


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def assert_renders(problem: Problem) -> None:
    """The problem is in the catalogue and says itself fully in both languages."""
    assert isinstance(problem, Problem)
    assert problem.code in CATALOG, problem.code
    for lang, template in zip(("vi", "en"), CATALOG[problem.code]):
        given_names = set(problem.params) | {"hint", "detail_vi", "detail_en"}
        given_names |= {k[: -len(lang) - 1] for k in problem.params if k.endswith(f"_{lang}")}
        missing = _placeholders(template) - given_names
        assert not missing, f"{problem.code} ({lang}) lacks {missing}"
        text = problem.render(lang)  # type: ignore[arg-type]
        assert isinstance(text, str) and text.strip()
    orjson.dumps(problem.to_dict())


def assert_input_error(exc: InputError) -> None:
    assert exc.problems, "an InputError must say what is wrong"
    for problem in exc.problems:
        assert_renders(problem)
    assert exc.render("vi") and exc.render("en")


def evaluate_or_refuse(data: Any) -> Any:
    """The result (serialisable), or None after checking the InputError. Anything else fails."""
    try:
        result = ENGINE.evaluate(data)
    except InputError as exc:
        assert_input_error(exc)
        return None
    result.to_json()
    return result


# ------------------------------------------------------------------- arbitrary JSON values

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def junk_or(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values, sometimes any JSON at all."""
    return st.one_of(valid, valid, JSON)


_VI_WORDS = ["Trưởng phòng", "Phó Chủ tịch UBND", "Chuyên viên", "Nguyễn Văn A", "Hợp Hòa", "Văn thư", "kế toán"]
_TEXT = st.sampled_from(_VI_WORDS) | st.text(max_size=12)
_FIXED_OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)
)
_MOMENTS = st.one_of(
    st.datetimes(timezones=_FIXED_OFFSETS).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2008, 1, 1), max_value=datetime(2026, 12, 31)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "2018-06-12T07:50:00+07:00",
            "2018-06-12T07:50:00Z",
            "2018-06-12 07:50",
            "2018-02-30T08:00:00+07:00",
            "",
        ]
    ),
    st.integers(),
    st.floats(),
)
_HHMM = st.sampled_from(["08:25", "7:05", "23:59", "00:00", "24:00", "25:61", "8:5", " 07:30 ", "08:30:00"]) | st.text(
    max_size=6
)


def _shaped(valid: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of the valid keys (junk values now and then) plus stray keys."""
    known = st.fixed_dictionaries({}, optional={k: junk_or(v) for k, v in valid.items()})
    stray = st.dictionaries(st.sampled_from([k + "_" for k in valid] + ["x", "", "visit"]) | st.text(max_size=6), JSON, max_size=2)
    return st.tuples(known, stray, st.booleans()).map(lambda t: {**t[0], **t[1]} if t[2] else t[0])


# Every observation the installed checks declare, with a strategy drawn from its JSON Schema: a
# new regulation's fields are generated without a line here.
_FORMAT = ENGINE.visit_format
_SCHEMA = _FORMAT.json_schema()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _resolve(_SCHEMA["$defs"][ref.rsplit("/", 1)[1]]) if ref else schema


def _field_schema(place: str, name: str) -> dict[str, Any]:
    if place == OFFICIAL:
        personnel = _SCHEMA["properties"]["personnel"]
        holder = _resolve(next(o for o in personnel.get("anyOf", [personnel]) if o.get("type") == "array")["items"])
    elif place == VISIT:
        holder = _SCHEMA
    else:
        holder = _resolve(next(o for o in _SCHEMA["properties"][place]["anyOf"] if o.get("type") != "null"))
    field = holder["properties"][name]
    options = [_resolve(o) for o in field.get("anyOf", [field]) if o.get("type") != "null"]
    return options[0] if options else {}


def observed_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid values of one observation, from its schema: codes, true/false, small counts, clock times."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = schema.get("minimum", 0)
        return st.integers(low, min(schema.get("maximum", low + 200), low + 200))
    if kind == "number":
        return st.floats(schema.get("minimum", 0), schema.get("maximum", 100), allow_nan=False)
    if schema.get("pattern", "").startswith("^([01]?"):
        return st.times().map(lambda t: t.strftime("%H:%M"))
    return _TEXT


def _invalid_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values near a valid one that validation must refuse (a code in capitals, a count below zero, ...)."""
    if "enum" in schema:
        return st.sampled_from([str(v).upper() for v in schema["enum"]] + ["away"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.sampled_from(["yes", 1, "true"])
    if kind == "integer":
        return st.sampled_from([-1, 10**6 + 1, 2**64, 2.5, True])
    return st.sampled_from(["25:61", 7])


PLACES: dict[str, list[str]] = {}
for _place, _name in sorted(_FORMAT.readers, key=lambda pair: (pair[0], pair[1])):
    PLACES.setdefault(_place, []).append(_name)
SECTIONS = sorted(p for p in PLACES if p not in (OFFICIAL, VISIT))


def _place_values(place: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        name: observed_values(_field_schema(place, name)) | _invalid_values(_field_schema(place, name))
        for name in PLACES.get(place, [])
    }


_OFFICIAL_SHAPED = _shaped(
    {
        "id": _TEXT,
        "name": _TEXT,
        "category": st.sampled_from([c.value for c in Category] + ["Cadre", "officer"]),
        "position": _TEXT,
        "leader": st.booleans() | st.sampled_from(["true", 1, 0]),
        **_place_values(OFFICIAL),
    }
)
_COUNT = st.integers(min_value=-2, max_value=30) | st.sampled_from([10**6, 10**6 + 1, 2**64, 1.0, 2.5, True])
_RANDOM_SHAPED = _shaped(
    {
        "visit_id": _TEXT,
        "inspected_at": _MOMENTS,
        "plan_ref": _TEXT,
        "inspectors": st.lists(_TEXT, max_size=3),
        "unit": _shaped(
            {
                "id": _TEXT,
                "name": _TEXT,
                "level": st.sampled_from([u.value for u in UnitLevel] + ["village"]),
                "parent_id": _TEXT,
                "province": _TEXT,
                "headcount": _COUNT,
            }
        ),
        "personnel": st.lists(_OFFICIAL_SHAPED, max_size=5),
        **{section: _shaped(_place_values(section)) for section in SECTIONS},
        **_place_values(VISIT),
        "notes": _TEXT,
    }
)


# -------------------------------------------------------------------------- valid visits

_NFC_LETTERS = "abcdeghiklmnopqrstuvxyđăâêôơưáàảãạếềểễệốồổỗộớờởỡợứừửữựíìỉĩịýỳỷỹỵ" + "ABCĐ0123456789.-_"
_IDS = st.text(alphabet=_NFC_LETTERS, min_size=1, max_size=10)
_NAMES = st.none() | st.sampled_from(_VI_WORDS) | st.text(alphabet=_NFC_LETTERS + " ", max_size=20)
_POSITIONS = st.none() | st.sampled_from(
    ["Chủ tịch UBND", "Phó Chủ tịch UBND", "Trưởng phòng", "Phó trưởng phòng", "Chuyên viên", "Văn thư",
     "Công chức Tư pháp - Hộ tịch", "GIÁM ĐỐC", "chánh văn phòng"]
)
_MAYBE_BOOL = st.none() | st.booleans()


@st.composite
def _observations(draw: st.DrawFn, place: str) -> dict[str, Any]:
    """Observations of one place, each not observed (null or left out) now and then."""
    out = {}
    for name in PLACES.get(place, []):
        value = draw(st.none() | observed_values(_field_schema(place, name)))
        if value is not None or draw(st.booleans()):
            out[name] = value
    return out


def _models(place: str) -> type[Any]:
    model = ENGINE.visit_model
    if place == OFFICIAL:
        return typing.get_args(model.model_fields["personnel"].annotation)[0]  # type: ignore[no-any-return]
    return next(a for a in typing.get_args(model.model_fields[place].annotation) if a is not type(None))  # type: ignore[no-any-return]


def consistent(place: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` made consistent the way a careful inspector would leave it: observations dropped
    (not observed), last first, until the place's validators accept it."""
    if place == VISIT:
        return data  # the whole visit's validators are met by `consistent_visit`
    model = _models(place)
    data = dict(data)
    order = [k for k in reversed(PLACES.get(place, [])) if k in data]
    identity = {"id": "x"} if place == OFFICIAL else {}
    while True:
        try:
            model.model_validate({**data, **identity})
            return data
        except ValidationError:
            if not order:
                raise
            data.pop(order.pop(0))


_NAMED = re.compile(r"personnel\[(\d+)\]\.(\w+)")


def consistent_visit(visit: dict[str, Any]) -> dict[str, Any] | None:
    """The visit with observations a whole-visit validator names (e.g. an arrival after the team
    left) dropped, as the engine parses it with the calendar; None if it cannot be made valid."""
    for _ in range(len(visit["personnel"]) + 1):
        try:
            ENGINE.parse_visit(visit)
            return visit
        except InputError as exc:
            named = [_NAMED.search(p.message("en")) for p in exc.problems]
            if not named or not all(named):
                return None
            for match in named:
                assert match is not None
                index, field = int(match.group(1)), match.group(2)
                visit["personnel"][index].pop(field, None)
    return None


@st.composite
def officials(draw: st.DrawFn, official_id: str) -> dict[str, Any]:
    official: dict[str, Any] = {
        "id": official_id,
        "name": draw(_NAMES),
        "category": draw(st.none() | st.sampled_from([c.value for c in Category])),
        "position": draw(_POSITIONS),
        "leader": draw(st.none() | st.none() | st.booleans()),
        **consistent(OFFICIAL, draw(_observations(OFFICIAL))),
    }
    # null and absent both mean "not observed": drop some of the nulls
    nulls = sorted(k for k, v in official.items() if v is None and k != "id")
    drop = draw(st.sets(st.sampled_from(nulls))) if nulls else set()
    return {k: v for k, v in official.items() if k not in drop}


@st.composite
def sections(draw: st.DrawFn, place: str) -> dict[str, Any] | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    return consistent(place, draw(_observations(place)))


_OFFSET_MINUTES = st.sampled_from([7 * 60, 7 * 60, 0, -5 * 60, 14 * 60, -12 * 60, 5 * 60 + 30, -(3 * 60 + 30)]) | st.integers(
    -14 * 60, 14 * 60
)


def _iso(day: date, moment: time, offset_minutes: int) -> str:
    return datetime.combine(day, moment, timezone(timedelta(minutes=offset_minutes))).isoformat()


@st.composite
def visits(draw: st.DrawFn, visit_id: str | None = None, max_personnel: int = 40) -> dict[str, Any]:
    ids = draw(st.lists(_IDS, max_size=max_personnel, unique_by=str.strip))
    day = draw(st.dates(date(2008, 1, 1), date(2026, 12, 31)))
    moment = draw(
        st.times(time(6, 30), time(17, 45)) | st.times()
    )  # mostly around the working day, sometimes any time
    unit: dict[str, Any] = {
        "id": draw(_IDS),
        "name": draw(_NAMES),
        "level": draw(st.sampled_from([u.value for u in UnitLevel])),
        "province": draw(st.none() | st.just("Vĩnh Phúc")),
        "headcount": draw(st.none() | st.integers(0, 60)),
    }
    visit = {
        "visit_id": visit_id or draw(_IDS),
        "inspected_at": _iso(day, moment, draw(_OFFSET_MINUTES)),
        "unit": unit,
        "personnel": [draw(officials(i)) for i in ids],
        **{section: draw(sections(section)) for section in SECTIONS},
        **consistent(VISIT, draw(_observations(VISIT))),
        "notes": draw(st.none() | st.just("ghi chú")),
    }
    made = consistent_visit(visit)
    assume(made is not None)
    return made  # type: ignore[return-value]


_CONFUSERS = st.sampled_from(
    ["", " ", "true", "null", 1, 0, -1, 1.5, float("nan"), [], {}, None, True, "ABSENT", "25:61", 10**7, "x" * 201,
     "2018-06-12T07:50:00", "2018-06-12T07:50:00+07:00", "Trưởng phòng", "o\u0301"]
)


@st.composite
def corrupted(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid visit with up to three values replaced, keys deleted or stray keys added."""
    visit = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(0, 3))):
        people = visit.get("personnel")
        places = [visit, visit.get("unit"), visit.get("workplace"), visit.get("one_stop")]
        places += people if isinstance(people, list) else []
        target = draw(st.sampled_from([p for p in places if isinstance(p, dict)]))
        action = draw(st.sampled_from(["replace", "replace", "delete", "stray"]))
        if action == "stray" or not target:
            target[draw(st.sampled_from(["x", "Id", "visitId", "attendence", ""]) | st.text(max_size=5))] = draw(JSON)
            continue
        key = draw(st.sampled_from(sorted(target)))
        if action == "delete":
            del target[key]
        else:
            target[key] = draw(_CONFUSERS | JSON)
    return visit


VISIT_SHAPED = _RANDOM_SHAPED | corrupted(visits(max_personnel=6))


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _as_json_bytes(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")  # NaN and Infinity as Python writes them


@budget(300)
@given(JSON | VISIT_SHAPED)
@example({"visit_id": "v", "inspected_at": "0001-01-01T00:00:00+14:00", "unit": {"id": "u", "level": "commune"}})
@example({"visit_id": "v", "inspected_at": "9999-12-31T23:59:59-12:00", "unit": {"id": "u", "level": "commune"}})
@example({"visit_id": "v", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u", "level": "commune"},
          "notes": _nested(40)})
def test_any_json_value_evaluates_or_is_refused_with_located_bilingual_problems(data: Any) -> None:
    evaluate_or_refuse(data)
    evaluate_or_refuse(_as_json_bytes(data))
    evaluate_or_refuse(json.dumps(data, ensure_ascii=False))


def test_a_visit_nested_thousands_deep_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    deep = _nested(5_000)
    data = {"visit_id": "v", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u", "level": "commune"}}
    assert evaluate_or_refuse({**data, "notes": deep}) is None
    assert evaluate_or_refuse({**data, "x\u0301": deep}) is None
    text = json.dumps(data)[:-1] + ', "notes": ' + "[" * 900 + "]" * 900 + ', "id\\u0301": 1}'
    assert evaluate_or_refuse(text.encode()) is None
    # a JSON array file is streamed item by item: an item nested deeper than the limit is refused by the scanner
    path = tmp_path / "deep.json"
    path.write_text("[" + json.dumps(data)[:-1] + ', "notes": ' + "[" * 5_000 + "]" * 5_000 + "}]")
    (record,) = list(read_path(path))
    with pytest.raises(InputError) as caught:
        ENGINE.parse_record(record)
    assert_input_error(caught.value)


# ------------------------------------------------------------------ arbitrary input files

_VALID_LINE = json.dumps(
    {"visit_id": "v1", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u1", "level": "commune"},
     "personnel": [{"id": "o1", "attendance": "absent", "position": "Trưởng phòng"}]},
    ensure_ascii=False,
).encode()


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or valid visit lines with bytes inserted, deleted or flipped."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    lines = [_VALID_LINE] * draw(st.integers(1, 3))
    raw = bytearray(b"\n".join(lines))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "flip"]))
        if action == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4) | st.sampled_from([b"\xef\xbb\xbf", b"\r\n", b"\n---\n", b"\x00", b"["]))
        elif action == "delete" and raw:
            del raw[at : at + draw(st.integers(1, 8))]
        elif raw:
            raw[min(at, len(raw) - 1)] = draw(st.integers(0, 255))
    return bytes(raw)


def _located(path: Path, span: tuple[int, int, int] | None = None) -> list[tuple[int, bytes | None, str | None]]:
    from compliance.errors import InputError

    try:
        return [(r.line, r.raw, r.problem.code if r.problem else None) for r in read_path(path, span=span)]
    except InputError as exc:
        return [(0, None, exc.problems[0].code)]


@budget(200)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")) | st.sampled_from([b"", b"  ", b"\r", b'{"a": 1}']), max_size=30),
    st.sampled_from([b"\n", b"\r\n"]),
    st.booleans(),
    st.booleans(),
    st.integers(1, 9),
)
def test_a_jsonl_file_cut_into_pieces_reads_as_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], newline: bytes, bom: bool, trailing: bool, pieces: int
) -> None:
    """Pieces tile the file, start at line starts, and together give exactly the whole file's
    records with the same line numbers: no record is lost, doubled or renumbered when workers
    share a file."""
    from compliance.io import jsonl_spans, splittable

    raw = (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines) + (newline if trailing and lines else b"")
    path = tmp_path_factory.mktemp("pieces") / "visits.jsonl"
    path.write_bytes(raw)
    if not splittable(path):  # UTF-16/32 by its first bytes: refused whole, so never cut
        assert _located(path) == [(0, None, "not_utf8")]
        return
    spans = jsonl_spans(path, pieces)
    assert spans[0][:1] == (0,) and spans[-1][1] == len(raw) and len(spans) <= pieces
    assert all(a[1] == b[0] and raw[b[0] - 1 : b[0]] == b"\n" for a, b in zip(spans, spans[1:]))
    assert all(raw[: s[0]].count(b"\n") + 1 == s[2] for s in spans)
    whole = _located(path)
    parts = [entry for span in spans for entry in _located(path, span) if entry[2] != "empty_input"]
    if whole and whole[0][2] == "empty_input":
        whole = []
    assert parts == whole


@budget(250)
@given(file_bytes(), st.sampled_from(["jsonl", "json", "yaml", "jsonl.gz", "txt"]))
def test_any_file_reads_into_records_or_input_errors(tmp_path_factory: pytest.TempPathFactory, raw: bytes, suffix: str) -> None:
    import gzip

    path = tmp_path_factory.mktemp("inputs") / f"visits.{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix.endswith(".gz") else raw)
    try:
        records = list(read_path(path))
    except InputError as exc:
        assert_input_error(exc)
        assert all(p.file == str(path) for p in exc.problems)
        return
    for record in records:
        assert record.source == str(path) and record.line >= 1
        try:
            visit = ENGINE.parse_record(record)
        except InputError as exc:
            assert_input_error(exc)
            continue
        ENGINE.evaluate(visit).to_json()


# The observation each rule reads, and the value that makes it a violation. A finding whose
# field is null would be a finding about something nobody observed.
def _without(visit: dict[str, Any], check: str, subject: str | None = None) -> dict[str, Any]:
    """The visit with every observation `check` declares it reads left unobserved (only of the
    official `subject`, when given, for what the check reads of officials)."""
    out = copy.deepcopy(visit)
    for place, fragment in _FORMAT.fragments[check].items():
        names = list(fragment.model_fields)
        if place == OFFICIAL:
            for official in out["personnel"]:
                if subject is None or official["id"] == subject:
                    for name in names:
                        official.pop(name, None)
        elif place == VISIT:
            for name in names:
                out.pop(name, None)
        elif out.get(place) is not None:
            for name in names:
                out[place].pop(name, None)
    return out


def assert_no_finding_from_null(visit: dict[str, Any], result: Any) -> None:
    """Not observed is never a violation: a finding goes away when what its check reads is not
    observed (of its official, for a finding about one; at all, for one about the unit)."""
    for finding in result.findings:
        subject = finding.subject.id if finding.subject.type == "official" else None
        again = ENGINE.evaluate(_without(visit, finding.check, subject))
        assert not any(f.key == finding.key and f.subject == finding.subject for f in again.findings), (
            f"{finding.key} about {finding.subject.id} stays when what '{finding.check}' reads is not observed"
        )


def _nulled(visit: dict[str, Any]) -> dict[str, Any]:
    out = dict(visit)
    official = PLACES.get(OFFICIAL, [])
    out["personnel"] = [{**p, **{k: None for k in official}} for p in visit["personnel"]]
    for section in SECTIONS:
        if visit.get(section) is not None:
            out[section] = {k: None for k in visit[section]}
    for name in PLACES.get(VISIT, []):
        if name in out:
            out[name] = None
    return out


@budget(150)
@given(visits(), st.randoms(use_true_random=False))
def test_valid_visits_are_deterministic_order_free_and_never_judge_the_unobserved(
    visit: dict[str, Any], rng: random.Random
) -> None:
    result = ENGINE.evaluate(visit)
    first = result.to_json()
    assert ENGINE.evaluate(visit).to_json() == first
    # the same visit through every input path
    assert ENGINE.evaluate(json.dumps(visit, ensure_ascii=False).encode()).to_json() == first
    assert ENGINE.evaluate(json.dumps(visit)).to_json() == first
    # personnel order is an accident of the input
    shuffled = {**visit, "personnel": rng.sample(visit["personnel"], len(visit["personnel"]))}
    assert ENGINE.evaluate(shuffled).to_json() == first
    assert_no_finding_from_null(visit, result)
    assert ENGINE.evaluate(_nulled(visit)).findings == ()


@budget(25)
@given(st.integers(0, 6).flatmap(lambda n: st.tuples(*[visits(f"V-{i}", max_personnel=8) for i in range(n)])),
       st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_input_records(
    tmp_path_factory: pytest.TempPathFactory, batch: tuple[dict[str, Any], ...], rng: random.Random
) -> None:
    def results(order: list[dict[str, Any]]) -> dict[str, bytes]:
        path = tmp_path_factory.mktemp("order") / "visits.jsonl"
        path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in order) or b"\n")
        try:
            records = list(read_path(path))
        except InputError:
            assert not order  # only an empty file has no records
            return {}
        out = {}
        for record in records:
            result = ENGINE.evaluate(ENGINE.parse_record(record))
            out[result.visit_id] = result.to_json()
        return out

    forward = results(list(batch))
    assert results(rng.sample(list(batch), len(batch))) == forward
    assert results(list(reversed(batch))) == forward
    assert set(forward) == {v["visit_id"] for v in batch}


# ------------------------------------------------------------------------- rules files

RULES = default_rules_dir()
RULE_FILES = sorted(p.name for p in RULES.glob("*.yaml"))
WORKING_HOURS = (RULES / "working_hours.yaml").read_text(encoding="utf-8")

_KEYS = st.sampled_from(
    ["check", "title", "rules", "absent_unexcused", "late_arrival", "effective_from", "effective_to", "severity",
     "message", "vi", "en", "legal_basis", "document", "thresholds", "grace_minutes", "versions", "<<", "? x", "x"]
) | st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=8)
_VALUES = st.sampled_from(
    ["", "1", "-3", "0x1F", "1e999", ".nan", "~", "null", "true", "yes", "8:30", "2016-09-05", "2016-13-45",
     "2016-09-05 07:00:00", "minor", "serious", "'q'", '"x\\u0301"', "[1, 2", "{a: 1}", "[]", "{}", "&a 1", "*a",
     "*nope", "!!str 5", "!!python/object/apply:os.system [echo]", "!tag x", "!!binary aGk=", "!!int x",
     "!!bool maybe", "!!timestamp x", "!!float x", "!!map x", "2016-02-30", "2016-09-05 25:00:00", "|", ">-", "%",
     "@", "`", "{vi: x, en: y}", "[{document: X}]", "\t", "'unterminated", "\"esc\\q\"", "ợ"]
) | st.text(max_size=10)


@st.composite
def yamlish(draw: st.DrawFn) -> str:
    """Lines of a YAML-like grammar: keys, values, lists, anchors, tags, odd indentation."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        indent = " " * draw(st.sampled_from([0, 0, 2, 4, 6, 1, 3]))
        shape = draw(st.sampled_from(["kv", "kv", "key", "item", "item_kv", "doc", "comment", "raw"]))
        key, value = draw(_KEYS), draw(_VALUES)
        lines.append(
            {
                "kv": f"{indent}{key}: {value}",
                "key": f"{indent}{key}:",
                "item": f"{indent}- {value}",
                "item_kv": f"{indent}- {key}: {value}",
                "doc": draw(st.sampled_from(["---", "...", "%YAML 1.2", "--- !!map"])),
                "comment": f"{indent}# {value}",
                "raw": draw(st.text(max_size=15)),
            }[shape]
        )
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """The real file with a few lines deleted, duplicated, renumbered or inserted."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "number_to_word", "insert_key", "indent"]))
        line = lines[at]
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, line)
        elif action == "number_to_word":
            digits = [i for i, c in enumerate(line) if c.isdigit()]
            if digits:
                i = draw(st.sampled_from(digits))
                lines[at] = line[:i] + draw(st.sampled_from(["two", "x", "", "-", "99999"])) + line[i + 1 :]
        elif action == "insert_key":
            indent = line[: len(line) - len(line.lstrip())]
            lines.insert(at, f"{indent}{draw(_KEYS)}: {draw(_VALUES)}")
        else:
            lines[at] = " " + line
        if not lines:
            lines = [""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(RULES, target)
    return target


def _load_with(rules_dir: Path, name: str, text: str) -> None:
    path = rules_dir / name
    original = (RULES / name).read_bytes()
    path.write_text(text, encoding="utf-8")
    try:
        load_ruleset(rules_dir, CHECKS)
    except RulesError as exc:
        assert exc.problems
        try:
            parsed = load_document(text, str(path), collect_duplicates=True).data is not None
        except InputError:
            parsed = False
        for problem in exc.problems:
            assert_renders(problem)
            assert problem.file, f"problem without a file: {problem}"
            if parsed and problem.file == str(path):
                assert problem.line is not None, f"problem without a line: {problem.render('en')}"
    finally:
        path.write_bytes(original)


@budget(80)
@given(yamlish(), st.sampled_from(RULE_FILES))
def test_any_yaml_text_as_a_rules_file_loads_or_is_refused_with_file_and_line(rules_copy: Path, text: str, name: str) -> None:
    _load_with(rules_copy, name, text)


def _rules_text(name: str) -> str:
    return (RULES / name).read_text(encoding="utf-8")


_MUTATED = st.sampled_from(["working_hours.yaml"] * len(RULE_FILES) + RULE_FILES).flatmap(
    lambda name: st.tuples(mutated(_rules_text(name)), st.just(name))
)


@budget(80)
@given(_MUTATED)
@example((WORKING_HOURS.replace("grace_minutes: 0", "grace_minutes: zero", 1), "working_hours.yaml"))
@example((WORKING_HOURS.replace("2016-09-05", "2016-13-45", 1), "working_hours.yaml"))
@example((WORKING_HOURS.replace("severity: minor", "severity: !!int minor", 1), "working_hours.yaml"))
@example((WORKING_HOURS.replace("check: working_hours", "check: working_hours\x07", 1), "working_hours.yaml"))
@example(("", "working_hours.yaml"))
@example(("# only a comment\n", "sanctions.yaml"))
def test_mutated_rules_files_load_or_are_refused_with_file_and_line(rules_copy: Path, case: tuple[str, str]) -> None:
    """The real rules files with lines deleted, duplicated, renumbered, re-indented or added."""
    text, name = case
    _load_with(rules_copy, name, text)


_FIRST_HIT = settings(
    max_examples=2_000, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("rule", sorted(ENGINE.rule_keys))
def test_the_visit_generator_reaches_every_rule(rule: str) -> None:
    """Guard against vacuous properties: generated visits do make each kind of finding."""
    found = find(
        visits(max_personnel=12),
        lambda v: any(f.key == rule for f in ENGINE.evaluate(v).findings),
        settings=_FIRST_HIT,
    )
    assert_no_finding_from_null(found, ENGINE.evaluate(found))


@pytest.mark.parametrize("outcome", ["evaluated", "refused"])
def test_the_shaped_generator_reaches_both_outcomes(outcome: str) -> None:
    find(
        VISIT_SHAPED,
        lambda v: (evaluate_or_refuse(v) is None) == (outcome == "refused"),
        settings=_FIRST_HIT,
    )
