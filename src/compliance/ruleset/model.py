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
from ..common import LegalRef, Severity, Template, Text
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
    effective_from: date = Field(description="First day this version is in force.")
    effective_to: date | None = Field(
        default=None, description="Last day this version is in force; null while still in force."
    )
    legal_basis: list[LegalRef] = Field(min_length=1, description="The documents this version rests on.")

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


class RuleVersion(Versioned, Generic[T]):
    """One version of one rule: in force between two dates, with its thresholds and wording."""

    severity: Severity
    thresholds: T
    message: Template
    note: str | None = None


class RuleSpecMeta(Strict):
    title: Text | None = None


# ---- ruleset.yaml


class Cover(Strict):
    """A province an overlay's rules apply to, and from when to when."""

    province: str = Field(min_length=1, max_length=200, description="The province's name as visits give it.")
    effective_from: date = Field(description="First day the overlay applies to visits of this province.")
    effective_to: date | None = Field(default=None, description="Last day; null while it still applies.")

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class LevelEnd(Strict):
    """A unit level the law abolished: visits to such a unit after `effective_to` describe a
    unit that no longer exists."""

    level: UnitLevel
    effective_to: date = Field(description="Last day units of this level existed.")
    reform: Text = Field(description="The reform that abolished it, as messages name it.")
    legal_basis: list[LegalRef] = Field(min_length=1)


class RulesetMeta(Strict):
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    jurisdiction: str | None = None
    description: Text | None = None
    extends: str | None = Field(
        default=None,
        description="For a province's overlay: the directory of the national base it extends, relative to "
        "this one (e.g. '../../national'). Omitted: a ruleset complete on its own.",
    )
    covers: list[Cover] = Field(
        default_factory=list,
        description="The provinces whose visits this ruleset evaluates, each with its dates. Empty: any visit.",
    )
    unit_levels: list[LevelEnd] = Field(
        default_factory=list, description="Unit levels abolished by law, with the last day they existed."
    )


# ---- catalogue.yaml


class ProvinceChange(Strict):
    """A province that ceased to exist (merged into another by a reform)."""

    name: str = Field(min_length=1, max_length=200)
    effective_to: date = Field(description="Last day the province existed.")
    merged_into: str = Field(min_length=1, max_length=200, description="The province it became part of.")
    legal_basis: list[LegalRef] = Field(min_length=1)


class HomeSpan(Strict):
    """Which province a visit that names none belongs to, by date (the catalogue's home area)."""

    province: str = Field(min_length=1, max_length=200)
    effective_from: date
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class CatalogueMeta(Strict):
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50)
    description: Text | None = None
    base: str = Field("national", description="The national base's directory, relative to the catalogue.")
    overlays: str = Field(
        "provinces", description="The directory holding one sub-directory per province's overlay."
    )
    provinces: list[ProvinceChange] = Field(
        default_factory=list, description="Provinces merged into others, so that an old name is routed only when the visit says so."
    )
    home: list[HomeSpan] = Field(
        default_factory=list,
        description="The province of visits that name none, by date; empty: such a visit is refused.",
    )


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
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.end <= self.start:
            raise ValueError("inconsistent:a session must end after it starts|ca làm việc phải kết thúc sau khi bắt đầu")
        return self


class Season(Strict):
    name: str
    from_: MonthDay = Field(alias="from", description="First day of the season, 'MM-DD'.")
    to: MonthDay = Field(description="Last day of the season, 'MM-DD' (may wrap past the new year).")
    sessions: list[Session] = Field(min_length=1)

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

    source: Literal["holidays"] = Field(
        description="The library: 'holidays', the Python package python-holidays (Open World Holidays Framework)."
    )
    country: str = Field(
        description="The country's ISO 3166-1 code in two capital letters, e.g. 'VN'.",
        json_schema_extra={"pattern": "^[A-Z]{2}$", "examples": ["VN"]},
    )

    @field_validator("country")
    @classmethod
    def _known_to_the_library(cls, country: str) -> str:
        if not library.knows(country):
            raise ValueError(f"unknown_holiday_country:{country}")
        return country


