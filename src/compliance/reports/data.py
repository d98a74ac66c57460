"""What a report reads from a batch output directory, and the bilingual names it shows.

A report is made from ``summary.json`` (every figure) and, for the per-finding tables of the
workbook, ``results.jsonl`` streamed one line at a time. Nothing here evaluates a visit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..batch.summary import NO_PROVINCE
from ..check import bilingual, titles_by_rule_key
from ..common import Severity
from ..errors import ComplianceError, InputError, Lang, Problem
from ..plugins import installed_checks
from ..privacy import Redactor
from ..ruleset.catalogue import load_catalogue
from ..ruleset.words import ReportVocabulary, catalogue_words, vocabulary

LEVELS = ("department", "department_unit", "district", "district_unit", "commune")
SEVERITIES = tuple(s.value for s in Severity)
GRADES = ("good", "fair", "needs_improvement", "poor")
DISCIPLINE = ("reprimand", "warning", "salary_downgrade", "demotion", "dismissal_from_post", "forced_resignation")

LEVEL_NAMES: dict[str, dict[str, str]] = {
    "department": {"vi": "Sở, ngành", "en": "Provincial departments"},
    "department_unit": {"vi": "Đơn vị thuộc, trực thuộc sở, ngành", "en": "Units under departments"},
    "district": {"vi": "UBND huyện, thành phố", "en": "District and city people's committees"},
    "district_unit": {"vi": "Đơn vị thuộc UBND huyện, thành phố", "en": "Units under the districts"},
    "commune": {"vi": "UBND xã, phường, thị trấn", "en": "Commune, ward and town people's committees"},
}

GRADE_NAMES: dict[str, dict[str, str]] = {
    "good": {"vi": "Tốt", "en": "Good"},
    "fair": {"vi": "Khá", "en": "Fair"},
    "needs_improvement": {"vi": "Trung bình, cần chấn chỉnh", "en": "Needs improvement"},
    "poor": {"vi": "Yếu kém", "en": "Poor"},
    "ungraded": {"vi": "Chưa xếp loại", "en": "Not graded"},
}

SEVERITY_NAMES: dict[str, dict[str, str]] = {
    "minor": {"vi": "Nhẹ", "en": "Minor"},
    "moderate": {"vi": "Trung bình", "en": "Moderate"},
    "serious": {"vi": "Nghiêm trọng", "en": "Serious"},
    "critical": {"vi": "Rất nghiêm trọng", "en": "Critical"},
}

TARGET_NAMES: dict[str, dict[str, str]] = {
    "official": {"vi": "Cá nhân", "en": "Official"},  # cán bộ, công chức or viên chức alike
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "unit_head": {"vi": "Người đứng đầu", "en": "Head of unit"},
}

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


UNKNOWN_PROVINCES = frozenset({"", NO_PROVINCE})
"""by_province keys of units with no province: the batch's, and the empty one of older writers."""

PROVINCE_UNKNOWN = {"vi": "Chưa rõ tỉnh", "en": "Province unknown"}


def name(table: Mapping[str, Mapping[str, str]], key: str, lang: Lang) -> str:
    """The bilingual name of a key, or the key itself for one this release does not know
    (a level or code added later, a rule no check names)."""
    entry = table.get(key)
    return entry[lang] if entry else key


@functools.cache
def _installed_rule_titles() -> dict[str, dict[str, str]]:
    """The names the installed checks give their rules; none when a plugin fails to load, for a
    report is still worth having with rule ids."""
    try:
        checks = installed_checks()
    except ComplianceError:
        return {}
    return titles_by_rule_key(i.check for i in checks)


@functools.cache
def _installed_vocabulary() -> ReportVocabulary:
    """The report words of the installed checks in the base ruleset; empty when they do not load
    (a report is still worth having, its rules then named by their titles)."""
    try:
        checks = [i.check for i in installed_checks()]
        catalogue = load_catalogue(None, checks)
    except ComplianceError:
        return ReportVocabulary()
    return vocabulary(catalogue_words(catalogue.rulesets), {c.id: list(c.rules) for c in checks})


