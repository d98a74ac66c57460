"""The shape of rule files, as pydantic models: the single source of the JSON Schema editors use.

Everything that changes with the law is a list of versions, each with `effective_from` and
`effective_to` (inclusive; null means still in force) and the legal basis that made it.
"""

from __future__ import annotations

import functools
import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from .. import public_holidays as library
from ..check import Check, Thresholds
from ..common import DESCRIPTION_VI, LegalRef, Severity, Template, Text, described
from ..visit import UnitLevel

T = TypeVar("T", bound=Thresholds)

_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _month_day(value: Any) -> Any:
    if isinstance(value, str) and _MMDD.match(value):
        return value
    raise ValueError(f"expected a month-day 'MM-DD', found {value!r}")


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    raise ValueError(f"bad_time:{value}")


MonthDay = Annotated[str, BeforeValidator(_month_day)]
Clock = Annotated[time, BeforeValidator(_clock)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Versioned(Strict):
    effective_from: date = Field(**described("First day this version is in force, YYYY-MM-DD.", "Ngày đầu tiên phiên bản này có hiệu lực, YYYY-MM-DD."))
    effective_to: date | None = Field(
        default=None,
        **described(
            "Last day this version is in force (the day before the next version starts); null while still in force.",
            "Ngày cuối cùng phiên bản này có hiệu lực (ngày trước khi phiên bản sau bắt đầu); để trống khi còn hiệu lực.",
        ),
    )
    legal_basis: list[LegalRef] = Field(
        min_length=1, **described("The documents this version rests on (at least one).", "Các văn bản làm căn cứ cho phiên bản này (ít nhất một).")
    )

    @model_validator(mode="after")
    def _ordered(self) -> Versioned:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"inconsistent:effective_to ({self.effective_to}) is before effective_from "
                f"({self.effective_from})|effective_to ({self.effective_to}) trước effective_from "
                f"({self.effective_from})"
            )
        return self

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


_THRESHOLDS = described(
    "The values this rule version judges by, as the check declares them.",
    "Các ngưỡng phiên bản quy tắc này dùng để đánh giá, theo khai báo của kiểm tra.",
)


class RuleVersion(Versioned, Generic[T]):
    """One version of one rule: in force between two dates, with its thresholds and wording."""

    __doc_vi__ = "Một phiên bản của một quy tắc: có hiệu lực giữa hai ngày, với các ngưỡng và lời văn của nó."

    severity: Severity = Field(**described("Severity of a finding of this rule.", "Mức độ của phát hiện theo quy tắc này."))
    thresholds: T = Field(**_THRESHOLDS)
    message: Template = Field(**described(
        "What a finding says, in Vietnamese and English; {placeholders} come from its evidence.",
        "Nội dung phát hiện bằng tiếng Việt và tiếng Anh; các chỗ điền {tên} lấy từ bằng chứng.",
    ))
    note: str | None = Field(default=None, **described("A note for editors; not shown in findings.", "Ghi chú cho người soạn; không hiện trong phát hiện."))


class RuleSpecMeta(Strict):
    title: Text | None = None


# ---- ruleset.yaml


class Cover(Strict):
    """A province an overlay's rules apply to, and from when to when."""

    __doc_vi__ = "Một tỉnh mà bộ quy tắc của tỉnh áp dụng, từ ngày nào đến ngày nào."

    province: str = Field(min_length=1, max_length=200, **described("The province's name as visits give it.", "Tên tỉnh như lần kiểm tra ghi."))
    effective_from: date = Field(**described(
        "First day the overlay applies to visits of this province.", "Ngày đầu tiên bộ quy tắc áp dụng cho các lần kiểm tra của tỉnh này."
    ))
    effective_to: date | None = Field(default=None, **described("Last day; null while it still applies.", "Ngày cuối cùng; để trống khi vẫn còn áp dụng."))

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class LevelEnd(Strict):
    """A unit level the law abolished: visits to such a unit after `effective_to` describe a
    unit that no longer exists."""

    __doc_vi__ = ("Một cấp đơn vị đã bị pháp luật bãi bỏ: lần kiểm tra đơn vị cấp đó sau `effective_to` là kiểm tra "
                  "một đơn vị không còn tồn tại.")

    level: UnitLevel
    effective_to: date = Field(**described("Last day units of this level existed.", "Ngày cuối cùng đơn vị cấp này còn tồn tại."))
    reform: Text = Field(**described("The reform that abolished it, as messages name it.", "Cải cách đã bãi bỏ cấp này, như thông báo sẽ ghi."))
    legal_basis: list[LegalRef] = Field(min_length=1)