class CalendarVersion(Versioned):
    working_days: list[Weekday] = Field(min_length=1)
    seasons: Seasons | None = Field(
        default=None,
        description="The working sessions by season. A national base may leave them to each province's overlay; "
        "a ruleset evaluated on its own must give them.",
    )
    public_holidays: PublicHolidays | None = Field(
        default=None,
        description="Where the public holidays come from: the library knows the lunar dates, the days off "
        "given when a holiday falls on a weekend and the swaps it has recorded. The lists below add what "
        "it cannot know.",
    )
    annual_holidays: list[MonthDay] = Field(
        default_factory=list, description="Days off every year, 'MM-DD' (a calendar without public_holidays)."
    )
    holidays: list[date] = Field(
        default_factory=list,
        description="Dated days off beyond the public holidays: a day the Government swapped that the library "
        "does not know, a province's own day off.",
    )
    working_weekend_days: list[date] = Field(
        default_factory=list, description="Weekend dates declared working days (make-up days)."
    )
    not_holidays: list[date] = Field(
        default_factory=list,
        description="Corrections: dates on which what public_holidays says (a day off, or a make-up working "
        "day) did not hold; the day counts by its weekday.",
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

    working_days: list[Weekday] | None = Field(default=None, min_length=1)
    seasons: Seasons | None = None
    annual_holidays: list[MonthDay] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list, description="The province's own days off.")
    working_weekend_days: list[date] = Field(default_factory=list, description="The province's make-up working days.")

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
        description="The jurisdiction's offset from UTC; visit times are converted to it.",
    )
    versions: list[CalendarVersion] = Field(min_length=1)


# ---- grading.yaml


class Band(Strict):
    grade: str = Field(min_length=1, max_length=40)
    label: Text
    max_points: int | None = Field(default=None, ge=0)
    max_severity: Severity | None = None


class GradingVersion(Versioned):
    points: dict[Severity, int] = Field(description="Points each finding adds, by severity.")
    bands: list[Band] = Field(min_length=1, description="Checked in order; the first that holds gives the grade.")

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
    versions: list[GradingVersion] = Field(min_length=1)


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
    code: SanctionCode
    target: Target


class Repeats(Strict):
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)


class When(Strict):
    rules: list[str] | None = Field(
        default=None,
        description="'check.rule' ids, or 'check.*' for every rule of a check; omitted: any rule.",
    )
    subject: Literal["official", "unit"] | None = None
    min_severity: Severity | None = None
    max_severity: Severity | None = None
    categories: list[CategoryName] | None = None
    leader: bool | None = None
    repeats: Repeats = Field(default_factory=Repeats)


class Policy(Versioned):
    id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_.-]+$")
    when: When
    recommend: list[Recommend] = Field(min_length=1)
    reason: Text


class DisciplineForms(Versioned):
    category: CategoryName
    non_leader: list[Literal[DISCIPLINE]] = Field(  # type: ignore[valid-type]
        description="Disciplinary forms the law allows for staff without a leadership post."
    )
    leader: list[Literal[DISCIPLINE]]  # type: ignore[valid-type]


class FineVersion(Versioned):
    min: int = Field(ge=0)
    max: int = Field(ge=0)
    currency: Literal["VND"] = "VND"
    target: Target = "official"

    @model_validator(mode="after")
    def _range(self) -> FineVersion:
        if self.max < self.min:
            raise ValueError(f"inconsistent:max ({self.max}) is below min ({self.min})|max ({self.max}) nhỏ hơn min ({self.min})")
        return self


class Fine(Strict):
    rule: str = Field(description="'check.rule' id of the fineable offence.")
    versions: list[FineVersion] = Field(min_length=1)


class SanctionsFile(Strict):
    lookback_months: int = Field(default=12, ge=0, le=120, description="How far back a repeat counts.")
    repeat_scope: Literal["rule", "check"] = Field(
        default="rule", description="Whether a repeat is the same rule or any rule of the same check."
    )
    leader_titles: list[str] = Field(
        default_factory=list,
        description="Position words that mark a leader when a visit does not say (case-insensitive prefix).",
    )
    discipline_ladder: list[Literal[DISCIPLINE]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DISCIPLINE),
        description="Disciplinary forms from mildest to gravest; a form the law does not allow is "
        "replaced by the nearest milder one it does.",
    )
    policies: list[Policy] = Field(min_length=1)
    discipline_forms: list[DisciplineForms] = Field(default_factory=list)
    fines: list[Fine] = Field(default_factory=list)


# ---- report: the words a check's findings take in reports (in <check>.yaml)

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=80)]
RuleRef = Annotated[str, Field(pattern=r"^(\*|[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|\*))?)$", max_length=160)]
"""A rule of this check ('late_arrival'), every rule of it ('*'), or of another ('one_stop.*',
'tthc_posting.posting_outdated')."""
Order = Annotated[int, Field(ge=0, le=10_000, description="Where it stands among its kind; smaller first.")]
Phrase = Annotated[str, Field(min_length=1, max_length=2000)]


