"""The visit document: what an inspection team observed at one unit at one moment.

Field names follow the exchange contract (shared/spec). This module holds what every check
shares: the visit, the unit and each official's identity. The observations themselves are
declared by the checks that read them and composed into the visit format when the engine loads
(`compliance.observations`). Every observation is optional: null or absent means "not
observed", which is never a violation. Unknown fields are errors, because a misspelt field
silently dropped would hide an observation.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationInfo,
    StrictBool,
    StrictInt,
    field_validator,
)
from pydantic_core import core_schema


class Code(StrEnum):
    """A coded value of the visit format whose members carry the words a message shows.

    Declared as ``present = "present", "có mặt", "present"``: the code, then its Vietnamese and
    English words. A check passes the member (not its text) as evidence for its message to show
    the words; the finding's evidence keeps the code.
    """

    def __new__(cls, value: str, vi: str | None = None, en: str | None = None) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member._words = (vi or value, en or value)
        return member

    def word(self, lang: str) -> str:
        """The code in `lang`'s words ('vi' or 'en')."""
        words: tuple[str, str] = self._words  # type: ignore[attr-defined]
        return words[0] if lang == "vi" else words[1]


class UnitLevel(Code):
    department = "department", "sở, ngành", "provincial department"
    department_unit = "department_unit", "đơn vị thuộc sở, ngành", "unit under a department"
    district = "district", "huyện", "district"
    district_unit = "district_unit", "đơn vị thuộc huyện", "unit under a district"
    commune = "commune", "xã", "commune"


class Category(Code):
    cadre = "cadre", "cán bộ", "cadre"
    civil_servant = "civil_servant", "công chức", "civil servant"
    public_employee = "public_employee", "viên chức", "public employee"
    worker = "worker", "người lao động", "worker"


FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years a visit, or a date whose rules to apply, may have: anything else is a typo."""

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _local_time(value: Any) -> Any:
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
        raise ValueError(f"bad_time:{value}")
    raise ValueError(f"bad_time:{value!r}")


_COMBINING = (b"\xcc", b"\xcd")


def nfc_bytes(raw: bytes) -> bytes:
    """A JSON document with its text in NFC.

    Vietnamese arrives composed (NFC) or decomposed (NFD, combining marks U+0300-U+036F);
    one form keeps ids and titles equal whatever keyboard produced them. Documents without
    combining marks, nearly all of them, are passed through untouched.
    """
    if _COMBINING[0] in raw or _COMBINING[1] in raw:
        raw = unicodedata.normalize("NFC", raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    if b"\\u03" in raw and _ESCAPED_MARK.search(raw):
        return _nfc_escaped(raw)
    return raw


_ESCAPED_MARK = re.compile(rb"\\u03[0-6][0-9a-fA-F]")


def _nfc_escaped(raw: bytes) -> bytes:
    """Combining marks written as JSON escapes (Python's json.dumps writes every non-ASCII
    letter so): normalised after decoding. A document that does not decode, or holds numbers
    that would not survive re-encoding (floats, integers beyond 64 bits), is left as it is."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if _changes_when_reencoded(data, 0):
        return raw
    return orjson.dumps(nfc_data(data))


def _changes_when_reencoded(value: Any, depth: int) -> bool:
    if isinstance(value, float) or depth > _NFC_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_changes_when_reencoded(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_changes_when_reencoded(v, depth + 1) for v in value)
    return False


_NFC_DEPTH = 32
"""No field of a visit is nested this deep: below it nothing needs normalising (and a hostile
document nested thousands deep must not exhaust the stack)."""


