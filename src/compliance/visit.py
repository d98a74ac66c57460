"""The visit document: what an inspection team observed at one unit at one moment.

Field names follow the exchange contract (shared/spec). Every observation is optional:
null or absent means "not observed", which is never a violation. Unknown fields are errors,
because a misspelt field silently dropped would hide an observation.
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
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema


class UnitLevel(StrEnum):
    department = "department"
    department_unit = "department_unit"
    district = "district"
    district_unit = "district_unit"
    commune = "commune"


class Category(StrEnum):
    cadre = "cadre"
    civil_servant = "civil_servant"
    public_employee = "public_employee"
    worker = "worker"


class Attendance(StrEnum):
    present = "present"
    late = "late"
    absent = "absent"


class AbsenceReason(StrEnum):
    leave = "leave"
    business_trip = "business_trip"
    sick = "sick"
    training = "training"
    approved_other = "approved_other"


class ReceivingSchedule(StrEnum):
    full_day = "full_day"
    mornings_only = "mornings_only"
    afternoons_only = "afternoons_only"
    closed = "closed"


FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years a visit, or a date whose rules to apply, may have: anything else is a typo."""

CODE_LABELS: dict[StrEnum, tuple[str, str]] = {
    UnitLevel.department: ("sở, ngành", "provincial department"),
    UnitLevel.department_unit: ("đơn vị thuộc sở, ngành", "unit under a department"),
    UnitLevel.district: ("huyện", "district"),
    UnitLevel.district_unit: ("đơn vị thuộc huyện", "unit under a district"),
    UnitLevel.commune: ("xã", "commune"),
    Category.cadre: ("cán bộ", "cadre"),
    Category.civil_servant: ("công chức", "civil servant"),
    Category.public_employee: ("viên chức", "public employee"),
    Category.worker: ("người lao động", "worker"),
    Attendance.present: ("có mặt", "present"),
    Attendance.late: ("đi muộn", "late"),
    Attendance.absent: ("vắng mặt", "absent"),
    AbsenceReason.leave: ("nghỉ phép", "on leave"),
    AbsenceReason.business_trip: ("đi công tác", "on a business trip"),
    AbsenceReason.sick: ("nghỉ ốm", "sick"),
    AbsenceReason.training: ("đi học", "in training"),
    AbsenceReason.approved_other: ("được phép", "approved"),
    ReceivingSchedule.full_day: ("cả ngày", "full day"),
    ReceivingSchedule.mornings_only: ("chỉ buổi sáng", "mornings only"),
    ReceivingSchedule.afternoons_only: ("chỉ buổi chiều", "afternoons only"),
    ReceivingSchedule.closed: ("đóng cửa", "closed"),
}
"""The visit's codes in each language's words: a message shows `xã`, not `commune`. A check
passes the enum member (not its text) as evidence for its message to be shown so; the
finding's evidence keeps the code."""
CODE_TYPES = frozenset({UnitLevel, Category, Attendance, AbsenceReason, ReceivingSchedule})

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
Id = Annotated[str, Field(min_length=1, max_length=200)]
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


class Official(_Strict):
    id: Id
    name: Text | None = None
    category: Category | None = None
    position: Text | None = None
    leader: StrictBool | None = Field(
        default=None,
        description="Holds a leadership post. When absent it is inferred from `position` "
        "using the leader titles of the sanctions policy.",
    )
    attendance: Attendance | None = None
    arrived_at: LocalTime | None = None
    absence_reason: AbsenceReason | None = None
    wearing_id_card: StrictBool | None = None
    attire_proper: StrictBool | None = None
    nameplate_on_desk: StrictBool | None = None
    drinking_alcohol: StrictBool | None = None
    smoking: StrictBool | None = None
    signed_pledge: StrictBool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Official:
        if self.absence_reason is not None and self.attendance not in (Attendance.absent, None):
            raise ValueError(
                "inconsistent:absence_reason is set but attendance is not 'absent'"
                "|có lý do vắng mặt nhưng attendance không phải 'absent'"
            )
        if self.arrived_at is not None and self.attendance == Attendance.absent:
            raise ValueError(
                "inconsistent:arrived_at is set for an absent official"
                "|có giờ đến (arrived_at) cho người vắng mặt"
            )
        return self


class Workplace(_Strict):
    rooms_inspected: Count | None = None
    rooms_untidy: Count | None = None
    rooms_with_altar: Count | None = None
    rooms_with_incense: Count | None = None
    no_smoking_signs_posted: StrictBool | None = None
    pledges_organized: StrictBool | None = None

    @model_validator(mode="after")
    def _rooms_within_inspected(self) -> Workplace:
        if self.rooms_inspected is None:
            return self
        for name in ("rooms_untidy", "rooms_with_altar", "rooms_with_incense"):
            value = getattr(self, name)
            if value is not None and value > self.rooms_inspected:
                raise ValueError(
                    f"inconsistent:{name} ({value}) exceeds rooms_inspected ({self.rooms_inspected})"
                    f"|{name} ({value}) lớn hơn số phòng được kiểm tra ({self.rooms_inspected})"
                )
        return self


class OneStop(_Strict):
    exists: StrictBool | None = None
    open_at_visit: StrictBool | None = None
    receiving_schedule: ReceivingSchedule | None = None
    uses_shared_software: StrictBool | None = None
    procedures_in_scope: Count | None = None
    procedures_posted: Count | None = None
    posting_up_to_date: StrictBool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OneStop:
        if (
            self.procedures_in_scope is not None
            and self.procedures_posted is not None
            and self.procedures_posted > self.procedures_in_scope
        ):
            raise ValueError(
                f"inconsistent:procedures_posted ({self.procedures_posted}) exceeds "
                f"procedures_in_scope ({self.procedures_in_scope})"
                f"|số TTHC niêm yết ({self.procedures_posted}) lớn hơn số TTHC thuộc phạm vi "
                f"({self.procedures_in_scope})"
            )
        if self.exists is False and self.open_at_visit is True:
            raise ValueError(
                "inconsistent:the desk is marked open but does not exist"
                "|bộ phận một cửa không tồn tại nhưng lại ghi là đang mở"
            )
        return self


class _NullIsEmpty:
    """`personnel: null` is "nobody was checked", as leaving it out is: not observed.

    Validated after the list itself, not before: a before-validator would make pydantic build
    the whole JSON list as Python objects first, which doubled the cost of validating a visit.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_empty_if_none, core_schema.nullable_schema(handler(source)))


def _empty_if_none(value: list[Any] | None) -> list[Any]:
    return [] if value is None else value


class Visit(_Strict):
    """One inspection visit ("một lần kiểm tra") to one unit."""

    visit_id: Id
    inspected_at: AwareDatetime
    plan_ref: Text | None = None
    inspectors: list[Text] | None = None
    unit: Unit
    personnel: Annotated[list[Official], Field(max_length=10_000), _NullIsEmpty()] = Field(default_factory=list)
    workplace: Workplace | None = None
    one_stop: OneStop | None = None
    notes: Annotated[str, Field(max_length=100_000)] | None = None

    @field_validator("inspected_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("wrong_time_type")
        return value

    @field_validator("inspected_at")
    @classmethod
    def _plausible_year(cls, value: datetime) -> datetime:
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"year_range:{value.year}")
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