class RulesetMeta(Strict):
    name: str = Field(min_length=1, max_length=100, **described("The ruleset's name, e.g. 'vinh-phuc-base'.", "Tên bộ quy tắc, ví dụ 'vinh-phuc-base'."))
    version: str = Field(min_length=1, max_length=50, **described("The ruleset's version, quoted, e.g. \"2026.11\".", "Phiên bản bộ quy tắc, đặt trong dấu nháy, ví dụ \"2026.11\"."))
    jurisdiction: str | None = Field(default=None, **described("Where it applies, e.g. 'Vĩnh Phúc'.", "Địa bàn áp dụng, ví dụ 'Vĩnh Phúc'."))
    description: Text | None = Field(default=None, **described("What the ruleset is, in both languages.", "Mô tả bộ quy tắc bằng hai thứ tiếng."))
    extends: str | None = Field(default=None, **described(
        "For a province's overlay: the directory of the national base it extends, relative to this one "
        "(e.g. '../..'). Omitted: a ruleset complete on its own.",
        "Với bộ quy tắc của tỉnh: thư mục bộ cơ sở quốc gia mà nó kế thừa, tính từ thư mục này (ví dụ '../..'). "
        "Bỏ trống: bộ quy tắc đầy đủ, tự áp dụng được.",
    ))
    covers: list[Cover] = Field(default_factory=list, **described(
        "The provinces whose visits this ruleset evaluates, each with its dates. Empty: any visit.",
        "Các tỉnh có lần kiểm tra được đánh giá theo bộ quy tắc này, kèm thời gian. Bỏ trống: mọi lần kiểm tra.",
    ))
    unit_levels: list[LevelEnd] = Field(default_factory=list, **described(
        "Unit levels abolished by law, with the last day they existed.",
        "Các cấp đơn vị đã bị pháp luật bãi bỏ, kèm ngày cuối cùng còn tồn tại.",
    ))


# ---- catalogue.yaml


class ProvinceChange(Strict):
    """A province that ceased to exist (merged into another by a reform)."""

    __doc_vi__ = "Một tỉnh không còn tồn tại (đã hợp nhất vào tỉnh khác theo một cải cách)."

    name: str = Field(min_length=1, max_length=200)
    effective_to: date = Field(**described("Last day the province existed.", "Ngày cuối cùng tỉnh còn tồn tại."))
    merged_into: str = Field(min_length=1, max_length=200, **described("The province it became part of.", "Tỉnh mà nó được hợp nhất vào."))
    legal_basis: list[LegalRef] = Field(min_length=1)


class HomeSpan(Strict):
    """Which province a visit that names none belongs to, by date (the catalogue's home area)."""

    __doc_vi__ = "Tỉnh của lần kiểm tra không ghi tỉnh, theo thời gian (địa bàn mặc định của danh mục)."

    province: str = Field(min_length=1, max_length=200)
    effective_from: date
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class CatalogueMeta(Strict):
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    description: Text | None = None
    base: str = Field("national", **described(
        "The national base's directory, relative to the catalogue.", "Thư mục bộ cơ sở quốc gia, tính từ danh mục."
    ))
    overlays: str = Field("provinces", **described(
        "The directory holding one sub-directory per province's overlay.",
        "Thư mục chứa mỗi tỉnh một thư mục con cho bộ quy tắc của tỉnh.",
    ))
    provinces: list[ProvinceChange] = Field(default_factory=list, **described(
        "Provinces merged into others, so that an old name is routed only when the visit says so.",
        "Các tỉnh đã hợp nhất vào tỉnh khác, để tên cũ chỉ được dùng khi lần kiểm tra ghi rõ.",
    ))
    home: list[HomeSpan] = Field(default_factory=list, **described(
        "The province of visits that name none, by date; empty: such a visit is refused.",
        "Tỉnh của những lần kiểm tra không ghi tỉnh, theo thời gian; bỏ trống: lần kiểm tra đó bị từ chối.",
    ))


# ---- calendar.yaml


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class Session(Strict):
    start: Clock = Field(**described("When the session starts, 'HH:MM'.", "Giờ bắt đầu ca làm việc, 'HH:MM'."))
    end: Clock = Field(**described("When it ends, 'HH:MM' (a moment is inside when start <= time < end).", "Giờ kết thúc, 'HH:MM' (một thời điểm thuộc ca khi bắt đầu <= thời điểm < kết thúc)."))

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.end <= self.start:
            raise ValueError("inconsistent:a session must end after it starts|ca làm việc phải kết thúc sau khi bắt đầu")
        return self


class Season(Strict):
    name: str = Field(**described("The season's name, e.g. 'summer'.", "Tên mùa, ví dụ 'summer' (mùa hè)."))
    from_: MonthDay = Field(alias="from", **described("First day of the season, 'MM-DD'.", "Ngày đầu tiên của mùa, 'MM-DD'."))
    to: MonthDay = Field(**described(
        "Last day of the season, 'MM-DD' (may wrap past the new year).", "Ngày cuối cùng của mùa, 'MM-DD' (có thể vắt sang năm sau)."
    ))
    sessions: list[Session] = Field(min_length=1, **described("The working sessions of a day in this season.", "Các ca làm việc trong ngày của mùa này."))

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def contains(self, month_day: str) -> bool:
        if self.from_ <= self.to:
            return self.from_ <= month_day <= self.to
        return month_day >= self.from_ or month_day <= self.to


