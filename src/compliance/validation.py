"""Turn pydantic's validation errors into problems a person can act on.

Each problem names the field path, says what was found and what was expected in both
languages, suggests the nearest valid name for a misspelt key, and points at the file line
when the input came from YAML.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from . import public_holidays
from .errors import MAX_PROBLEMS, Problem, cap_problems, hint_params, impossible_date, shorten
from .paths import named_path, path_params
from .visit import FIRST_YEAR, ID_PATTERN, LAST_YEAR, Visit
from .yamlsafe import YamlDocument

PathStyle = Literal["dotted", "arrows"]
_PERSONAL = frozenset({"name"})

_EXPECTED: dict[str, tuple[str, str]] = {
    "bool": ("true hoặc false", "true or false"),
    "int": ("một số nguyên", "a whole number"),
    "float": ("một số", "a number"),
    "str": ("một chuỗi văn bản", "text"),
    "list": ("một danh sách", "a list"),
    "dict": ("một đối tượng (mapping)", "an object (mapping)"),
    "date": ("một ngày YYYY-MM-DD", "a date YYYY-MM-DD"),
    "datetime": (
        "thời điểm ISO 8601 có múi giờ, ví dụ 2018-06-12T07:50:00+07:00",
        "an ISO 8601 time with offset, e.g. 2018-06-12T07:50:00+07:00",
    ),
}

_TYPE_TO_EXPECTED = {
    "bool_type": "bool",
    "bool_parsing": "bool",
    "int_type": "int",
    "int_parsing": "int",
    "int_from_float": "int",
    "float_type": "float",
    "float_parsing": "float",
    "string_type": "str",
    "list_type": "list",
    "tuple_type": "list",
    "dict_type": "dict",
    "model_type": "dict",
    "model_attributes_type": "dict",
    "date_type": "date",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "date_from_datetime_inexact": "date",
    "datetime_type": "datetime",
    "datetime_parsing": "datetime",
    "datetime_from_date_parsing": "datetime",
    "datetime_object_invalid": "datetime",
}

_BOUNDS = {
    "greater_than_equal": (">= {ge}", "be >= {ge}", "ge"),
    "greater_than": ("> {gt}", "be > {gt}", "gt"),
    "less_than_equal": ("<= {le}", "be <= {le}", "le"),
    "less_than": ("< {lt}", "be < {lt}", "lt"),
    "too_short": ("có ít nhất {min_length} phần tử", "have at least {min_length} items", "min_length"),
    "too_long": ("có nhiều nhất {max_length} phần tử", "have at most {max_length} items", "max_length"),
    "string_too_short": (
        "dài ít nhất {min_length} ký tự",
        "be at least {min_length} characters long",
        "min_length",
    ),
    "string_too_long": (
        "dài nhiều nhất {max_length} ký tự",
        "be at most {max_length} characters long",
        "max_length",
    ),
}


def describe(value: Any) -> str:
    """A short rendering of an offending value."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_path(loc: Sequence[Any], style: PathStyle = "dotted") -> str:
    """`personnel[0].attendance`, or with arrows as rule and case files are read
    (`personnel › #1 › attendance`, see `compliance.paths`); a key from the input is quoted
    shortened (`shorten`)."""
    if style == "arrows":
        return named_path(loc)[0]
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = shorten(str(part))
            out += f".{text}" if out else text
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Union/Annotated/list/dict wrappers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _step(annotation: Any, part: Any) -> Any:
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(part, int) and origin in (list, tuple, set, frozenset):
            return typing.get_args(candidate)[0]
        if origin is dict and not isinstance(part, int):
            return typing.get_args(candidate)[1]
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            field = candidate.model_fields.get(part)
            if field is not None:
                return field.annotation
    return None


def _annotation_at(model: type[BaseModel], loc: Sequence[Any]) -> list[Any]:
    """The concrete types a value at `loc` may have, or none if the path leaves the model."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    return _unwrap(annotation)


def field_names_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The valid field names of the object at `loc`, for did-you-mean suggestions."""
    for candidate in _annotation_at(model, loc):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def _choices_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    for candidate in _annotation_at(model, loc):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return [str(m.value) for m in candidate]
        if typing.get_origin(candidate) is Literal:
            return [str(a) for a in typing.get_args(candidate)]
    return []


def _clean_loc(loc: Sequence[Any]) -> tuple[Any, ...]:
    """Drop pydantic's internal union/validator tags from a location."""
    return tuple(
        p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("function-after", "function-before")))
    )


