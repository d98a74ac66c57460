"""Campaign reports from a batch output directory (summary.json, results.jsonl).

The narrative follows the provincial report the project grew from (domain.md §5) and comes in
Vietnamese or English, as Markdown, one offline HTML file with charts, or an XLSX workbook::

    from compliance.reports import ReportDir, markdown_report

    report = ReportDir.open("out/")
    print(markdown_report(report, "vi"))
"""

from __future__ import annotations

from .data import ReportDir
from .html import html_report, html_text
from .markdown import markdown_report, markdown_text
from .narrative import Narrative, narrative
from .tables import Table, tables
from .xlsx import write_xlsx

__all__ = [
    "Narrative",
    "ReportDir",
    "Table",
    "html_report",
    "html_text",
    "markdown_report",
    "markdown_text",
    "narrative",
    "tables",
    "write_xlsx",
]