def _check_seasons(seasons: list[Season] | None) -> list[Season] | None:
    """Every day of the year falls in exactly one season."""
    if seasons is None:
        return seasons
    for month in range(1, 13):
        for day in range(1, 32):
            try:
                date(2024, month, day)
            except ValueError:
                continue
            md = f"{month:02d}-{day:02d}"
            hits = [s.name for s in seasons if s.contains(md)]
            if len(hits) != 1:
                raise ValueError(
                    f"inconsistent:{md} falls in {len(hits)} seasons ({', '.join(hits) or 'none'}); "
                    f"every day must fall in exactly one|ngày {md} thuộc {len(hits)} mùa; mỗi ngày phải thuộc đúng một mùa"
                )
    return seasons


Seasons = Annotated[list[Season], Field(min_length=1)]


class PublicHolidays(Strict):
    """A country's public holidays from a maintained library rather than dates typed by hand."""

    __doc_vi__ = "Ngày nghỉ lễ, Tết của một quốc gia lấy từ một thư viện được duy trì, thay vì tự gõ từng ngày."

    source: Literal["holidays"] = Field(**described(
        "The library: 'holidays', the Python package python-holidays (Open World Holidays Framework).",
        "Thư viện: 'holidays', gói Python python-holidays (Open World Holidays Framework).",
    ))
    country: str = Field(
        description="The country's ISO 3166-1 code in two capital letters, e.g. 'VN'.",
        json_schema_extra={"pattern": "^[A-Z]{2}$", "examples": ["VN"],
                           DESCRIPTION_VI: "Mã quốc gia ISO 3166-1 gồm hai chữ in hoa, ví dụ 'VN'."},
    )

    @field_validator("country")
    @classmethod
    def _known_to_the_library(cls, country: str) -> str:
        if not library.knows(country):
            raise ValueError(f"unknown_holiday_country:{country}")
        return country


class CalendarVersion(Versioned):
    working_days: list[Weekday] = Field(min_length=1, **described("Days of the week worked, e.g. [mon, tue, wed, thu, fri].", "Các ngày làm việc trong tuần, ví dụ [mon, tue, wed, thu, fri]."))
    seasons: Seasons | None = Field(default=None, **described(
        "Seasons with their working hours; every day of the year falls in exactly one. A national base may "
        "leave them to each province's overlay; a ruleset evaluated on its own must give them.",
        "Các mùa và giờ làm việc của từng mùa; mỗi ngày trong năm thuộc đúng một mùa. Bộ cơ sở quốc gia có thể "
        "để bộ quy tắc của từng tỉnh quy định; bộ quy tắc tự áp dụng thì phải có.",
    ))
    public_holidays: PublicHolidays | None = Field(default=None, **described(
        "Where the public holidays come from: the library knows the lunar dates, the days off given when a "
        "holiday falls on a weekend and the swaps it has recorded. The lists below add what it cannot know.",
        "Nguồn lấy ngày nghỉ lễ, Tết: thư viện biết các ngày âm lịch, ngày nghỉ bù khi ngày lễ trùng cuối tuần "
        "và các lần hoán đổi đã ghi nhận. Các danh sách dưới đây bổ sung những gì thư viện không biết.",
    ))
    annual_holidays: list[MonthDay] = Field(default_factory=list, **described(
        "Days off every year, 'MM-DD' (a calendar without public_holidays).",
        "Ngày nghỉ hằng năm, 'MM-DD' (lịch không dùng public_holidays).",
    ))
    holidays: list[date] = Field(default_factory=list, **described(
        "Dated days off beyond the public holidays: a day the Government swapped that the library does not "
        "know, a province's own day off. YYYY-MM-DD.",
        "Ngày nghỉ theo từng năm ngoài các ngày nghỉ lễ: ngày Chính phủ hoán đổi mà thư viện không biết, ngày "
        "nghỉ riêng của tỉnh. YYYY-MM-DD.",
    ))
    working_weekend_days: list[date] = Field(
        default_factory=list, **described("Weekend dates declared working days (make-up days).", "Ngày cuối tuần được quy định là ngày làm việc (làm bù).")
    )
    not_holidays: list[date] = Field(
        default_factory=list,
        **described(
            "Corrections: dates on which what public_holidays says (a day off, or a make-up working day) did not "
            "hold; the day counts by its weekday.",
            "Đính chính: những ngày mà điều public_holidays nói (ngày nghỉ, hay ngày làm bù) không xảy ra; ngày đó "
            "tính theo thứ trong tuần.",
        ),
    )

    @model_validator(mode="after")
    def _corrections_correct_something(self) -> CalendarVersion:
        if self.not_holidays and self.public_holidays is None:
            raise ValueError(
                "inconsistent:not_holidays corrects public_holidays, which this version does not declare"
                "|not_holidays dùng để sửa public_holidays, nhưng phiên bản này không khai báo public_holidays"
            )
        listed = set(self.holidays) | set(self.working_weekend_days)
        for day in self.not_holidays:
            if day in listed:
                raise ValueError(
                    f"inconsistent:{day} is in not_holidays and also in holidays or working_weekend_days"
                    f"|ngày {day:%d/%m/%Y} vừa có trong not_holidays vừa có trong holidays hoặc working_weekend_days"
                )
            assert self.public_holidays is not None
            year = library.year_holidays(self.public_holidays.country, day.year)
            if year is None or (day not in year.days_off and day not in year.working_weekend_days):
                raise ValueError(
                    f"inconsistent:the library lists neither a holiday nor a make-up working day on {day}, "
                    f"so not_holidays has nothing to correct there"
                    f"|thư viện không ghi ngày {day:%d/%m/%Y} là ngày nghỉ lễ hay ngày làm bù, "
                    f"nên not_holidays không có gì để sửa"
                )
        return self

    @field_validator("seasons")
    @classmethod
    def _seasons_cover_the_year(cls, seasons: list[Season] | None) -> list[Season] | None:
        """A field check, not a whole-version one: it runs, and is reported, even while other
        fields of the version are wrong."""
        return _check_seasons(seasons)