def vocabulary_of(summary: Mapping[str, Any]) -> ReportVocabulary:
    """The words a summary's findings are spoken of in: those the batch wrote into it
    (`report_words`), else those of the checks installed here (a summary from before it
    wrote them)."""
    written = ReportVocabulary.read(summary.get("report_words"))
    return written if written is not None else _installed_vocabulary()


def rule_names(summary: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The names of the rules a summary counts: those the batch wrote into it, else those of
    the checks installed here (a summary from before it wrote them); a rule in neither keeps
    its id. Reading the summary first lets a report be made where a plugin is not installed."""
    written = summary.get("rule_titles")
    names = {k: dict(v) for k, v in written.items() if bilingual(v)} if isinstance(written, Mapping) else {}
    counted = set(summary.get("findings_by_rule") or {}) | set(summary.get("subjects_by_rule") or {})
    if counted - names.keys():
        installed = _installed_rule_titles()
        names.update({k: installed[k] for k in counted - names.keys() if k in installed})
    return names


def rule_name(rule: str, lang: Lang, names: Mapping[str, Mapping[str, str]]) -> str:
    return name(names, rule, lang)


def province_name(key: str, lang: Lang) -> str:
    return PROVINCE_UNKNOWN[lang] if key in UNKNOWN_PROVINCES else key


def known_provinces(summary: Mapping[str, Any]) -> list[str]:
    """The provinces a summary names, without the key of units whose province is not known."""
    return sorted(p for p in summary.get("by_province") or {} if p not in UNKNOWN_PROVINCES)


def level_name(level: str, lang: Lang) -> str:
    return name(LEVEL_NAMES, level, lang)


def ordered(counts: Mapping[str, int], order: tuple[str, ...]) -> list[tuple[str, int]]:
    """Known keys in their natural order, then the others by name."""
    known = [(k, counts[k]) for k in order if k in counts]
    rest = sorted((k, v) for k, v in counts.items() if k not in order)
    return known + rest


def by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class ReportDir:
    """A batch output directory: its summary, and its results read lazily."""

    path: Path
    summary: dict[str, Any]
    redactor: Redactor | None = None

    @classmethod
    def open(cls, path: str | Path, redactor: Redactor | None = None) -> ReportDir:
        root = Path(path)
        file = root / "summary.json"
        if not root.is_dir() or not file.is_file():
            raise InputError([Problem("file_missing", file=str(file))])
        try:
            summary = orjson.loads(file.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InputError([Problem("bad_json", {"detail": str(exc)}, file=str(file))]) from None
        except OSError as exc:
            raise InputError([Problem("file_unreadable", {"detail": exc.strerror or str(exc)}, file=str(file))]) from None
        if not isinstance(summary, dict):
            raise InputError(
                [
                    Problem(
                        "invalid_value",
                        {"detail_vi": "summary.json phải là một đối tượng JSON", "detail_en": "summary.json must be a JSON object"},
                        file=str(file),
                    )
                ]
            )
        return cls(root, summary, redactor)

    @property
    def results_path(self) -> Path:
        return self.path / "results.jsonl"

    def results(self, containing: bytes | None = None) -> Iterator[dict[str, Any]]:
        """Each line of results.jsonl, parsed one at a time (memory stays flat); with
        `containing`, only the lines that hold those bytes are parsed."""
        file = self.results_path
        if not file.is_file():
            raise InputError([Problem("file_missing", file=str(file))])
        try:
            handle = file.open("rb")
        except OSError as exc:  # said as a reading error, not taken for the report's writing one
            raise InputError([Problem("file_unreadable", {"detail": exc.strerror or str(exc)}, file=str(file))]) from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or (containing is not None and containing not in line):
                    continue
                try:
                    data = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise InputError([Problem("bad_json", {"detail": str(exc)}, file=str(file), line=number)]) from None
                if isinstance(data, dict):
                    yield self.redactor.result_dict(data) if self.redactor else data

    def varied_evidence(self) -> dict[str, set[str]]:
        """For each counted rule whose words vary with an evidence value (`by_evidence`), the
        values its findings had, when the results are there to tell (for the narrative's
        wording only; never a figure)."""
        counted = self.summary.get("findings_by_rule") or {}
        varied = {
            rule: item.by_evidence.key
            for rule, item in vocabulary_of(self.summary).shortcomings.items()
            if item.by_evidence is not None and counted.get(rule)
        }
        if not varied or not self.results_path.is_file():
            return {}
        seen: dict[str, set[str]] = {rule: set() for rule in varied}
        for rule, key in varied.items():
            check, _, name = rule.partition(".")
            for result in self.results(containing=orjson.dumps(name)):
                for finding in result.get("findings", ()):
                    if finding.get("check") == check and finding.get("rule") == name:
                        value = (finding.get("evidence") or {}).get(key)
                        if isinstance(value, str):
                            seen[rule].add(value)
        return seen


WORDS: dict[str, dict[str, str]] = {
    "annex": {"vi": "Phụ lục: số liệu tổng hợp", "en": "Annex: figures"},
    "overview": {"vi": "Tổng hợp", "en": "Overview"},
    "metric": {"vi": "Chỉ tiêu", "en": "Metric"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "visits": {"vi": "Số cuộc kiểm tra", "en": "Visits"},
    "units": {"vi": "Số cơ quan, đơn vị", "en": "Units"},
    "findings": {"vi": "Số phát hiện", "en": "Findings"},
    "errors": {"vi": "Bản ghi lỗi", "en": "Records in error"},
    "period": {"vi": "Thời gian", "en": "Period"},
    "plans": {"vi": "Kế hoạch, quyết định", "en": "Plans and decisions"},
    "ruleset": {"vi": "Bộ quy tắc", "en": "Ruleset"},
    "by_rule": {"vi": "Phát hiện theo quy tắc", "en": "Findings by rule"},
    "rule": {"vi": "Quy tắc", "en": "Rule"},
    "rule_id": {"vi": "Mã quy tắc", "en": "Rule id"},
    "subjects": {"vi": "Số đối tượng", "en": "Subjects"},
    "by_level": {"vi": "Theo cấp đơn vị", "en": "By unit level"},
    "level": {"vi": "Cấp", "en": "Level"},
    "by_severity": {"vi": "Theo mức độ", "en": "By severity"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "grades": {"vi": "Xếp loại", "en": "Grades"},
    "grade": {"vi": "Xếp loại", "en": "Grade"},
    "count": {"vi": "Số lượng", "en": "Count"},
    "by_month": {"vi": "Theo tháng", "en": "By month"},
    "month": {"vi": "Tháng", "en": "Month"},
    "by_province": {"vi": "Theo tỉnh", "en": "By province"},
    "province": {"vi": "Tỉnh", "en": "Province"},
    "sanctions": {"vi": "Kiến nghị xử lý", "en": "Recommended sanctions"},
    "sanction": {"vi": "Hình thức", "en": "Sanction"},
    "code": {"vi": "Mã", "en": "Code"},
    "top_units": {"vi": "Đơn vị có nhiều phát hiện nhất", "en": "Units with the most findings"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "unit_id": {"vi": "Mã đơn vị", "en": "Unit id"},
    "worst": {"vi": "Mức độ nặng nhất", "en": "Worst severity"},
    "charts": {"vi": "Biểu đồ", "en": "Charts"},
    "narrative": {"vi": "Báo cáo", "en": "Report"},
    "generated": {
        "vi": "Số liệu lấy từ summary.json của lần chạy batch; Đoàn kiểm tra kiến nghị, cấp có thẩm quyền quyết định.",
        "en": "Figures from the batch run's summary.json; the inspection team recommends, the competent authority decides.",
    },
}


def word(key: str, lang: Lang) -> str:
    return WORDS[key][lang]


def both(key: str) -> str:
    """A bilingual header: "Đơn vị / Unit"."""
    entry = WORDS[key]
    return f"{entry['vi']} / {entry['en']}"
