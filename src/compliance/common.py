"""Vocabulary shared by visits, rules and results: severity, bilingual text, legal citations."""

from __future__ import annotations

import re
import string
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Severity(StrEnum):
    minor = "minor"
    moderate = "moderate"
    serious = "serious"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def label(self) -> dict[str, str]:
        return _LABELS[self]


_RANK = {Severity.minor: 1, Severity.moderate: 2, Severity.serious: 3, Severity.critical: 4}
_LABELS = {
    Severity.minor: {"vi": "nhẹ", "en": "minor"},
    Severity.moderate: {"vi": "trung bình", "en": "moderate"},
    Severity.serious: {"vi": "nghiêm trọng", "en": "serious"},
    Severity.critical: {"vi": "rất nghiêm trọng", "en": "critical"},
}


DESCRIPTION_VI = "x-description-vi"
"""JSON Schema keyword of a description in Vietnamese, beside `description` in English."""


def described(en: str, vi: str) -> dict[str, Any]:
    """`Field` keywords that describe a field in English and Vietnamese, for the JSON Schemas
    editors show policy staff: `Field(0, ge=0, **described("Minutes ...", "Số phút ..."))`."""
    return {"description": en, "json_schema_extra": {DESCRIPTION_VI: vi}}


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1, max_length=4000)]


class Text(Frozen):
    """The same text in Vietnamese and English."""

    __doc_vi__ = "Cùng một nội dung bằng tiếng Việt và tiếng Anh."

    vi: NonEmpty = Field(**described("The Vietnamese text.", "Nội dung bằng tiếng Việt."))
    en: NonEmpty = Field(**described("The English text.", "Nội dung bằng tiếng Anh."))

    def get(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


class LegalRef(Frozen):
    """A citation: the document and, where known, the article and clause."""

    __doc_vi__ = "Một căn cứ pháp lý: văn bản và, nếu biết, điều, khoản."

    document: NonEmpty = Field(**described("Document number, e.g. 'NĐ 117/2020/NĐ-CP'.", "Số, ký hiệu văn bản, ví dụ 'NĐ 117/2020/NĐ-CP'."))
    article: str | None = Field(default=None, **described("Article and clause, e.g. 'Điều 30 khoản 2'.", "Điều, khoản, ví dụ 'Điều 30 khoản 2'."))
    title: str | None = Field(default=None, **described("The document's title or subject.", "Tên hoặc trích yếu của văn bản."))
    issued: date | None = Field(default=None, **described("Date of issue, YYYY-MM-DD.", "Ngày ban hành, YYYY-MM-DD."))
    note: str | None = Field(default=None, **described(
        "E.g. that the value is a heuristic.", "Ghi chú, ví dụ giá trị là ngưỡng kinh nghiệm, không do luật quy định."
    ))


_PLACEHOLDER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def placeholders(template: str) -> set[str]:
    """The {name} placeholders a message uses; anything fancier is rejected."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        # Python's words ("Single '}' encountered in format string") mean nothing to policy staff.
        raise ValueError("placeholder_lone_close:" if str(exc).startswith("Single '}'") else "placeholder_unclosed:") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _PLACEHOLDER.match(name) or spec or conversion:
            raise ValueError(f"placeholder_bad:{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        names.add(name)
    return names


class Values(dict[str, Any]):
    """Placeholder values, shown as plain text; a missing or null value shows as a dash."""

    def __getitem__(self, key: str) -> str:
        return shown_value(self.get(key))

    def __missing__(self, key: str) -> str:
        return "—"


def fill(template: str, values: dict[str, Any]) -> str:
    """Fill {name} placeholders with plain values.

    Templates are checked by `placeholders` when a ruleset loads, so only plain names reach
    here: no attribute or index access is possible.
    """
    return template.format_map(values if isinstance(values, Values) else Values(values))


def shown_value(value: Any) -> str:
    """A value as a message shows it: a dash for null, percentages for shares."""
    return "—" if value is None else _plain(value)


def _plain(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not 0 <= value <= 1:
            return f"{value:g}"
        shown = f"{value:.0%}"
        if 0 < value < 1 and shown in ("0%", "100%"):
            # 1199 of 1200 posted must not read "100%" in a finding that says it falls short.
            shown = f"{value:.2%}"
        return shown
    return str(value)


class Template(Text):
    """A bilingual message whose {placeholders} are filled from a finding's evidence."""

    __doc_vi__ = "Thông điệp song ngữ; các chỗ điền {tên} lấy giá trị từ bằng chứng của phát hiện."

    @field_validator("vi", "en")
    @classmethod
    def _simple_placeholders(cls, value: str) -> str:
        placeholders(value)
        return value

    def names(self) -> tuple[set[str], set[str]]:
        return placeholders(self.vi), placeholders(self.en)

    def render(self, values: dict[str, Any]) -> dict[str, str]:
        shown = values if isinstance(values, Values) else Values(values)
        return {"vi": self.vi.format_map(shown), "en": self.en.format_map(shown)}