class CalendarPatch(Versioned):
    """What a province's overlay sets in the calendar, by date: its working hours (seasons), the
    working days if they differ, and days off or make-up working days of its own. The national
    base's calendar gives the rest; lists of dates add to the base's."""

    __doc_vi__ = ("Những gì bộ quy tắc của tỉnh quy định trong lịch làm việc, theo thời gian: giờ làm việc (các mùa), "
                  "ngày làm việc nếu khác, ngày nghỉ và ngày làm bù riêng. Phần còn lại lấy từ lịch quốc gia; các "
                  "danh sách ngày được cộng thêm vào của bộ cơ sở.")

    working_days: list[Weekday] | None = Field(default=None, min_length=1)
    seasons: Seasons | None = None
    annual_holidays: list[MonthDay] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list, **described("The province's own days off.", "Ngày nghỉ riêng của tỉnh."))
    working_weekend_days: list[date] = Field(default_factory=list, **described(
        "The province's make-up working days.", "Ngày làm bù riêng của tỉnh."
    ))

    @field_validator("seasons")
    @classmethod
    def _seasons_cover_the_year(cls, seasons: list[Season] | None) -> list[Season] | None:
        return _check_seasons(seasons)


class CalendarPatchFile(Strict):
    versions: list[CalendarPatch] = Field(min_length=1)


class CalendarFile(Strict):
    utc_offset: str = Field(
        default="+07:00",
        pattern=r"^[+-](0\d|1[0-4]):[0-5]\d$",
        **described(
            "The jurisdiction's offset from UTC; visit times are converted to it.",
            "Múi giờ của địa phương so với UTC; thời điểm kiểm tra được quy đổi theo múi giờ này.",
        ),
    )
    versions: list[CalendarVersion] = Field(min_length=1, **described("The calendar's versions, each in force between two dates.", "Các phiên bản lịch làm việc, mỗi phiên bản có hiệu lực giữa hai ngày."))


# ---- grading.yaml


class Band(Strict):
    grade: str = Field(min_length=1, max_length=40, **described("The grade's code, e.g. 'good'.", "Mã xếp loại, ví dụ 'good'."))
    label: Text = Field(**described("The grade as reports name it.", "Tên xếp loại hiển thị trong báo cáo."))
    max_points: int | None = Field(default=None, ge=0, **described("Holds when the visit's points are at most this.", "Áp dụng khi tổng điểm của lần kiểm tra không vượt quá giá trị này."))
    max_severity: Severity | None = Field(default=None, **described("Holds when no finding is more severe than this.", "Áp dụng khi không có phát hiện nào nặng hơn mức này."))


class GradingVersion(Versioned):
    points: dict[Severity, int] = Field(**described("Points each finding adds, by severity.", "Số điểm mỗi phát hiện cộng thêm, theo mức độ."))
    bands: list[Band] = Field(min_length=1, **described(
        "Checked in order; the first that holds gives the grade (the last must hold always).",
        "Xét lần lượt; bậc đầu tiên thỏa mãn cho xếp loại (bậc cuối phải luôn thỏa mãn).",
    ))

    # Field checks rather than whole-version ones, so that they are reported alongside other mistakes.
    @field_validator("points")
    @classmethod
    def _every_severity(cls, points: dict[Severity, int]) -> dict[Severity, int]:
        missing = [s.value for s in Severity if s not in points]
        if missing:
            raise ValueError(f"inconsistent:points has no value for {', '.join(missing)}|thiếu điểm cho {', '.join(missing)}")
        return points

    @field_validator("bands")
    @classmethod
    def _catch_all_last(cls, bands: list[Band]) -> list[Band]:
        last = bands[-1]
        if last.max_points is not None or last.max_severity is not None:
            raise ValueError(
                "inconsistent:the last band must match everything (no max_points or max_severity)"
                "|bậc cuối cùng phải áp dụng cho mọi trường hợp (không có max_points/max_severity)"
            )
        return bands


