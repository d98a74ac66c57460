"""The campaign report as Markdown: the narrative, then the figures as tables.

Every text, ours or from the data (unit names, provinces, plan references, rule titles), goes
through `render.md`, so nothing in the data is read as HTML, a link, an image or Markdown."""

from __future__ import annotations

from ..errors import Lang
from ..render import md
from .data import ReportDir, word
from .narrative import Narrative, narrative
from .tables import Cell, Table, tables


def _cell(value: Cell) -> str:
    return "—" if value is None else md(value)


def table_md(table: Table) -> list[str]:
    numeric = [all(isinstance(row[i], int) for row in table.rows) and bool(table.rows) for i in range(len(table.headers))]
    out = [f"### {md(table.title)}", ""]
    out.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in table.rows:
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    out.append("")
    return out


def markdown_text(story: Narrative, figures: list[Table], lang: Lang) -> str:
    out = [f"# {md(story.title)}", ""]
    for _, paragraph in story.paragraphs:
        out.extend([md(paragraph), ""])
    out.extend([f"## {md(word('annex', lang))}", ""])
    for table in figures:
        out.extend(table_md(table))
    out.append(f"_{md(word('generated', lang))}_")
    return "\n".join(out) + "\n"


def markdown_report(report: ReportDir, lang: Lang = "vi") -> str:
    story = narrative(report.summary, lang, evidence=report.varied_evidence())
    return markdown_text(story, tables(report.summary, lang), lang)