class Words(Strict):
    vi: Phrase
    en: Phrase


class Variants(Strict):
    key: Identifier = Field(description="An evidence key of the rule, e.g. 'schedule'.")
    values: dict[str, Words] = Field(description="Words to use instead when every finding has this value.")


class ShortcomingWords(Words):
    """The rule in the "shortcomings" paragraph: "một số cán bộ, công chức, viên chức <vi>"."""

    group: Identifier = Field(
        "units",
        description="'officials' (\"some officials ...\"), 'units' (\"some agencies and units ...\") or a group "
        "this file declares under `groups`.",
    )
    order: Order = 100
    by_evidence: Variants | None = None


class Condition(Strict):
    """When a "complied" sentence holds; every condition given must hold."""

    none: list[RuleRef] = Field(default_factory=list, description="None of these rules found anything.")
    few: list[RuleRef] = Field(default_factory=list, description="Each of these found few subjects (at most a share of the visits).")
    many: list[RuleRef] = Field(default_factory=list, description="Each of these found more than few.")
    found: list[RuleRef] = Field(default_factory=list, description="Each of these found something.")
    levels: list[UnitLevel] | None = Field(default=None, description="Some visit was to a unit at one of these levels.")


class CompliedWords(Words):
    """A sentence of the "complied" paragraph ("Qua kiểm tra ...; <vi>.")."""

    when: Condition
    order: Order = 100


class CountedWords(Words):
    """A counted shortcoming, a sentence of its own: {count} subjects, {units} ("10 xã và 02 cơ
    quan, đơn vị khác"), {what} (the shortcoming words of the rules that found something)."""

    rules: list[RuleRef] = Field(min_length=1)
    order: Order = 100
    en_one: Phrase | None = Field(default=None, description="The English sentence when the count is one.")


class GroupWords(Strict):
    """A run of shortcomings of its own: <lead> item, item <tail>."""

    order: Order = 100
    lead: Words
    tail: Words | None = None


class ExplainingWords(Words):
    """Who the follow-up asks to explain in writing: "cán bộ ... <vi>, ... tại thời điểm kiểm tra"."""

    order: Order = 100


class ReportWords(Strict):
    """How reports speak of a check's findings, in Vietnamese and English."""

    groups: dict[Identifier, GroupWords] = Field(default_factory=dict)
    complied: list[CompliedWords] = Field(default_factory=list)
    shortcomings: dict[Identifier, ShortcomingWords] = Field(default_factory=dict)
    counted: list[CountedWords] = Field(default_factory=list)
    explaining: dict[Identifier, ExplainingWords] = Field(default_factory=dict)

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

    replace: list[Any] | None = Field(default=None, description="Versions that replace the base's, whole.")
    thresholds: dict[str, Any] | None = Field(
        default=None, description="Threshold values that replace the base's in every version of the rule."
    )
    disable: bool = Field(default=False, description="The rule is not in force in this province.")
    reason: Text = Field(description="Why the province departs from the national rule (shown wherever it is).")

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
            thresholds=(rule.thresholds, Field(default_factory=rule.thresholds)),
        )
    return version


@functools.cache
def _check_file_model(check: type[Check], role: str) -> type[BaseModel]:
    rule_fields: dict[str, Any] = {}
    for rule_id, rule in check.rules.items():
        versions = Annotated[list[_version_model(check, rule_id)], Field(min_length=1)]  # type: ignore[misc]
        kind: Any = versions if role == "base" else versions | RuleOverride
        rule_fields[rule_id] = (kind | None, Field(default=None, description=rule.summary))
    rules_model = create_model(
        f"{_camel(check.id)}{_camel(role)}Rules", __config__=ConfigDict(extra="forbid", frozen=True), **rule_fields
    )
    return create_model(
        f"{_camel(check.id)}{'Overlay' if role == 'overlay' else ''}RulesFile",
        __config__=ConfigDict(extra="forbid", frozen=True),
        check=(Literal[check.id], Field(description="The check this file configures.")),  # type: ignore[valid-type]
        title=(Text | None, None),
        rules=(rules_model, Field(default_factory=rules_model) if role == "overlay" else ...),
        report=(ReportWords, Field(default_factory=ReportWords, description="The words reports use for its findings.")),
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", name) if part)
