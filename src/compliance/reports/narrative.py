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
from ..ruleset.words import FlatCondition, ReportVocabulary
from .data import DISCIPLINE, MONTHS_EN, known_provinces, rule_name, rule_names, vocabulary_of

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


def narrative(
    summary: Mapping[str, Any], lang: Lang = "vi", *, evidence: Mapping[str, set[str]] | None = None
) -> Narrative:
    """The narrative of a batch summary, in the words each check's rules give its findings
    (`report_words`). `evidence` holds, for a rule whose words vary with an evidence value, the
    values its findings had ('check.rule' → {"afternoons_only"}), when the results tell."""
    f = _Facts(summary)
    words = vocabulary_of(summary)
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
        # One bucket, as the province's report counts them: the district people's committees
        # themselves, the units under them and the communes (not "units under" all of them).
        "local": (
            "cơ quan, đơn vị cấp huyện, cấp xã (UBND các huyện, thành phố và các đơn vị thuộc, trực thuộc; "
            "UBND các xã, phường, thị trấn)",
            "district- and commune-level agencies and units (district and city people's committees and the units "
            "under them; commune, ward and town people's committees)",
            "district- or commune-level agency or unit (a district or city people's committee or a unit under it; "
            "a commune, ward or town people's committee)",
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
    positives = _positives(f, words, lang)
    if positives:
        lead = "Qua kiểm tra " if vi else "The inspections found that "
        paragraphs.append(("compliance", lead + "; ".join(positives) + "."))

    # 5-6. Shortcomings, qualitative then counted.
    qualitative = _shortcomings(f, words, lang, evidence or {})
    counted = _counted(f, words, lang)
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
    follow = _follow_up(f, words, lang)
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


def _positives(f: _Facts, words: ReportVocabulary, lang: Lang) -> list[str]:
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
    held = [s for s in words.complied if _holds(s.when, f)]
    out.extend(getattr(s, lang) for s in sorted(held, key=lambda s: s.order))
    return out


def _holds(when: FlatCondition, f: _Facts) -> bool:
    return (
        all(f.n(r) == 0 for r in when.none)
        and all(f.few(r) for r in when.few)
        and not any(f.few(r) for r in when.many)
        and all(f.n(r) for r in when.found)
        and (when.levels is None or any(int(f.units.get(level.value) or 0) for level in when.levels))
    )


CORE_GROUPS: dict[str, tuple[int, dict[str, str]]] = {
    "officials": (10, {"vi": "một số cán bộ, công chức, viên chức ", "en": "some officials and public employees "}),
    "units": (20, {"vi": "một số cơ quan, đơn vị ", "en": "some agencies and units "}),
}
"""The runs of shortcomings every report has; a check may declare more (`report.groups`)."""


def _shortcomings(f: _Facts, words: ReportVocabulary, lang: Lang, evidence: Mapping[str, set[str]]) -> list[str]:
    vi = lang == "vi"
    items: dict[str, list[tuple[int, str]]] = {}
    for rule, item in words.shortcomings.items():
        if not f.n(rule):
            continue
        text = getattr(item, lang)
        varied = item.by_evidence
        seen = evidence.get(rule) or set()
        if varied is not None and len(seen) == 1 and next(iter(seen)) in varied.values:
            text = getattr(varied.values[next(iter(seen))], lang)
        items.setdefault(item.group, []).append((item.order, text))
    other = sorted(r for r in f.findings if f.n(r) and r not in words.shortcomings)
    if other:
        names = rule_names(f.s)  # names hold commas ("Sở, ngành"), so semicolons part them
        items.setdefault("units", []).append(
            (
                10_001,
                ("vi phạm các quy định khác (" if vi else "broke other rules (")
                + "; ".join(_in_sentence(rule_name(r, lang, names)) for r in other)
                + ")",
            )
        )
    runs: list[tuple[int, str, str]] = []
    for group, found in items.items():
        core = CORE_GROUPS.get(group)
        declared = words.groups.get(group)
        if core is not None:
            order, lead, tail = core[0], core[1][lang], ""
        elif declared is not None:
            order, lead = declared.order, getattr(declared.lead, lang)
            tail = getattr(declared.tail, lang) if declared.tail else ""
        else:
            order, lead, tail = CORE_GROUPS["units"][0], CORE_GROUPS["units"][1][lang], ""
        texts = [text for _, text in sorted(found, key=lambda pair: pair[0])]
        runs.append((order, group, lead + _list(texts, lang) + tail))
    groups = [text for _, _, text in sorted(runs)]
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


def _counted(f: _Facts, words: ReportVocabulary, lang: Lang) -> list[Counted]:
    out: list[tuple[int, Counted]] = []
    for sentence in words.counted:
        found = [r for r in sentence.rules if f.n(r)]
        total = sum(f.n(r) for r in found)
        if not total:
            continue
        template = sentence.en_one if lang == "en" and total == 1 and sentence.en_one else getattr(sentence, lang)
        communes = min(sum(f.commune(r) for r in found), total)
        what = [getattr(words.shortcomings[r], lang) for r in found if r in words.shortcomings]
        text = template.format_map(
            {"count": num(total, lang), "units": _some_units(total, communes, lang), "what": _list(what, lang)}
        )
        if "{units}" in template:
            unit = "communes" if communes == total else "units"
        elif "{count}" in template:
            unit = "officials"
        else:
            unit = "some"
        out.append((sentence.order, Counted(sentence.metric, total, unit, text[:1].upper() + text[1:])))
    return [c for _, c in sorted(out, key=lambda pair: pair[0])]


def _follow_up(f: _Facts, words: ReportVocabulary, lang: Lang) -> list[str]:
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
        explaining = sorted(((w.order, rule, w) for rule, w in words.explaining.items() if f.n(rule)), key=lambda t: (t[0], t[1]))
        who = [getattr(w, lang) for _, _, w in explaining]
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