class GradingFile(Strict):
    versions: list[GradingVersion] = Field(min_length=1, **described("The grading's versions, each in force between two dates.", "Các phiên bản thang xếp loại, mỗi phiên bản có hiệu lực giữa hai ngày."))


# ---- sanctions.yaml

OfficialCode = Literal[
    "reminder",
    "explanation_report",
    "self_criticism",
    "emulation_review",
    "reprimand",
    "warning",
    "salary_downgrade",
    "demotion",
    "dismissal_from_post",
    "forced_resignation",
    "administrative_fine",
]
UnitCode = Literal[
    "rectify_within_deadline",
    "head_accountability",
    "explanation_report",
    "emulation_review",
    "administrative_fine",
]
SanctionCode = Literal[
    "reminder",
    "explanation_report",
    "self_criticism",
    "emulation_review",
    "reprimand",
    "warning",
    "salary_downgrade",
    "demotion",
    "dismissal_from_post",
    "forced_resignation",
    "administrative_fine",
    "rectify_within_deadline",
    "head_accountability",
]
DISCIPLINE = (
    "reprimand",
    "warning",
    "salary_downgrade",
    "demotion",
    "dismissal_from_post",
    "forced_resignation",
)
Target = Literal["official", "unit", "unit_head"]
CategoryName = Literal["cadre", "civil_servant", "public_employee", "worker"]


class Recommend(Strict):
    code: SanctionCode = Field(**described("The sanction recommended.", "Hình thức xử lý được kiến nghị."))
    target: Target = Field(**described("Who it is for: the official, the unit or the unit's head.", "Đối tượng: cá nhân, đơn vị hay người đứng đầu đơn vị."))


class Repeats(Strict):
    min: int = Field(default=0, ge=0, **described("At least this many earlier findings within the look-back.", "Có ít nhất chừng này phát hiện trước đó trong thời hạn xét lặp lại."))
    max: int | None = Field(default=None, ge=0, **described("At most this many; null: no limit.", "Có nhiều nhất chừng này; để trống: không giới hạn."))


class When(Strict):
    rules: list[str] | None = Field(
        default=None,
        **described(
            "'check.rule' ids, or 'check.*' for every rule of a check; omitted: any rule.",
            "Mã quy tắc dạng 'check.rule', hoặc 'check.*' cho mọi quy tắc của một kiểm tra; bỏ trống: mọi quy tắc.",
        ),
    )
    subject: Literal["official", "unit"] | None = Field(default=None, **described("A finding about an official or a unit; omitted: either.", "Phát hiện về cá nhân hay về đơn vị; bỏ trống: cả hai."))
    min_severity: Severity | None = Field(default=None, **described("The finding is at least this severe.", "Phát hiện có mức độ từ mức này trở lên."))
    max_severity: Severity | None = Field(default=None, **described("The finding is at most this severe.", "Phát hiện có mức độ không quá mức này."))
    categories: list[CategoryName] | None = Field(default=None, **described("The official is of one of these personnel categories.", "Cá nhân thuộc một trong các loại cán bộ, công chức, viên chức này."))
    leader: bool | None = Field(default=None, **described("The official holds (true) or does not hold (false) a leadership post.", "Cá nhân giữ (true) hay không giữ (false) chức vụ lãnh đạo."))
    repeats: Repeats = Field(default_factory=Repeats, **described("How many earlier findings within the look-back.", "Số phát hiện trước đó trong thời hạn xét lặp lại."))


class Policy(Versioned):
    id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_.-]+$", **described(
        "The policy's id; its versions share it.", "Mã chính sách; các phiên bản của cùng một chính sách dùng chung mã."
    ))
    when: When = Field(**described("When it applies; every condition given must hold.", "Khi nào áp dụng; mọi điều kiện nêu ra đều phải thỏa mãn."))
    recommend: list[Recommend] = Field(min_length=1, **described("What it recommends.", "Các kiến nghị xử lý."))
    reason: Text = Field(**described("Why, as the recommendation says it.", "Lý do, như được nêu trong kiến nghị."))


class DisciplineForms(Versioned):
    category: CategoryName = Field(**described("The personnel category.", "Loại cán bộ, công chức, viên chức."))
    non_leader: list[Literal[DISCIPLINE]] = Field(  # type: ignore[valid-type]
        **described(
            "Disciplinary forms the law allows for staff without a leadership post.",
            "Các hình thức kỷ luật pháp luật cho phép áp dụng với người không giữ chức vụ lãnh đạo.",
        )
    )
    leader: list[Literal[DISCIPLINE]] = Field(  # type: ignore[valid-type]
        **described(
            "Disciplinary forms the law allows for staff with a leadership post.",
            "Các hình thức kỷ luật pháp luật cho phép áp dụng với người giữ chức vụ lãnh đạo.",
        )
    )


