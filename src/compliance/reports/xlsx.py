"""The campaign report as a workbook: sheets "summary", "findings" and "sanctions".

The workbook is written in openpyxl's write-only mode and the results are streamed from
results.jsonl one visit at a time, so memory stays flat however large the batch. Header rows
are bilingual ("Đơn vị / Unit"); the text of findings and sanctions is in the chosen language.
Findings or sanctions beyond Excel's row limit go on in "findings (2)", "sanctions (2)"...,
each with the header row, and the summary sheet lists those sheets. Every per-row sheet has
an autofilter over its header row, and a visit's date is a date (sorted and filtered as one),
shown as the language writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from ..errors import ComplianceError, InputError, Lang, Problem
from ..render import sanction_name
from .data import (
    GRADE_NAMES,
    SEVERITY_NAMES,
    TARGET_NAMES,
    ReportDir,
    level_name,
    name,
    rule_name,
    rule_names,
)
from .narrative import narrative
from .tables import tables

SHEETS = ("summary", "findings", "sanctions")

MAX_ROWS = 1_048_576
"""Rows a sheet may hold, the header row included: Excel's limit. A workbook with more is
refused or "repaired" (rows lost) by Excel, so the rows go on in another sheet. Tests lower it."""

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
    ("Căn cứ pháp lý", "Legal basis", 40),
    ("Kiến nghị xử lý", "Sanctions", 36),
    ("Tái phạm sau", "Repeat of", 16),
    ("Xếp loại lần kiểm tra", "Visit grade", 16),
)
SANCTION_COLUMNS: tuple[tuple[str, str, int], ...] = VISIT_COLUMNS + (
    ("Mã hình thức", "Code", 22),
    ("Hình thức", "Sanction", 28),
    ("Áp dụng đối với", "Target", 14),
    ("Đối tượng", "Subject", 30),
    ("Do vi phạm", "Because of", 40),
    ("Mức phạt tối thiểu", "Fine min", 12),
    ("Mức phạt tối đa", "Fine max", 12),
    ("Đơn vị tiền tệ", "Currency", 8),
    ("Thay cho", "Instead of", 16),
    ("Tái phạm sau", "Repeat of", 16),
    ("Chính sách kiến nghị", "Policy", 24),
    ("Lý do", "Reason", 60),
)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

DATE_FORMATS: dict[str, str] = {"vi": "dd/mm/yyyy", "en": "yyyy-mm-dd"}
"""How a date cell is shown: as Vietnamese writes a date, and in English unambiguously."""


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
    starts with "=" stays text (never a formula); a date is a date cell in `date_format`."""

    def __init__(self, workbook: Any, title: str, widths: Sequence[int] = (), date_format: str = DATE_FORMATS["vi"]):
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
        from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

        self._cell = WriteOnlyCell
        self.ws = workbook.create_sheet(title)
        self.rows = 0
        self._bold = Font(bold=True)
        self._fill = PatternFill("solid", fgColor="EEF1F5")
        self._wrap = Alignment(wrap_text=True, vertical="top")
        self._date_format = date_format
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width

    def _make(self, value: Any, header: bool = False) -> Any:
        if isinstance(value, str):
            value = _ILLEGAL.sub("", value)[:32767]
        cell = self._cell(self.ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"
        elif isinstance(value, date):
            cell.number_format = self._date_format
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


class _Pages:
    """The rows of one kind ("findings") over as many sheets as MAX_ROWS needs: "findings",
    "findings (2)"..., each opening with the header row, so no row is lost to Excel's limit."""

    def __init__(self, workbook: Any, kind: str, columns: Sequence[tuple[str, str, int]], lang: Lang):
        self._workbook = workbook
        self.kind = kind
        self._columns = columns
        self._date_format = DATE_FORMATS[lang]
        self.sheets: list[_Sheet] = []
        self.count = 0
        self._open()

    def _open(self) -> None:
        number = len(self.sheets) + 1
        title = self.kind if number == 1 else f"{self.kind} ({number})"
        sheet = _Sheet(self._workbook, title, [w for _, _, w in self._columns], self._date_format)
        sheet.ws.freeze_panes = "A2"
        sheet.header(_bilingual(self._columns))
        self.sheets.append(sheet)

    def row(self, values: Iterable[Any]) -> None:
        if self.sheets[-1].rows >= MAX_ROWS:
            self._open()
        self.sheets[-1].row(values)
        self.count += 1

    def titles(self) -> list[str]:
        return [sheet.ws.title for sheet in self.sheets]

    def filter(self) -> None:
        """Put an autofilter over every sheet's header and rows (known once all are written)."""
        from openpyxl.utils import get_column_letter

        last = get_column_letter(len(self._columns))
        for sheet in self.sheets:
            sheet.ws.auto_filter.ref = f"A1:{last}{sheet.rows}"


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


def _summary_sheet(sheet: _Sheet, report: ReportDir, lang: Lang, pages: Sequence[_Pages]) -> None:
    """Fill the summary sheet; it is written last, when `pages` know whether a kind of row
    had to go on in further sheets, but it was created first, so it stays the first sheet."""
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
    story = narrative(report.summary, lang, evidence=report.varied_evidence())
    sheet.blank()
    sheet.header(["Báo cáo / Report"])
    sheet.row([story.title])
    for _, paragraph in story.paragraphs:
        sheet.row([paragraph])
    _continued(sheet, pages, lang)


_KINDS = {"findings": ("các phát hiện", "findings"), "sanctions": ("các kiến nghị xử lý", "sanctions")}


def _continued(sheet: _Sheet, pages: Sequence[_Pages], lang: Lang) -> None:
    """Say which kinds of row go on over several sheets, and how many rows each sheet holds."""
    split = [p for p in pages if len(p.sheets) > 1]
    if not split:
        return
    sheet.blank()
    sheet.header(["Trang tính / Sheets"])
    limit = f"{MAX_ROWS:,}"
    for p in split:
        names = ", ".join(f"\u201c{t}\u201d" for t in p.titles())
        vi, en = _KINDS[p.kind]
        sheet.row(
            [
                f"Mỗi trang tính của Excel chứa được nhiều nhất {limit.replace(',', '.')} dòng, nên {vi} "
                f"được ghi tiếp qua {len(p.sheets)} trang: {names}; trang nào cũng có dòng tiêu đề."
                if lang == "vi"
                else f"An Excel sheet holds at most {limit} rows, so the {en} go on over {len(p.sheets)} "
                f"sheets: {names}; each starts with the header row."
            ]
        )
    sheet.header(["Trang tính / Sheet", "Số dòng dữ liệu / Data rows"])
    for p in pages:
        for page in p.sheets:
            sheet.row([page.ws.title, page.rows - 1])


def _findings_sheet(workbook: Any, report: ReportDir, lang: Lang) -> _Pages:
    sheet = _Pages(workbook, "findings", FINDING_COLUMNS, lang)
    names = rule_names(report.summary)
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
                    rule_name(key, lang, names),
                    name(SEVERITY_NAMES, str(finding.get("severity")), lang),
                    name(TARGET_NAMES, str(subject.get("type")), lang),
                    subject.get("id"),
                    _text(finding.get("message"), lang),
                    _basis(finding.get("legal_basis")),
                    ", ".join(sanction_name(c, lang) for c in sanctions),
                    ", ".join(str(v) for v in finding.get("repeat_of") or ()),
                    grade_text,
                ]
            )
    return sheet


