"""The campaign narrative, in the structure of the provincial report (domain.md §5).

Title and period, mandate, coverage, one positive statement per regulation where nothing or
little was found, the shortcomings found (first as a list, then counted), the recommended
follow-up and the close. Every figure comes from ``summary.json``; every sentence exists in
Vietnamese and English. Counts from one to nine are written with two digits in Vietnamese, as
the report writes "07"; nothing done is said in words ("chưa tiến hành cuộc kiểm tra nào"), never "00".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import Lang
from ..render import sanction_name
from .data import DISCIPLINE, MONTHS_EN, known_provinces, rule_name, rule_names

FEW_SHARE = 0.15
"""A finding counts as "little found" (a hedged positive statement still holds) when its
subjects number at most this share of the visits. A presentation heuristic, not law."""

TEAM = {"vi": "Đoàn Kiểm tra trách nhiệm thực thi công vụ", "en": "The public-service inspection team"}


@dataclass(frozen=True)
class Counted:
    metric: str
    count: int
    unit: str
    text: str


@dataclass(frozen=True)
class Narrative:
    """The report's text in one language, with the structured facts behind it."""

    lang: Lang
    title: str
    paragraphs: list[tuple[str, str]]
    period: tuple[str | None, str | None] = (None, None)
    mandate_docs: list[str] = field(default_factory=list)
    units_by_bucket: dict[str, int] = field(default_factory=dict)
    positives: list[str] = field(default_factory=list)
    negatives_qualitative: list[str] = field(default_factory=list)
    negatives_counted: list[Counted] = field(default_factory=list)
    follow_up: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n\n".join([self.title, *(p for _, p in self.paragraphs)])


def num(n: int, lang: Lang) -> str:
    """A count as the report writes it: "07" in Vietnamese, "7" in English; zero stays "0"
    (the report pads a count of things, and "00" reads as a typo)."""
    return f"{n:02d}" if lang == "vi" and 1 <= n < 10 else str(n)


def day_text(iso: str | None, lang: Lang) -> str | None:
    if not iso:
        return None
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    if lang == "vi":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def month_text(key: str, lang: Lang) -> str:
    """'2018-06' as '06/2018' in Vietnamese and 'June 2018' in English."""
    try:
        year, month = (int(part) for part in key.split("-"))
    except ValueError:
        return key
    if not 1 <= month <= 12:
        return key
    return f"{month:02d}/{year}" if lang == "vi" else f"{MONTHS_EN[month - 1]} {year}"


def _join(items: list[str], lang: Lang) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = " và " if lang == "vi" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


def _list(items: list[str], lang: Lang) -> str:
    """A run of shortcomings: commas only in Vietnamese, as the report writes them."""
    return ", ".join(items) if lang == "vi" else _join(items, lang)