class FineVersion(Versioned):
    min: int = Field(ge=0, **described("The lowest fine, in VND.", "Mức phạt thấp nhất, đồng."))
    max: int = Field(ge=0, **described("The highest fine, in VND.", "Mức phạt cao nhất, đồng."))
    currency: Literal["VND"] = Field("VND", **described("Always VND.", "Luôn là VND (đồng)."))
    target: Target = Field("official", **described("Who is fined.", "Đối tượng bị phạt."))

    @model_validator(mode="after")
    def _range(self) -> FineVersion:
        if self.max < self.min:
            raise ValueError(f"inconsistent:max ({self.max}) is below min ({self.min})|max ({self.max}) nhỏ hơn min ({self.min})")
        return self


class Fine(Strict):
    rule: str = Field(**described("'check.rule' id of the fineable offence.", "Mã quy tắc 'check.rule' của hành vi bị xử phạt."))
    versions: list[FineVersion] = Field(min_length=1, **described("The fine's versions, each in force between two dates.", "Các phiên bản mức phạt, mỗi phiên bản có hiệu lực giữa hai ngày."))


class SanctionsFile(Strict):
    lookback_months: int = Field(default=12, ge=0, le=120, **described(
        "How far back (months) an earlier finding counts as a repeat.", "Trong bao nhiêu tháng trước đó một phát hiện được tính là lặp lại."
    ))
    repeat_scope: Literal["rule", "check"] = Field(
        default="rule",
        **described(
            "Whether a repeat is the same rule or any rule of the same check.",
            "Lặp lại là cùng quy tắc (rule) hay bất kỳ quy tắc nào của cùng kiểm tra (check).",
        ),
    )
    leader_titles: list[str] = Field(
        default_factory=list,
        **described(
            "Position words that mark a leader when a visit does not say (case-insensitive prefix).",
            "Các chức danh (phần đầu, không phân biệt hoa thường) cho biết người giữ chức vụ lãnh đạo khi lần kiểm tra không ghi rõ.",
        ),
    )
    discipline_ladder: list[Literal[DISCIPLINE]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DISCIPLINE),
        **described(
            "Disciplinary forms from mildest to gravest; a form the law does not allow is replaced by the nearest "
            "milder one it does.",
            "Các hình thức kỷ luật từ nhẹ đến nặng; hình thức pháp luật không cho phép được thay bằng hình thức nhẹ "
            "hơn gần nhất được phép.",
        ),
    )
    policies: list[Policy] = Field(min_length=1, **described(
        "Recommendation policies; every one whose conditions hold applies.", "Các chính sách kiến nghị xử lý; mọi chính sách thỏa mãn điều kiện đều được áp dụng."
    ))
    discipline_forms: list[DisciplineForms] = Field(default_factory=list, **described(
        "Per personnel category, the disciplinary forms the law allows, by date.", "Theo từng loại cán bộ, công chức, viên chức: các hình thức kỷ luật pháp luật cho phép, theo thời gian."
    ))
    fines: list[Fine] = Field(default_factory=list, **described(
        "Fine ranges of the fineable rules, by date.", "Khung tiền phạt của các quy tắc có xử phạt, theo thời gian."
    ))


# ---- report: the words a check's findings take in reports (in <check>.yaml)

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=80)]
RuleRef = Annotated[str, Field(pattern=r"^(\*|[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|\*))?)$", max_length=160)]
"""A rule of this check ('late_arrival'), every rule of it ('*'), or of another ('one_stop.*',
'tthc_posting.posting_outdated')."""
Order = Annotated[int, Field(ge=0, le=10_000, **described("Where it stands among its kind; smaller first.", "Thứ tự so với các câu cùng loại; số nhỏ đứng trước."))]
Phrase = Annotated[str, Field(min_length=1, max_length=2000)]


class Words(Strict):
    vi: Phrase = Field(**described("The words in Vietnamese.", "Lời văn bằng tiếng Việt."))
    en: Phrase = Field(**described("The words in English.", "Lời văn bằng tiếng Anh."))


class Variants(Strict):
    key: Identifier = Field(**described("An evidence key of the rule, e.g. 'schedule'.", "Một khóa bằng chứng của quy tắc, ví dụ 'schedule'."))
    values: dict[str, Words] = Field(**described(
        "Words to use instead when every finding has this value.", "Lời văn dùng thay khi mọi phát hiện đều có giá trị này."
    ))


class ShortcomingWords(Words):
    """The rule in the "shortcomings" paragraph: "một số cán bộ, công chức, viên chức <vi>"."""

    __doc_vi__ = 'Quy tắc trong đoạn "tồn tại, hạn chế": "một số cán bộ, công chức, viên chức <vi>".'

    group: Identifier = Field(
        "units",
        **described(
            "'officials' (\"some officials ...\"), 'units' (\"some agencies and units ...\") or a group this file "
            "declares under `groups`.",
            "'officials' (\"một số cán bộ, công chức, viên chức ...\"), 'units' (\"một số cơ quan, đơn vị ...\") "
            "hoặc một nhóm tệp này khai báo trong `groups`.",
        ),
    )
    order: Order = 100
    by_evidence: Variants | None = Field(default=None, **described(
        "Other words when every finding has one evidence value.", "Lời văn khác khi mọi phát hiện có cùng một giá trị bằng chứng."
    ))