def _visit_cells(result: Mapping[str, Any], lang: Lang) -> list[Any]:
    """The cells of VISIT_COLUMNS for one result."""
    return [
        result.get("visit_id"),
        _date(result.get("visit_date")),
        result.get("unit_id"),
        result.get("unit_name"),
        level_name(str(result.get("unit_level")), lang),
        result.get("province"),
    ]


def _date(value: Any) -> date | Any:
    """A visit's ISO date as a date; anything else as it is."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _sanctions_sheet(workbook: Any, report: ReportDir, lang: Lang) -> _Pages:
    sheet = _Pages(workbook, "sanctions", SANCTION_COLUMNS, lang)
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
    return sheet


def write_xlsx(report: ReportDir, target: str | Path | IO[bytes], lang: Lang = "vi") -> dict[str, int]:
    """Write the workbook; returns the number of data rows of the findings and sanctions sheets."""
    openpyxl = _openpyxl()
    if not report.results_path.is_file():
        raise InputError([Problem("file_missing", file=str(report.results_path))])
    workbook = openpyxl.Workbook(write_only=True)
    try:
        summary = _Sheet(workbook, "summary", (44, 40, 16, 16, 16, 18))
        pages = [_findings_sheet(workbook, report, lang), _sanctions_sheet(workbook, report, lang)]
        _summary_sheet(summary, report, lang, pages)
        for page in pages:
            page.filter()
        counts = {"findings": pages[0].count, "sanctions": pages[1].count}
        workbook.save(target)
    except BaseException:
        _discard(workbook)
        raise
    return counts


def _discard(workbook: Any) -> None:
    """Close the sheets' streaming writers of a workbook that will not be saved, so that
    they do not complain when they are collected."""
    for sheet in workbook.worksheets:
        try:
            sheet.close()
        except Exception:  # noqa: BLE001, S110 - best effort on the way out of an error
            pass