def nfc_data(value: Any, _depth: int = 0) -> Any:
    """`nfc_bytes` for data already parsed (dicts from YAML or an embedding program)."""
    if isinstance(value, str):
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if _depth > _NFC_DEPTH:
        return value
    if isinstance(value, dict):
        return {nfc_data(k, _depth + 1): nfc_data(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_data(v, _depth + 1) for v in value]
    return value


LocalTime = Annotated[time, BeforeValidator(_local_time)]
"""A wall-clock time "HH:MM" in the visit's local time."""

Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
ID_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\xa0\xad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\ufeff\ufff9-\ufffb]*$"
)
"""No control character, no zero-width, bidi or other invisible format character, no line
separator and no space but the ASCII one: such a character makes two ids that look the same
different subjects, which would defeat duplicate detection and repeat escalation. Written so
that pydantic (Rust), Python and JSON Schema (ECMA-262) validators read it alike."""
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]
Text = Annotated[str, Field(max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Unit(_Strict):
    id: Id
    name: Text | None = None
    level: UnitLevel
    parent_id: Id | None = None
    province: Text | None = None
    headcount: Count | None = None
    merged_into: Text | None = Field(
        default=None,
        description="The province `province` became part of, when the visit (after a merger) still names the old "
        "one: the visit is then evaluated with the new province's rules.",
    )


class Official(_Strict):
    """An official's identity, which every check shares. What was observed of the official is
    declared by the checks that read it and added to this model when the engine composes the
    visit format (`compliance.observations`)."""

    id: Id
    name: Text | None = None
    category: Category | None = None
    position: Text | None = None
    leader: StrictBool | None = Field(
        default=None,
        description="Holds a leadership post. When absent it is inferred from `position` "
        "using the leader titles of the sanctions policy.",
    )


class _NullIsEmpty:
    """`personnel: null` is "nobody was checked", as leaving it out is: not observed.

    Validated after the list itself, not before: a before-validator would make pydantic build
    the whole JSON list as Python objects first, which doubled the cost of validating a visit.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_empty_if_none, core_schema.nullable_schema(handler(source)))


def _empty_if_none(value: list[Any] | None) -> list[Any]:
    return [] if value is None else value


MAX_PERSONNEL = 10_000


def personnel_of(official: type[Official]) -> Any:
    """The annotation of a visit's `personnel` holding `official` models."""
    return Annotated[list[official], Field(max_length=MAX_PERSONNEL), _NullIsEmpty()]  # type: ignore[valid-type]


class Visit(_Strict):
    """One inspection visit ("một lần kiểm tra") to one unit.

    This is the part every check shares; the observations (attendance, rooms, the one-stop
    desk, ...) are declared by the installed checks, and `Engine.visit_model` is this model
    with them added."""

    visit_id: Id
    inspected_at: AwareDatetime
    plan_ref: Text | None = None
    inspectors: list[Text] | None = None
    unit: Unit
    personnel: personnel_of(Official) = Field(default_factory=list)  # type: ignore[valid-type]
    notes: Annotated[str, Field(max_length=100_000)] | None = None

    @field_validator("inspected_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("wrong_time_type")
        return value

    @field_validator("inspected_at")
    @classmethod
    def _plausible_year(cls, value: datetime, info: ValidationInfo) -> datetime:
        # The local date is what the rules go by: with the jurisdiction's offset in the
        # validation context, its year is checked (2999-12-31T20:00-12:00 is 3000 in Vietnam).
        offset = info.context.get("utc_offset") if info.context else None
        year = value.year
        if offset is not None and FIRST_YEAR - 1 <= year <= LAST_YEAR + 1:
            year = value.astimezone(offset).year
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"year_range:{year}")
        return value

    @field_validator("personnel")
    @classmethod
    def _unique_officials(cls, personnel: list[Official]) -> list[Official]:
        seen: set[str] = set()
        for index, official in enumerate(personnel):
            if official.id in seen:
                raise ValueError(f"duplicate_id:{official.id}:{index}")
            seen.add(official.id)
        return personnel

    def local_moment(self, utc_offset: Any | None = None) -> datetime:
        """When the team arrived, in the jurisdiction's offset when one is given."""
        return self.inspected_at.astimezone(utc_offset) if utc_offset else self.inspected_at

    def local_date(self, utc_offset: Any | None = None) -> date:
        return self.local_moment(utc_offset).date()