class Condition(Strict):
    """When a "complied" sentence holds; every condition given must hold."""

    __doc_vi__ = 'Khi nào câu "chấp hành tốt" được nói; mọi điều kiện nêu ra đều phải thỏa mãn.'

    none: list[RuleRef] = Field(default_factory=list, **described("None of these rules found anything.", "Không quy tắc nào trong số này có phát hiện."))
    few: list[RuleRef] = Field(default_factory=list, **described(
        "Each of these found few subjects (at most a share of the visits).", "Mỗi quy tắc này có ít phát hiện (không quá một tỷ lệ số lần kiểm tra)."
    ))
    many: list[RuleRef] = Field(default_factory=list, **described("Each of these found more than few.", "Mỗi quy tắc này có nhiều phát hiện hơn mức ít."))
    found: list[RuleRef] = Field(default_factory=list, **described("Each of these found something.", "Mỗi quy tắc này đều có phát hiện."))
    levels: list[UnitLevel] | None = Field(default=None, **described(
        "Some visit was to a unit at one of these levels.", "Có lần kiểm tra tại đơn vị thuộc một trong các cấp này."
    ))


class CompliedWords(Words):
    """A sentence of the "complied" paragraph ("Qua kiểm tra ...; <vi>.")."""

    __doc_vi__ = 'Một câu của đoạn "chấp hành tốt" ("Qua kiểm tra ...; <vi>.").'

    when: Condition = Field(**described("When the sentence is said.", "Khi nào câu này được nói."))
    order: Order = 100


class CountedWords(Words):
    """A counted shortcoming, a sentence of its own: {count} subjects, {units} ("10 xã và 02 cơ
    quan, đơn vị khác"), {what} (the shortcoming words of the rules that found something)."""

    __doc_vi__ = (
        "Một câu riêng có số đếm: {count} đối tượng, {units} (\"10 xã và 02 cơ quan, đơn vị khác\"), "
        "{what} (lời văn tồn tại của các quy tắc có phát hiện)."
    )

    rules: list[RuleRef] = Field(min_length=1, **described("The rules whose findings are counted.", "Các quy tắc có phát hiện được đếm."))
    order: Order = 100
    en_one: Phrase | None = Field(default=None, **described("The English sentence when the count is one.", "Câu tiếng Anh khi số đếm là một."))


class GroupWords(Strict):
    """A run of shortcomings of its own: <lead> item, item <tail>."""

    __doc_vi__ = "Một chuỗi tồn tại riêng: <lead> mục, mục <tail>."

    order: Order = 100
    lead: Words = Field(**described("The words before the items.", "Lời văn đứng trước các mục."))
    tail: Words | None = Field(default=None, **described("The words after the items.", "Lời văn đứng sau các mục."))


class ExplainingWords(Words):
    """Who the follow-up asks to explain in writing: "cán bộ ... <vi>, ... tại thời điểm kiểm tra"."""

    __doc_vi__ = 'Những ai được yêu cầu giải trình bằng văn bản: "cán bộ ... <vi>, ... tại thời điểm kiểm tra".'

    order: Order = 100


class ReportWords(Strict):
    """How reports speak of a check's findings, in Vietnamese and English."""

    __doc_vi__ = "Cách báo cáo nói về các phát hiện của một kiểm tra, bằng tiếng Việt và tiếng Anh."

    groups: dict[Identifier, GroupWords] = Field(default_factory=dict, **described("Runs of shortcomings of their own.", "Các chuỗi tồn tại riêng."))
    complied: list[CompliedWords] = Field(default_factory=list, **described('Sentences of the "complied" paragraph.', 'Các câu của đoạn "chấp hành tốt".'))
    shortcomings: dict[Identifier, ShortcomingWords] = Field(default_factory=dict, **described(
        'Per rule, its words in the "shortcomings" paragraph.', 'Theo từng quy tắc, lời văn trong đoạn "tồn tại, hạn chế".'
    ))
    counted: list[CountedWords] = Field(default_factory=list, **described("Sentences with a count.", "Các câu có số đếm."))
    explaining: dict[Identifier, ExplainingWords] = Field(default_factory=dict, **described(
        "Per rule, who is asked to explain in writing.", "Theo từng quy tắc, những ai được yêu cầu giải trình bằng văn bản."
    ))

    def union(self, other: ReportWords) -> ReportWords:
        """These words and those of `other` that these lack (for several provinces' rulesets)."""
        return ReportWords(
            groups={**other.groups, **self.groups},
            complied=[*self.complied, *(c for c in other.complied if c not in self.complied)],
            shortcomings={**other.shortcomings, **self.shortcomings},
            counted=[*self.counted, *(c for c in other.counted if c not in self.counted)],
            explaining={**other.explaining, **self.explaining},
        )


