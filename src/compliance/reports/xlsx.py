"""The campaign report as a workbook: sheets "summary", "findings" and "sanctions".

The workbook is written in openpyxl's write-only mode and the results are streamed from
results.jsonl one visit at a time, so memory stays flat however large the batch. Header rows
are bilingual ("Đơn vị / Unit"); the text of findings and sanctions is in the chosen language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import ComplianceError, InputError, Lang, Problem
from ..render import sanction_name
from .data import GRADE_NAMES, SEVERITY_NAMES, TARGET_NAMES, ReportDir, level_name, name, rule_name
from .narrative import narrative
from .tables import tables

SHEETS = ("summary", "findings", "sanctions")

VISIT_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("Lần kiểm tra", "Visit", 14),
    ("Ngày", "Date", 11),
    ("Mã đơn vị", "Unit id", 30),
    ("Đơn vị", "Unit", 34),
    ("Cấp", "Level", 24),
    ("Tỉnh", "Province", 12),
)
"""The columns that say which visit a row belongs to, first in both per-row sheets."""
FINDING_COLUMNS: tuple[tuple[str, str, int], ...] = VISIT_COLUMNS + (
    ("Mã quy tắc", "Rule id", 36),
    ("Quy tắc", "Rule", 34),
    ("Mức độ", "Severity", 14),
    ("Loại đối tượng", "Subject type", 12),
    ("Đối tượng", "Subject", 30),
    ("Nội dung", "What was found", 60),
    ("Căn cứ", "Legal basis", 40),
    ("Kiến nghị", "Sanctions", 36),
    ("Tái phạm sau", "Repeat of", 16),
    ("Xếp loại lần kiểm tra", "Visit grade", 16),
)
SANCTION_COLUMNS: tuple[tuple[str, str, int], ...] = VISIT_COLUMNS + (
    ("Mã hình thức", "Code", 22),
    ("Hình thức", "Sanction", 28),
    ("Áp dụng với", "Target", 14),
    ("Đối tượng", "Subject", 30),
    ("Do", "Because of", 40),
    ("Mức phạt tối thiểu", "Fine min", 12),
    ("Mức phạt tối đa", "Fine max", 12),
    ("Đơn vị tiền", "Currency", 8),
    ("Thay cho", "Instead of", 16),
    ("Tái phạm sau", "Repeat of", 16),
    ("Chính sách", "Policy", 24),
    ("Lý do", "Reason", 60),
)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _openpyxl() -> Any:
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - depends on the environment
        raise ComplianceError(
            [
                Problem(
                    "report_needs_openpyxl",
                    {
                        "detail_vi": "báo cáo XLSX cần openpyxl: pip install 'compliance[batch]'",
                        "detail_en": "the XLSX report needs openpyxl: pip install 'compliance[batch]'",
                    },
                )
            ]
        ) from None
    return openpyxl


class _Sheet:
    """A write-only sheet that writes safe cells: no control characters, and text that
    starts with "=" stays text (never a formula)."""

    def __init__(self, workbook: Any, title: str, widths: Sequence[int] = ()):
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

        self._cell = WriteOnlyCell
        self.ws = workbook.create_sheet(title)
        self.rows = 0
        self._bold = Font(bold=True)
        self._fill = PatternFill("solid", fgColor="EEF1F5")
        self._wrap = Alignment(wrap_text=True, vertical="top")
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width

    def _make(self, value: Any, header: bool = False) -> Any:
        if isinstance(value, str):
            value = _ILLEGAL.sub("", value)[:32767]
        cell = self._cell(self.ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"
        if header:
            cell.font = self._bold
            cell.fill = self._fill
            cell.alignment = self._wrap
        return cell

    def header(self, values: Iterable[Any]) -> None:
        self.ws.append([self._make(v, header=True) for v in values])
        self.rows += 1

    def row(self, values: Iterable[Any]) -> None:
        self.ws.append([self._make(v) for v in values])
        self.rows += 1

    def blank(self) -> None:
        self.ws.append([])
        self.rows += 1


def _bilingual(columns: Sequence[tuple[str, str, int]]) -> list[str]:
    return [f"{vi} / {en}" for vi, en, _ in columns]


def _basis(refs: Any) -> str:
    out = []
    for ref in refs or ():
        if isinstance(ref, Mapping) and ref.get("document"):
            out.append(str(ref["document"]) + (f", {ref['article']}" if ref.get("article") else ""))
    return "; ".join(out)


def _text(value: Any, lang: Lang) -> str:
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("en") or value.get("vi") or "")
    return "" if value is None else str(value)


def _summary_sheet(workbook: Any, report: ReportDir, lang: Lang) -> None:
    sheet = _Sheet(workbook, "summary", (44, 40, 16, 16, 16, 18))
    local = tables(report.summary, lang)
    vi = tables(report.summary, "vi")
    en = tables(report.summary, "en")
    for index, (table, table_vi, table_en) in enumerate(zip(local, vi, en)):
        if index:
            sheet.blank()
            sheet.header([f"{table_vi.title} / {table_en.title}"])
        sheet.header(f"{a} / {b}" for a, b in zip(table_vi.headers, table_en.headers))
        for row in table.rows:
            sheet.row(row)
    story = narrative(report.summary, lang, restricted=report.restricted_schedules())
    sheet.blank()
    sheet.header(["Báo cáo / Report"])
    sheet.row([story.title])
    for _, paragraph in story.paragraphs:
        sheet.row([paragraph])


def _findings_sheet(workbook: Any, report: ReportDir, lang: Lang) -> int:
    sheet = _Sheet(workbook, "findings", [w for _, _, w in FINDING_COLUMNS])
    sheet.ws.freeze_panes = "A2"
    sheet.header(_bilingual(FINDING_COLUMNS))
    count = 0
    for result in report.results():
        visit = _visit_cells(result, lang)
        grade = result.get("grade") or {}
        grade_text = _text(grade.get("label"), lang) or name(GRADE_NAMES, str(grade.get("code")), lang)
        for finding in result.get("findings") or ():
            key = f"{finding.get('check')}.{finding.get('rule')}"
            subject = finding.get("subject") or {}
            sanctions = sorted({str(s.get("code")) for s in finding.get("sanctions") or () if isinstance(s, Mapping)})
            sheet.row(
                [
                    *visit,
                    key,
                    rule_name(key, lang),
                    name(SEVERITY_NAMES, str(finding.get("severity")), lang),
                    subject.get("type"),
                    subject.get("id"),
                    _text(finding.get("message"), lang),
                    _basis(finding.get("legal_basis")),
                    ", ".join(sanction_name(c, lang) for c in sanctions),
                    ", ".join(str(v) for v in finding.get("repeat_of") or ()),
                    grade_text,
                ]
            )
            count += 1
    return count


def _visit_cells(result: Mapping[str, Any], lang: Lang) -> list[Any]:
    """The cells of VISIT_COLUMNS for one result."""
    return [
        result.get("visit_id"),
        result.get("visit_date"),
        result.get("unit_id"),
        result.get("unit_name"),
        level_name(str(result.get("unit_level")), lang),
        result.get("province"),
    ]


def _sanctions_sheet(workbook: Any, report: ReportDir, lang: Lang) -> int:
    sheet = _Sheet(workbook, "sanctions", [w for _, _, w in SANCTION_COLUMNS])
    sheet.ws.freeze_panes = "A2"
    sheet.header(_bilingual(SANCTION_COLUMNS))
    count = 0
    for result in report.results():
        visit = _visit_cells(result, lang)
        for s in result.get("sanctions") or ():
            fine = s.get("fine") or {}
            sheet.row(
                [
                    *visit,
                    s.get("code"),
                    sanction_name(str(s.get("code")), lang),
                    name(TARGET_NAMES, str(s.get("target")), lang),
                    s.get("subject_id"),
                    ", ".join(str(v) for v in s.get("because") or ()),
                    fine.get("min"),
                    fine.get("max"),
                    fine.get("currency") or ("VND" if fine else None),
                    sanction_name(str(s["replaces"]), lang) if s.get("replaces") else None,
                    ", ".join(str(v) for v in s.get("escalated_by") or ()),
                    s.get("policy"),
                    _text(s.get("reason"), lang),
                ]
            )
            count += 1
    return count


def write_xlsx(report: ReportDir, target: str | Path | IO[bytes], lang: Lang = "vi") -> dict[str, int]:
    """Write the workbook; returns the number of data rows of the findings and sanctions sheets."""
    openpyxl = _openpyxl()
    if not report.results_path.is_file():
        raise InputError([Problem("file_missing", file=str(report.results_path))])
    workbook = openpyxl.Workbook(write_only=True)
    try:
        _summary_sheet(workbook, report, lang)
        counts = {
            "findings": _findings_sheet(workbook, report, lang),
            "sanctions": _sanctions_sheet(workbook, report, lang),
        }
    except BaseException:
        _discard(workbook)
        raise
    workbook.save(target)
    return counts


def _discard(workbook: Any) -> None:
    """Close the sheets' streaming writers of a workbook that will not be saved, so that
    they do not complain when they are collected."""
    for sheet in workbook.worksheets:
        try:
            sheet.close()
        except Exception:  # noqa: BLE001, S110 - best effort on the way out of an error
            pass