def problem_from_error(error: Any, model: type[BaseModel]) -> Problem:
    loc = _clean_loc(error.get("loc", ()))
    kind = error.get("type", "")
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        field = str(loc[-1]) if loc else "?"
        hint = hint_params(field, field_names_at(model, loc[:-1])) if len(field) <= 200 else {}
        return Problem(_unknown_code(model, loc), {"field": shorten(field), **hint})
    if kind == "missing":
        return Problem("missing")
    if kind in _TYPE_TO_EXPECTED:
        expected = _TYPE_TO_EXPECTED[kind]
        if expected in ("date", "datetime") and isinstance(value, str) and impossible_date(value):
            return Problem("bad_date", {"found": describe(value)})  # in the form, yet no such day
        return wrong_type(expected, value)
    if kind in ("enum", "literal_error"):
        choices = _choices_at(model, loc)
        found = describe(value)
        params: dict[str, Any] = {"found": found, "expected": ", ".join(choices) or ctx.get("expected", "")}
        if isinstance(value, str):
            params.update(hint_params(value, choices))
        return Problem("invalid_choice", params)
    if kind in _BOUNDS:
        vi, en, key = _BOUNDS[kind]
        bound = {key: ctx.get(key)}
        return Problem(
            "out_of_range",
            {"found": describe(value), "expected_vi": vi.format(**bound), "expected_en": en.format(**bound)},
        )
    if kind == "json_invalid":
        return Problem("bad_json", {"detail": str(ctx.get("error", error.get("msg", "")))})
    if kind == "timezone_aware":
        return Problem("naive_datetime")
    if kind == "value_error":
        return _custom_problem(str(ctx.get("error", error.get("msg", ""))), value)
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN and isinstance(value, str):
        position, char = next(((i, c) for i, c in enumerate(value, 1) if not (c.isprintable() or c == " ")), (0, "?"))
        return Problem(
            "invisible_character",
            {"found": describe(value), "character": f"U+{ord(char):04X}", "position": position},
        )
    if kind == "string_pattern_mismatch":
        return Problem("pattern_mismatch", {"found": describe(value), "pattern": ctx.get("pattern", "?")})
    # Kinds no model here produces today: pydantic's own text, with its kind named for Vietnamese.
    return Problem(
        "invalid_value",
        {"detail_en": error.get("msg", kind), "detail_vi": f"không đạt điều kiện '{kind}' của trường này"},
    )


def _unknown_code(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """Anywhere in a visit but its unit (whose fields are the visit's own), an unknown field is
    one no installed check reads: an observation of a check not installed here, or a misspelling
    (the did-you-mean says which)."""
    if loc[:1] == ("visit",) and "visit" in model.model_fields:  # the service's envelope
        inner = model.model_fields["visit"].annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return _unknown_code(inner, loc[1:])
    if not (isinstance(model, type) and issubclass(model, Visit)) or loc[:1] == ("unit",):
        return "unknown_field"
    return "unknown_observation"


def wrong_type(expected: str, value: Any) -> Problem:
    """`value` is not of the kind `expected` names ("date", "list", ... of `_EXPECTED`)."""
    vi, en = _EXPECTED[expected]
    return Problem("wrong_type", {"expected_vi": vi, "expected_en": en, "found": describe(value)})


def year_out_of_range(found: str) -> Problem:
    return Problem(
        "out_of_range",
        {
            "found": found,
            "expected_vi": f"là một năm trong khoảng {FIRST_YEAR}-{LAST_YEAR}",
            "expected_en": f"be a year between {FIRST_YEAR} and {LAST_YEAR}",
        },
    )


def _custom_problem(text: str, value: Any) -> Problem:
    code, _, rest = text.partition(":")
    if code == "bad_time":
        return Problem("bad_time", {"found": describe(value)})
    if code == "inconsistent":
        en, _, vi = rest.partition("|")
        return Problem("inconsistent", {"detail_en": en, "detail_vi": vi or en})
    if code == "duplicate_id":
        found, _, index = rest.rpartition(":")
        return Problem("duplicate_id", {"found": found, "index": int(index)}) if index.isdigit() else Problem("duplicate_id", {"found": rest})
    if code == "wrong_time_type":
        return wrong_type("datetime", value)
    if code == "year_range":
        return year_out_of_range(rest)
    if code == "bad_date":
        return Problem("bad_date", {"found": describe(value)})
    if code == "unknown_holiday_country":
        return Problem(
            "unknown_holiday_country",
            {"found": describe(value), "version": public_holidays.library_version(), **hint_params(rest.upper(), public_holidays.countries())},
        )
    return Problem("invalid_value", {"detail": text})


def problems(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    source: str | None = None,
    doc: YamlDocument | None = None,
    record: int | None = None,
    line: int | None = None,
    style: PathStyle = "dotted",
    prefix: Sequence[Any] = (),
) -> list[Problem]:
    """The problems of one validation error (at most MAX_PROBLEMS, then how many more), located
    in the source where possible: 170,000 stray keys cost the first hundred's work, not 5 s."""
    out = []
    errors = exc.errors(include_url=False)
    for error in errors[:MAX_PROBLEMS]:
        if _PERSONAL.intersection(str(p) for p in error.get("loc", ())[-1:]):
            error = {**error, "input": "…"}  # names are personal data: never echoed back
        problem = problem_from_error(error, model)
        loc = tuple(prefix) + _clean_loc(error.get("loc", ()))
        if problem.code == "duplicate_id" and "index" in problem.params:
            loc += (problem.params["index"], "id")  # the repeated entry's own id, not the whole list
        where: dict[str, Any] = {"file": source, "path": format_path(loc, style) or None, "record": record}
        if style == "arrows":
            where.update(path_params(loc, doc.data if doc is not None else None))
        if doc is not None:
            at_line, column = doc.locate(loc, key=error.get("type") == "extra_forbidden")
            where.update(line=at_line, column=column)
        elif line is not None:
            where["line"] = line
        out.append(problem.at(**where))
    return cap_problems(out, more=len(errors) - len(out))