# ---- <check>.yaml, built per check from its declared threshold models


class RuleOverride(Strict):
    """How a province's overlay changes a rule of the national base, and why (always said)."""

    __doc_vi__ = "Cách bộ quy tắc của tỉnh thay đổi một quy tắc của bộ cơ sở quốc gia, và lý do (luôn phải ghi)."

    replace: list[Any] | None = Field(default=None, **described(
        "Versions that replace the base's, whole.", "Các phiên bản thay thế toàn bộ phiên bản của bộ cơ sở."
    ))
    thresholds: dict[str, Any] | None = Field(default=None, **described(
        "Threshold values that replace the base's in every version of the rule.",
        "Các giá trị ngưỡng thay cho của bộ cơ sở trong mọi phiên bản của quy tắc.",
    ))
    disable: bool = Field(default=False, **described("The rule is not in force in this province.", "Quy tắc không áp dụng ở tỉnh này."))
    reason: Text = Field(**described(
        "Why the province departs from the national rule (shown wherever it is).",
        "Lý do tỉnh quy định khác quy tắc quốc gia (được hiển thị ở mọi nơi quy tắc xuất hiện).",
    ))

    @model_validator(mode="after")
    def _one_change(self) -> RuleOverride:
        given = [name for name in ("replace", "thresholds") if getattr(self, name) is not None] + (["disable"] if self.disable else [])
        if len(given) != 1:
            raise ValueError(
                "inconsistent:an override gives exactly one of replace, thresholds or disable: true"
                "|một thay đổi chỉ ghi đúng một trong replace, thresholds hoặc disable: true"
            )
        return self


def check_file_model(check: type[Check] | Check, role: str = "base") -> type[BaseModel]:
    """The pydantic model of one check's rules file, with each rule's thresholds typed.

    `role` "base" (a national base, or a ruleset complete on its own) lists each rule's versions;
    a rule not listed is not in force. "overlay" (a province's) lists, per rule, the versions of a
    rule the base does not have, or a `RuleOverride`.

    Built once per check class: creating pydantic models is slow, and a process that loads
    rulesets many times (tests, a service reloading rules) must not pay for it again."""
    return _check_file_model(check if isinstance(check, type) else type(check), role)


def rule_version_model(check: type[Check], rule_id: str) -> type[BaseModel]:
    """The model of one version of `rule_id`, its thresholds typed by the check's model."""
    return _version_model(check, rule_id)


@functools.cache
def _version_model(check: type[Check], rule_id: str) -> type[BaseModel]:
    rule = check.rules[rule_id]
    version: type[BaseModel] = RuleVersion[rule.thresholds]  # type: ignore[name-defined]
    # A rule without thresholds may omit the key.
    if not rule.thresholds.model_fields or all(not f.is_required() for f in rule.thresholds.model_fields.values()):
        version = create_model(
            f"{_camel(check.id)}{_camel(rule_id)}Version",
            __base__=version,
            thresholds=(rule.thresholds, Field(default_factory=rule.thresholds, **_THRESHOLDS)),
        )
    return version


@functools.cache
def _check_file_model(check: type[Check], role: str) -> type[BaseModel]:
    rule_fields: dict[str, Any] = {}
    for rule_id, rule in check.rules.items():
        versions = Annotated[list[_version_model(check, rule_id)], Field(min_length=1)]  # type: ignore[misc]
        kind: Any = versions if role == "base" else versions | RuleOverride
        vi = (rule.title or {}).get("vi")
        about = described(rule.summary, vi) if vi else {"description": rule.summary}
        # Not listed: not in force (or, in an overlay, the base's). Listed, it is a list (or an override).
        rule_fields[rule_id] = (kind, Field(default=None, **about))
    rules_model = create_model(
        f"{_camel(check.id)}{'Overlay' if role == 'overlay' else ''}Rules", __config__=ConfigDict(extra="forbid", frozen=True), **rule_fields
    )
    return create_model(
        f"{_camel(check.id)}{'Overlay' if role == 'overlay' else ''}RulesFile",
        __config__=ConfigDict(extra="forbid", frozen=True),
        check=(Literal[check.id], Field(**described("The check this file configures.", "Kiểm tra mà tệp này cấu hình."))),  # type: ignore[valid-type]
        title=(Text | None, Field(None, **described("The check's name in reports.", "Tên của kiểm tra trong báo cáo."))),
        rules=(rules_model, Field(default_factory=rules_model, **described(
            "Every rule of the check, each a list of versions.", "Mọi quy tắc của kiểm tra, mỗi quy tắc là một danh sách phiên bản."
        )) if role == "overlay" else Field(..., **described(
            "Every rule of the check, each a list of versions.", "Mọi quy tắc của kiểm tra, mỗi quy tắc là một danh sách phiên bản."
        ))),
        report=(ReportWords, Field(default_factory=ReportWords, **described(
            "The words reports use for its findings.", "Lời văn báo cáo dùng cho các phát hiện của kiểm tra."
        ))),
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", name) if part)
