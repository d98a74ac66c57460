"""The campaign report as Markdown: the narrative, then the figures as tables."""

from __future__ import annotations

from ..errors import Lang
from .data import ReportDir, word
from .narrative import Narrative, narrative
from .tables import Cell, Table, tables


def _cell(value: Cell) -> str:
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table_md(table: Table) -> list[str]:
    numeric = [all(isinstance(row[i], int) for row in table.rows) and bool(table.rows) for i in range(len(table.headers))]
    out = [f"### {table.title}", ""]
    out.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in table.rows:
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    out.append("")
    return out


def markdown_text(story: Narrative, figures: list[Table], lang: Lang) -> str:
    out = [f"# {story.title}", ""]
    for _, paragraph in story.paragraphs:
        out.extend([paragraph, ""])
    out.extend([f"## {word('annex', lang)}", ""])
    for table in figures:
        out.extend(table_md(table))
    out.append(f"_{word('generated', lang)}_")
    return "\n".join(out) + "\n"


def markdown_report(report: ReportDir, lang: Lang = "vi") -> str:
    story = narrative(report.summary, lang, evidence=report.varied_evidence())
    return markdown_text(story, tables(report.summary, lang), lang)