def _in_sentence(label: str) -> str:
    """A rule's name inside a sentence: "Không có lãnh đạo" as "không có lãnh đạo", but
    "UBND ..." and an id such as "reception_desk.x" as they are."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _plan(ref: str, lang: Lang) -> str:
    upper = ref.upper()
    kinds = (
        ("/KH-", "Kế hoạch số", "Plan No."),
        ("/QĐ-", "Quyết định số", "Decision No."),
        ("/QD-", "Quyết định số", "Decision No."),
        ("/CT-", "Chỉ thị số", "Directive No."),
    )
    for marker, vi, en in kinds:
        if marker in upper:
            return f"{vi if lang == 'vi' else en} {ref}"
    return f"{'văn bản số' if lang == 'vi' else 'document No.'} {ref}"


class _Facts:
    """Read access to summary.json that never fails on a missing key."""

    def __init__(self, summary: Mapping[str, Any]):
        self.s = summary
        self.visits = int(summary.get("visits") or 0)
        self.subjects: Mapping[str, int] = summary.get("subjects_by_rule") or {}
        self.findings: Mapping[str, int] = summary.get("findings_by_rule") or {}
        self.sanctions: Mapping[str, int] = summary.get("sanctions_by_code") or {}
        self.grades: Mapping[str, int] = summary.get("grades") or {}
        self.units: Mapping[str, int] = summary.get("units_by_level") or {}
        period = summary.get("period") or {}
        self.first: str | None = period.get("from")
        self.last: str | None = period.get("to")
        self.provinces = known_provinces(summary)

    def n(self, rule: str) -> int:
        return int(self.subjects.get(rule) or self.findings.get(rule) or 0)

    def few(self, rule: str) -> bool:
        return self.n(rule) <= math.floor(FEW_SHARE * self.visits)

    def commune(self, rule: str) -> int:
        block = (self.s.get("by_level") or {}).get("commune") or {}
        return int((block.get("subjects_by_rule") or {}).get(rule) or 0)

    def years(self) -> list[int]:
        years: list[int] = []
        for iso in (self.first, self.last):
            try:
                year = date.fromisoformat(iso or "").year
            except ValueError:
                continue
            if year not in years:
                years.append(year)
        if len(years) == 2:
            years = list(range(min(years), max(years) + 1))
        return years


def narrative(summary: Mapping[str, Any], lang: Lang = "vi", *, restricted: set[str] | None = None) -> Narrative:
    """The narrative of a batch summary. `restricted` names the receiving schedules behind
    the restricted-hours findings (e.g. {"afternoons_only"}), when known, for wording."""
    f = _Facts(summary)
    vi = lang == "vi"
    paragraphs: list[tuple[str, str]] = []

    # 1. Title and period.
    first, last = day_text(f.first, lang), day_text(f.last, lang)
    where = ""
    if f.provinces:
        where = (
            f" đối với các cơ quan, đơn vị trên địa bàn tỉnh {_join(f.provinces, lang)}"
            if vi
            else f" of agencies and units in {_join(f.provinces, lang)} province{'s' if len(f.provinces) > 1 else ''}"
        )
    span = ""
    if first and last:
        span = f" từ ngày {first} đến ngày {last}" if vi else f" from {first} to {last}"
    title = (
        f"Kết quả kiểm tra trách nhiệm thực thi công vụ{span}{where}"
        if vi
        else f"Results of the public-service discipline inspections{span}{where}"
    )

    # 2. Mandate.
    team_vi = TEAM["vi"] + (" của tỉnh" if f.provinces else "")
    team_en = "the provincial public-service inspection team" if f.provinces else "the public-service inspection team"
    plans = [str(p) for p in summary.get("plan_refs") or []]
    when = (f"Từ ngày {first} đến ngày {last}, " if vi else f"From {first} to {last}, ") if first and last else ""
    visits = num(f.visits, lang)
    if vi:
        mandate = (
            f"{when}{team_vi} đã tiến hành {visits} cuộc kiểm tra đột xuất"
            if f.visits
            else f"{when}{team_vi} chưa tiến hành cuộc kiểm tra đột xuất nào"
        )
        if plans:
            mandate += " theo " + _join([_plan(p, lang) for p in plans], lang)
    else:
        team = team_en if when else team_en[0].upper() + team_en[1:]
        visits = visits if f.visits else "no"
        mandate = f"{when}{team} made {visits} surprise inspection visit{'s' if f.visits != 1 else ''}"
        if plans:
            mandate += " under " + _join([_plan(p, lang) for p in plans], lang)
    paragraphs.append(("mandate", mandate + "."))

    # 3. Coverage: sở; units under sở; districts, their units and communes as one bucket.
    buckets = {
        "department": int(f.units.get("department") or 0),
        "department_unit": int(f.units.get("department_unit") or 0),
        "local": sum(int(f.units.get(k) or 0) for k in ("district", "district_unit", "commune")),
    }
    known = ("department", "department_unit", "district", "district_unit", "commune")
    buckets["local"] += sum(int(v or 0) for k, v in f.units.items() if k not in known)
    total = sum(buckets.values())
    labels = {  # Vietnamese, English, English for one
        "department": ("sở, ngành", "provincial departments", "provincial department"),
        "department_unit": ("đơn vị thuộc, trực thuộc các sở, ngành", "units under the departments", "unit under a department"),
        "local": (
            "các đơn vị thuộc, trực thuộc UBND các huyện, thành phố và UBND các xã, phường, thị trấn",
            "units of the district and city people's committees and the commune, ward and town people's committees",
            "unit of a district or city people's committee or a commune, ward or town people's committee",
        ),
    }
    parts = [f"{num(n, lang)} {labels[k][0 if vi else 1 if n != 1 else 2]}" for k, n in buckets.items() if n]
    if not total and not f.visits:
        coverage = "Chưa có cơ quan, đơn vị nào được kiểm tra." if vi else "No agency or unit was inspected."
    elif vi:
        coverage = f"Kết quả đã thực hiện kiểm tra đối với {num(total, lang)} cơ quan, đơn vị"
        coverage += (", trong đó: " + "; ".join(parts) + ".") if parts else "."
    else:
        coverage = f"In all, {total} agencies and units were inspected" if total != 1 else "In all, 1 agency or unit was inspected"
        coverage += (": " + "; ".join(parts) + ".") if parts else "."
    paragraphs.append(("coverage", coverage))

    if not f.visits:
        paragraphs.append(
            ("shortcomings", "Chưa có kết quả kiểm tra nào." if vi else "There are no inspection results yet.")
        )
        return Narrative(lang=lang, title=title, paragraphs=paragraphs, period=(f.first, f.last), mandate_docs=plans)

    # 4. Compliance: one positive statement per regulation where nothing or little was found.
    positives = _positives(f, lang)
    if positives:
        lead = "Qua kiểm tra " if vi else "The inspections found that "
        paragraphs.append(("compliance", lead + "; ".join(positives) + "."))

    # 5-6. Shortcomings, qualitative then counted.
    qualitative = _shortcomings(f, lang, restricted or set())
    counted = _counted(f, lang)
    if qualitative:
        if vi:
            text = "Tuy nhiên, tại thời điểm kiểm tra đã phát hiện " + "; ".join(qualitative)
            text += (", cụ thể một số tồn tại như sau: " + " ".join(c.text for c in counted)) if counted else "."
        else:
            text = "However, at the time of the visits " + "; ".join(qualitative)
            text += (". In detail: " + " ".join(c.text for c in counted)) if counted else "."
        paragraphs.append(("shortcomings", text))
    elif counted:
        paragraphs.append(("shortcomings", " ".join(c.text for c in counted)))
    else:
        paragraphs.append(
            (
                "shortcomings",
                "Tại thời điểm kiểm tra không phát hiện tồn tại, vi phạm."
                if vi
                else "No shortcoming was found at the time of the visits.",
            )
        )

    # 8. Follow-up, from the recommended sanctions.
    follow = _follow_up(f, lang)
    if follow:
        paragraphs.append(("follow_up", follow[0]))

    # 9. Close.
    province = f.provinces[0] if len(f.provinces) == 1 else None
    if vi:
        close = (
            f"Trong thời gian tiếp theo, {team_vi} tiếp tục tiến hành kiểm tra đột xuất đối với các cơ quan, "
            f"đơn vị trên địa bàn{' tỉnh' if province else ''} nhằm siết chặt kỷ luật, kỷ cương hành chính, nâng cao ý thức trách nhiệm, thái độ "
            "phục vụ người dân trong đội ngũ cán bộ, công chức, viên chức"
            + (f" tỉnh {province}" if province else "")
            + "./."
        )
    else:
        close = (
            f"In the coming period {team_en} will continue its surprise inspections of agencies and units "
            "to tighten administrative discipline and raise the sense of responsibility and the service attitude of "
            "officials and public employees" + (f" of {province} province" if province else "") + "."
        )
    paragraphs.append(("close", close))

    return Narrative(
        lang=lang,
        title=title,
        paragraphs=paragraphs,
        period=(f.first, f.last),
        mandate_docs=plans,
        units_by_bucket={k: v for k, v in buckets.items()},
        positives=positives,
        negatives_qualitative=qualitative,
        negatives_counted=counted,
        follow_up=follow[1:],
    )


def _positives(f: _Facts, lang: Lang) -> list[str]:
    vi = lang == "vi"
    out: list[str] = []
    graded = sum(int(v or 0) for v in f.grades.values())
    good = int(f.grades.get("good") or 0) + int(f.grades.get("fair") or 0)
    if graded and 2 * good >= graded:
        out.append(
            "các cơ quan, đơn vị cơ bản đã chấp hành kỷ luật, kỷ cương làm việc; thực hiện tốt văn hóa công sở và "
            "giải quyết thủ tục hành chính tại bộ phận một cửa"
            if vi
            else "the agencies and units basically kept working discipline, followed the office culture rules and "
            "handled administrative procedures at their one-stop desks"
        )
    if f.n("alcohol_tobacco.alcohol_during_work") == 0:
        out.append(
            "không phát hiện cán bộ, công chức uống rượu, bia trong giờ làm việc, giờ nghỉ trưa"
            if vi
            else "no official was found drinking alcohol during working hours or the lunch break"
        )
    if f.n("alcohol_tobacco.smoking_at_office") == 0 and f.few("alcohol_tobacco.no_smoking_sign_missing"):
        out.append(
            "cơ bản các đơn vị được kiểm tra đều treo biển \u201ccấm hút thuốc lá\u201d tại công sở thuận tiện, dễ nhìn"
            if vi
            else "the units inspected basically all displayed \u201cno smoking\u201d signs at the office where they "
            "are easy to see"
        )
    if f.few("alcohol_tobacco.pledges_not_organized") and f.few("alcohol_tobacco.pledge_not_signed"):
        out.append(
            "đã triển khai cho cán bộ, công chức ký cam kết thực hiện không uống rượu, bia trong giờ làm việc, buổi "
            "sáng (trước giờ làm việc), giờ nghỉ trưa của ngày làm việc, ngày trực và không hút thuốc tại công sở"
            if vi
            else "officials had been asked to sign the commitment not to drink alcohol during working hours, in the "
            "morning before work, at lunch on working days or on duty days, and not to smoke at the office"
        )
    card = f.few("office_culture.no_id_card")
    attire = f.few("office_culture.improper_attire")
    if card and attire:
        out.append(
            "cán bộ, công chức, viên chức đeo thẻ, trang phục gọn gàng, lịch sự khi thi hành công vụ"
            if vi
            else "officials and public employees wore their staff cards and were neatly and politely dressed on duty"
        )
    elif card:
        out.append(
            "cán bộ, công chức, viên chức đeo thẻ khi thi hành công vụ"
            if vi
            else "officials and public employees wore their staff cards on duty"
        )
    elif attire:
        out.append(
            "cán bộ, công chức, viên chức trang phục gọn gàng, lịch sự khi thi hành công vụ"
            if vi
            else "officials and public employees were neatly and politely dressed on duty"
        )
    if f.n("altar_ban.altar_in_office") == 0 and f.n("altar_ban.incense_in_office") == 0:
        out.append(
            "không phát hiện việc lập bàn thờ, thắp hương trong phòng làm việc"
            if vi
            else "no altar or incense was found in working rooms"
        )
    desk_rules = [r for r in f.findings if r.startswith(("one_stop.", "tthc_posting."))]
    with_desks = any(int(f.units.get(level) or 0) for level in ("district", "commune"))
    if with_desks and not any(f.n(r) for r in desk_rules):
        out.append(
            "các bộ phận một cửa sử dụng phần mềm dùng chung, niêm yết công khai thủ tục hành chính và tiếp nhận hồ "
            "sơ đầy đủ các buổi trong ngày làm việc"
            if vi
            else "the one-stop desks used the shared software, posted their administrative procedures and received "
            "dossiers throughout the working day"
        )
    return out


# Shortcomings in the order the report lists them: (rule, Vietnamese, English).
_OFFICIAL_ITEMS = (
    ("working_hours.late_arrival", "đi làm muộn giờ", "arrived late"),
    ("working_hours.absent_unexcused", "vắng mặt tại trụ sở", "were absent from the office"),
    ("office_culture.no_id_card", "không đeo thẻ khi thực hiện nhiệm vụ", "did not wear their staff card on duty"),
    ("office_culture.no_nameplate", "không có biển tên, chức danh", "had no name and title plate"),
    ("office_culture.improper_attire", "trang phục chưa gọn gàng, lịch sự", "were not neatly and politely dressed"),
    ("office_culture.untidy_office", "phòng làm việc chưa gọn gàng, sạch sẽ", "kept untidy working rooms"),
    ("alcohol_tobacco.alcohol_during_work", "uống rượu, bia trong giờ làm việc", "drank alcohol during working hours"),
    ("alcohol_tobacco.smoking_at_office", "hút thuốc lá tại công sở", "smoked at the office"),
    (
        "alcohol_tobacco.pledge_not_signed",
        "chưa ký cam kết không uống rượu, bia, không hút thuốc lá",
        "had not signed the no-alcohol, no-smoking commitment",
    ),
)
_UNIT_ITEMS = (
    (
        "alcohol_tobacco.pledges_not_organized",
        (
            "chưa tổ chức cho cán bộ, công chức, viên chức ký cam kết thực hiện không uống rượu, bia trong giờ làm "
            "việc, buổi sáng (trước giờ làm việc), giờ nghỉ trưa của ngày làm việc, ngày trực và không hút thuốc lá "
            "nơi công sở"
        ),
        (
            "had not had their staff sign the commitment not to drink alcohol during working hours, in the morning "
            "before work, at lunch on working days or on duty days, and not to smoke at the office"
        ),
    ),
    (
        "alcohol_tobacco.no_smoking_sign_missing",
        "chưa treo biển \u201ccấm hút thuốc lá\u201d tại công sở",
        "had no \u201cno smoking\u201d sign at the office",
    ),
    (
        "working_hours.high_absence_rate",
        "có nhiều cán bộ, công chức, viên chức cùng vắng mặt không lý do",
        "had many staff absent with no reason at the same time",
    ),
    (
        "one_stop.shared_software_not_used",
        "không sử dụng phần mềm dùng chung cho bộ phận một cửa",
        "did not use the shared software at the one-stop desk",
    ),
    ("one_stop.one_stop_missing", "không có bộ phận một cửa", "had no one-stop desk"),
    (
        "tthc_posting.procedures_not_posted",
        "không niêm yết công khai đầy đủ các thủ tục hành chính tại bộ phận một cửa",
        "did not post all their administrative procedures at the one-stop desk",
    ),
    (
        "tthc_posting.posting_outdated",
        "niêm yết thủ tục hành chính không được cập nhật",
        "had out-of-date procedure postings",
    ),
    ("one_stop.one_stop_closed", "đóng cửa không hoạt động bộ phận một cửa", "kept the one-stop desk closed"),
)
_KNOWN = {r for r, _, _ in _OFFICIAL_ITEMS + _UNIT_ITEMS} | {
    "one_stop.restricted_hours",
    "altar_ban.altar_in_office",
    "altar_ban.incense_in_office",
}


def _shortcomings(f: _Facts, lang: Lang, restricted: set[str]) -> list[str]:
    vi = lang == "vi"
    groups: list[str] = []
    officials = [vi_text if vi else en_text for rule, vi_text, en_text in _OFFICIAL_ITEMS if f.n(rule)]
    if officials:
        groups.append(
            ("một số cán bộ, công chức, viên chức " if vi else "some officials and public employees ")
            + _list(officials, lang)
        )
    units = [vi_text if vi else en_text for rule, vi_text, en_text in _UNIT_ITEMS if f.n(rule)]
    if f.n("one_stop.restricted_hours"):
        if restricted == {"afternoons_only"}:
            units.append(
                "việc tiếp nhận hồ sơ tại bộ phận Một cửa chỉ trực vào các buổi chiều ngày làm việc"
                if vi
                else "received dossiers at the one-stop desk only in the afternoons of working days"
            )
        elif restricted == {"mornings_only"}:
            units.append(
                "việc tiếp nhận hồ sơ tại bộ phận Một cửa chỉ trực vào các buổi sáng ngày làm việc"
                if vi
                else "received dossiers at the one-stop desk only in the mornings of working days"
            )
        else:
            units.append(
                "việc tiếp nhận hồ sơ tại bộ phận Một cửa chỉ trực một buổi trong ngày làm việc"
                if vi
                else "received dossiers at the one-stop desk for only part of the working day"
            )
    other = sorted(r for r in f.findings if f.n(r) and r not in _KNOWN)
    if other:
        names = rule_names(f.s)  # names hold commas ("Sở, ngành"), so semicolons part them
        units.append(
            ("vi phạm các quy định khác (" if vi else "broke other rules (")
            + "; ".join(_in_sentence(rule_name(r, lang, names)) for r in other)
            + ")"
        )
    if units:
        groups.append(("một số cơ quan, đơn vị " if vi else "some agencies and units ") + _list(units, lang))
    altar, incense = f.n("altar_ban.altar_in_office"), f.n("altar_ban.incense_in_office")
    if altar or incense:
        if vi:
            what = ", ".join(w for w, n in (("lập bàn thờ", altar), ("thắp hương", incense)) if n)
            groups.append(f"một số cơ quan, đơn vị còn {what} trong phòng làm việc của cán bộ, công chức, viên chức")
        else:
            what = " and ".join(w for w, n in (("kept altars", altar), ("burned incense", incense)) if n)
            groups.append(f"some agencies and units still {what} in officials' working rooms")
    if not vi and groups:
        groups[0] = groups[0][0].lower() + groups[0][1:]
    return groups


def _some_units(total: int, communes: int, lang: Lang) -> str:
    """'10 xã', '10 xã và 02 cơ quan, đơn vị khác', or '02 cơ quan, đơn vị'."""
    vi = lang == "vi"
    rest = total - communes
    parts = []
    if communes:
        parts.append(f"{num(communes, lang)} {'xã' if vi else 'commune' + ('s' if communes != 1 else '')}")
    if rest > 0:
        if vi:
            parts.append(f"{num(rest, lang)} cơ quan, đơn vị{' khác' if communes else ''}")
        else:
            parts.append(f"{rest} {'other ' if communes else ''}agenc{'ies' if rest != 1 else 'y'} or unit{'s' if rest != 1 else ''}")
    return _join(parts, lang)


def _counted(f: _Facts, lang: Lang) -> list[Counted]:
    vi = lang == "vi"
    out: list[Counted] = []
    absent = f.n("working_hours.absent_unexcused")
    if absent:
        out.append(
            Counted(
                "working_hours.absent_unexcused",
                absent,
                "officials",
                f"Đã phát hiện {num(absent, lang)} cán bộ, công chức, viên chức vắng mặt tại thời điểm kiểm tra không có lý do."
                if vi
                else f"{absent} official{'s were' if absent != 1 else ' was'} absent at the time of the visit with no reason given.",
            )
        )
    for rule, vi_text, en_text in (
        ("one_stop.shared_software_not_used", "không sử dụng phần mềm dùng chung cho bộ phận một cửa",
         "did not use the shared software at the one-stop desk"),
        ("one_stop.one_stop_missing", "không có bộ phận một cửa", "had no one-stop desk"),
    ):
        total = f.n(rule)
        if not total:
            continue
        communes = min(f.commune(rule), total)
        who = _some_units(total, communes, lang)
        text = f"Có {who} {vi_text}." if vi else f"{who[0].upper() + who[1:]} {en_text}."
        out.append(Counted(rule, total, "communes" if communes == total else "units", text))
    altar, incense = f.n("altar_ban.altar_in_office"), f.n("altar_ban.incense_in_office")
    if altar or incense:
        if vi:
            what = ", ".join(w for w, n in (("lập bàn thờ", altar), ("thắp hương", incense)) if n)
            text = f"Một số cơ quan, đơn vị còn {what} trong phòng làm việc."
        else:
            what = " and ".join(w for w, n in (("kept altars", altar), ("burned incense", incense)) if n)
            text = f"Some agencies and units still {what} in working rooms."
        out.append(Counted("altar_ban", altar + incense, "some", text))
    if f.n("office_culture.no_id_card"):
        out.append(
            Counted(
                "office_culture.no_id_card",
                f.n("office_culture.no_id_card"),
                "some",
                "Một số cán bộ, công chức không đeo thẻ khi thực hiện nhiệm vụ."
                if vi
                else "Some officials did not wear their staff card on duty.",
            )
        )
    return out


def _follow_up(f: _Facts, lang: Lang) -> list[str]:
    """[paragraph, *items]: the letter to heads and what it asks, from the sanctions."""
    vi = lang == "vi"
    codes = {k: int(v or 0) for k, v in f.sanctions.items() if v}
    if not codes and not any(f.findings.values()):
        return []
    items: list[str] = []
    if vi:
        text = (
            f"{TEAM['vi']} đã ban hành công văn đề nghị Thủ trưởng các cơ quan, đơn vị tiếp tục tăng cường công tác "
            "kiểm tra, giám sát, siết chặt kỷ luật, kỷ cương hành chính và thực hiện tốt các nội dung văn hóa công sở"
        )
    else:
        text = (
            "The inspection team has written to the heads of the agencies and units asking them to step up their own "
            "inspection and supervision, tighten administrative discipline and keep to the office culture rules"
        )
    items.append("letter_to_heads")
    if codes.get("rectify_within_deadline"):
        text += (
            ", khắc phục ngay các tồn tại đã được chỉ ra trong thời hạn" if vi
            else ", and to put right the shortcomings found within a deadline"
        )
        items.append("rectify_within_deadline")
    if codes.get("head_accountability"):
        text += (
            "; làm rõ trách nhiệm của người đứng đầu các đơn vị có vi phạm" if vi
            else "; the heads of the units at fault are to be held accountable"
        )
        items.append("head_accountability")
    if codes.get("explanation_report"):
        who = [
            pair[0] if vi else pair[1]
            for pair, rule in (
                (("vắng mặt", "absent"), "working_hours.absent_unexcused"),
                (("đi làm muộn giờ", "late"), "working_hours.late_arrival"),
            )
            if f.n(rule)
        ]
        if vi:
            people = "cán bộ, công chức, viên chức " + (", ".join(who) if who else "vi phạm")
            text += (
                "; đồng thời đề nghị Thủ trưởng các cơ quan, đơn vị có văn bản yêu cầu các đơn vị thuộc, trực thuộc "
                f"và {people} tại thời điểm kiểm tra báo cáo giải trình"
            )
        else:
            people = "officials " + (" or ".join(who) if who else "at fault")
            text += (
                "; it also asked the heads to require their subordinate units and the "
                f"{people} at the time of the visits to report and explain in writing"
            )
        items.append("explanation_report")
    years = f.years()
    emulation = codes.get("emulation_review")
    discipline = [(c, codes[c]) for c in DISCIPLINE if codes.get(c)]
    if emulation or discipline:
        clauses: list[str] = []
        if emulation:
            year = ", ".join(str(y) for y in years)
            if vi:
                clauses.append(f"xem xét thi đua {'các năm' if len(years) > 1 else 'năm'} {year}" if years else "xem xét thi đua")
            else:
                clauses.append(f"that their emulation standing for {year} be reviewed" if years else "that their emulation standing be reviewed")
            items.append("emulation_review")
        if discipline:
            forms = ", ".join(f"{sanction_name(c, lang).lower()}: {num(n, lang)}" for c, n in discipline)
            clauses.append(
                f"xem xét xử lý kỷ luật theo quy định ({forms})" if vi
                else f"that disciplinary action be considered as the law provides ({forms})"
            )
            items.append("discipline")
        else:
            clauses.append("có hình thức xử lý theo quy định" if vi else "that they be dealt with as the rules provide")
        text += (
            "; đối với cán bộ, công chức vi phạm đề nghị " + " và ".join(clauses) if vi
            else "; for the officials at fault it recommended " + " and ".join(clauses)
        )
    if codes.get("self_criticism"):
        text += (
            "; tổ chức kiểm điểm đối với cán bộ, công chức tái phạm" if vi
            else "; officials who repeated a violation are to hold a self-criticism review"
        )
        items.append("self_criticism")
    if codes.get("administrative_fine"):
        n = codes["administrative_fine"]
        text += (
            f"; chuyển cơ quan có thẩm quyền xem xét xử phạt vi phạm hành chính đối với {num(n, lang)} trường hợp" if vi
            else f"; {n} case{'s' if n != 1 else ''} are referred to the competent authority for an administrative fine"
        )
        items.append("administrative_fine")
    if codes.get("reminder"):
        text += (
            "; nhắc nhở đối với các thiếu sót nhẹ" if vi
            else "; minor shortcomings are met with a reminder"
        )
        items.append("reminder")
    return [text + ".", *items]
