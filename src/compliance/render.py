"""Show results to people: a terminal table (rich) or Markdown, in Vietnamese or English.

Text from data (ids, names, messages, rules) reaches a person through `plain` on the terminal
and `md` in Markdown, which escape it for where it lands, and tables through `Records`, which
stacks the rows when the terminal is too narrow for a readable table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .common import Severity
from .errors import Lang, visible
from .result import Result, Sanction

WORDS: dict[str, dict[str, str]] = {
    "visit": {"vi": "Lần kiểm tra", "en": "Visit"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "date": {"vi": "Thời điểm", "en": "Inspected at"},
    "grade": {"vi": "Xếp loại", "en": "Grade"},
    "points": {"vi": "điểm", "en": "points"},
    "ruleset": {"vi": "Bộ quy tắc", "en": "Ruleset"},
    "as_of": {"vi": "áp dụng ngày", "en": "as of"},
    "findings": {"vi": "Phát hiện", "en": "Findings"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "rule": {"vi": "Quy tắc", "en": "Rule"},
    "subject": {"vi": "Đối tượng", "en": "Subject"},
    "message": {"vi": "Nội dung", "en": "What was found"},
    "basis": {"vi": "Căn cứ pháp lý", "en": "Legal basis"},
    "sanctions": {"vi": "Kiến nghị xử lý", "en": "Recommended sanctions"},
    "sanction": {"vi": "Hình thức", "en": "Sanction"},
    "target": {"vi": "Áp dụng đối với", "en": "Target"},
    "because": {"vi": "Do vi phạm", "en": "Because of"},
    "fine": {"vi": "Mức phạt (tham khảo)", "en": "Fine range (for reference)"},
    "none": {"vi": "Không phát hiện vi phạm.", "en": "No findings."},
    "repeat": {"vi": "tái phạm sau", "en": "repeat of"},
    "official": {"vi": "cá nhân", "en": "official"},  # cán bộ, công chức or viên chức alike
    "unit_subject": {"vi": "đơn vị", "en": "unit"},
    "unit_head": {"vi": "người đứng đầu", "en": "head of unit"},
    "instead_of": {"vi": "thay cho", "en": "instead of"},
}

UNIT_LEVELS: dict[str, dict[str, str]] = {
    "department": {"vi": "sở, ngành cấp tỉnh", "en": "provincial department"},
    "department_unit": {"vi": "đơn vị thuộc sở, ngành", "en": "unit under a provincial department"},
    "district": {"vi": "UBND cấp huyện", "en": "district people's committee"},
    "district_unit": {"vi": "đơn vị thuộc UBND cấp huyện", "en": "unit under a district people's committee"},
    "commune": {"vi": "UBND cấp xã", "en": "commune people's committee"},
}
"""What one unit is, by its level (the reports' LEVEL_NAMES name the groups of units)."""

SANCTION_NAMES: dict[str, dict[str, str]] = {
    "reminder": {"vi": "Nhắc nhở", "en": "Reminder"},
    "explanation_report": {"vi": "Báo cáo giải trình", "en": "Written explanation"},
    "self_criticism": {"vi": "Kiểm điểm", "en": "Self-criticism review"},
    "emulation_review": {"vi": "Xem xét thi đua", "en": "Emulation review"},
    "reprimand": {"vi": "Khiển trách", "en": "Reprimand"},
    "warning": {"vi": "Cảnh cáo", "en": "Warning"},
    "salary_downgrade": {"vi": "Hạ bậc lương", "en": "Salary downgrade"},
    "demotion": {"vi": "Giáng chức", "en": "Demotion"},
    "dismissal_from_post": {"vi": "Cách chức", "en": "Dismissal from post"},
    "forced_resignation": {"vi": "Buộc thôi việc", "en": "Forced resignation"},
    "administrative_fine": {"vi": "Xử phạt vi phạm hành chính", "en": "Administrative fine"},
    "rectify_within_deadline": {"vi": "Khắc phục trong thời hạn", "en": "Rectify within a deadline"},
    "head_accountability": {"vi": "Trách nhiệm người đứng đầu", "en": "Head-of-unit accountability"},
}

_SEVERITY_STYLE = {"minor": "cyan", "moderate": "yellow", "serious": "red", "critical": "bold white on red"}


def word(key: str, lang: Lang) -> str:
    return WORDS[key][lang]


def sanction_name(code: str, lang: Lang) -> str:
    return SANCTION_NAMES.get(code, {}).get(lang, code)


def severity_name(severity: str, lang: Lang) -> str:
    return Severity(severity).label[lang]


def target_name(target: str, lang: Lang) -> str:
    return word({"official": "official", "unit": "unit_subject", "unit_head": "unit_head"}[target], lang)


def unit_level_name(level: str, lang: Lang) -> str:
    return UNIT_LEVELS.get(level, {}).get(lang, level)


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def fine_text(fine: dict[str, Any] | None) -> str:
    if not fine:
        return ""
    return f"{money(fine['min'])}–{money(fine['max'])} {fine.get('currency', 'VND')}"


def plain(*cells: str | Text) -> list[Text]:
    """Cells for the terminal as written: square brackets stay text (rich would read them as
    markup), and what does not print is escaped as error messages quote it (`errors.visible`),
    so an id holding ESC[31m or an OSC title sequence shows as text instead of driving the terminal."""
    return [c if isinstance(c, Text) else Text(visible(c)) for c in cells]


def lines(items: Iterable[str]) -> Text:
    """One cell of several values, one per line, each escaped as `plain` escapes a cell."""
    return Text("\n".join(visible(item) for item in items))


_MD_ALWAYS = frozenset("\\`*[]<>&|~#")
_MD_ORDERED = re.compile(r"[0-9]+(?=[.)])")


def md(value: object) -> str:
    """Text from data for Markdown, shown as written and never read as Markdown.

    What does not print is escaped as on the terminal (`errors.visible`), so the text stays on
    one line; then every character that could start HTML, a link or image, code, emphasis,
    an entity or a table cell is backslash-escaped (an underscore inside a word cannot, and
    stays as it is), and so is a first character that would start a block (list, heading,
    quote, rule)."""
    text = visible(str(value)).strip(" ")
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in _MD_ALWAYS or (ch == "_" and not (0 < i < last and text[i - 1].isalnum() and text[i + 1].isalnum())):
            out.append("\\")
        out.append(ch)
    escaped = "".join(out)
    if escaped[:1] in ("-", "+", "="):
        return "\\" + escaped
    ordered = _MD_ORDERED.match(escaped)
    if ordered:
        return escaped[: ordered.end()] + "\\" + escaped[ordered.end() :]
    return escaped


MIN_TEXT = 24
"""The narrowest a table lets a column of running text be: narrower, a finding's message runs
one or two words per line down the screen, so the rows are stacked instead."""


Kind = Literal["id", "label", "text"]


@dataclass(frozen=True)
class Column:
    """A column of `Records`, by what its values are: `"id"` (an id, a number, a date: whole on
    one line), `"label"` (a name of a few words: may wrap between words) or `"text"` (running
    text: wraps between words, at least MIN_TEXT wide). An `optional` column is left out of a
    table that has no room for it, never out of the stacked layout."""

    header: str
    kind: Kind = "id"
    optional: bool = False


class Records:
    """Rows for a person on the terminal: a table when every column has room (ids whole, words
    never split, running text at least MIN_TEXT wide), else one block per row, each value beside
    its header, so that nothing is squeezed to a letter per line at 80 columns or in a pipe."""

    def __init__(self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[str | Text]]):
        self.title = title
        self.columns = list(columns)
        self.rows = [plain(*row) for row in rows]
        self.shown = [i for i in range(len(self.columns)) if any(row[i].plain for row in self.rows)]
        """The columns with something to show: one empty in every row is left out."""

    def _lines(self, index: int) -> list[str]:
        return [line for row in self.rows for line in row[index].plain.split("\n")]

    def _longest(self, index: int) -> int:
        return max((cell_len(line) for line in self._lines(index)), default=0)

    def _width(self, index: int) -> int:
        """The narrowest column `index` may be in a table (a header wraps between its words)."""
        column = self.columns[index]
        header = max((cell_len(w) for w in column.header.split()), default=0)
        longest = self._longest(index)
        if column.kind == "id":
            return max(longest, header)
        word_ = max((cell_len(w) for line in self._lines(index) for w in line.split()), default=0)
        least = min(longest, max(MIN_TEXT, word_)) if column.kind == "text" else word_
        return max(least, header)

    def _fits(self, kept: Sequence[int], width: int) -> bool:
        return sum(self._width(i) for i in kept) + 3 * len(kept) + 1 <= width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        kept = list(self.shown)
        optional = [i for i in kept if self.columns[i].optional]
        while optional and not self._fits(kept, options.max_width):
            kept.remove(optional.pop())
        if self._fits(kept, options.max_width):
            yield self._table(kept, options.max_width)
        else:
            yield from self._stacked(options.max_width)

    def _table(self, kept: Sequence[int], width: int) -> Table:
        """The table, each column as wide as it needs. Room to spare goes first to values that
        wrap, then to headers that wrap, shared fairly: a column that needs little gets all of
        it, the longest share what is left (rich's own ratios would not keep a minimum)."""
        widths = {i: self._width(i) for i in kept}
        for whole in (self._longest, lambda i: cell_len(self.columns[i].header)):
            spare = width - (sum(widths.values()) + 3 * len(kept) + 1)
            wants = sorted((whole(i) - widths[i], i) for i in kept if whole(i) > widths[i])
            for n, (want, i) in enumerate(wants):
                given = min(want, spare // (len(wants) - n))
                widths[i] += given
                spare -= given
        table = Table(title=plain(self.title)[0])
        for i in kept:
            table.add_column(plain(self.columns[i].header)[0], width=widths[i], overflow="fold")
        for row in self.rows:
            table.add_row(*(row[i] for i in kept))
        return table

    def _stacked(self, width: int) -> Iterable[Any]:
        yield Text(visible(self.title), style="table.title", justify="center")
        label = min(max((cell_len(self.columns[i].header) for i in self.shown), default=0), max(10, width // 3))
        for number, row in enumerate(self.rows):
            block = Table.grid(padding=(0, 2), expand=True)
            block.add_column(style="bold", width=label, overflow="fold")
            block.add_column(overflow="fold", ratio=1)
            for i in self.shown:
                if row[i].plain:
                    block.add_row(plain(self.columns[i].header)[0], row[i])
            yield block
            if number < len(self.rows) - 1:
                yield Text("─" * min(width, 40), style="dim")


def _sanction_row(s: Sanction, lang: Lang) -> list[str]:
    name = sanction_name(s.code, lang)
    if s.replaces:
        name += f" ({word('instead_of', lang)} {sanction_name(s.replaces, lang)})"
    because = ", ".join(s.because)
    if s.escalated_by:
        because += f" — {word('repeat', lang)} {', '.join(s.escalated_by)}"
    return [name, f"{target_name(s.target, lang)} {s.subject_id}", because, fine_text(s.fine)]


def _basis(refs: Iterable[dict[str, Any]]) -> str:
    return "; ".join(ref["document"] + (f", {ref['article']}" if ref.get("article") else "") for ref in refs)


def _header(result: Result, lang: Lang) -> Text:
    return Text.assemble(
        (f"{word('visit', lang)} {visible(result.visit_id)}", "bold"),
        f"  {word('unit', lang)}: {visible(result.unit_id)} ({unit_level_name(result.unit_level, lang)})",
        f"  {word('date', lang)}: {result.inspected_at}",
        "\n",
        (f"{word('grade', lang)}: {result.grade.label[lang]}", "bold"),
        f" ({result.grade.points} {word('points', lang)})",
        f"  {word('ruleset', lang)}: {visible(result.ruleset.name)} {visible(result.ruleset.version)},"
        f" {word('as_of', lang)} {result.ruleset.as_of}",
    )


def table(results: Sequence[Result], lang: Lang, console: Console) -> None:
    for result in results:
        parts: list[Any] = [_header(result, lang)]
        if result.findings:
            columns = [Column(word("severity", lang), "label"), Column(word("rule", lang)), Column(word("subject", lang)),
                       Column(word("message", lang), "text"), Column(word("basis", lang), "text", optional=True)]
            rows: list[list[str | Text]] = [
                [Text(severity_name(f.severity, lang), style=_SEVERITY_STYLE.get(f.severity, "")), f.key, f.subject.id,
                 f.message[lang], _basis(f.legal_basis)]
                for f in result.findings
            ]
            parts.append(Records(word("findings", lang), columns, rows))
        else:
            parts.append(Text(word("none", lang), style="green"))
        if result.sanctions:
            columns = [Column(word(c, lang), "label") for c in ("sanction", "target", "because", "fine")]
            parts.append(Records(word("sanctions", lang), columns, [_sanction_row(s, lang) for s in result.sanctions]))
        console.print(Panel(Group(*parts), expand=True))


def _md_row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(md(c) for c in cells) + " |"


def markdown(results: Sequence[Result], lang: Lang) -> str:
    out: list[str] = []
    for result in results:
        out.append(f"## {md(word('visit', lang) + ' ' + result.visit_id)}")
        out.append("")
        out.append(f"- {md(word('unit', lang))}: {md(result.unit_id)} ({md(unit_level_name(result.unit_level, lang))})")
        out.append(f"- {md(word('date', lang))}: {md(result.inspected_at)}")
        out.append(f"- {md(word('grade', lang))}: **{md(result.grade.label[lang])}** ({result.grade.points} {md(word('points', lang))})")
        ruleset = result.ruleset
        out.append(f"- {md(word('ruleset', lang))}: {md(f'{ruleset.name} {ruleset.version}')} ({md(ruleset.as_of)}, {md(ruleset.digest)})")
        out.append("")
        if result.findings:
            out.append(f"### {md(word('findings', lang))}")
            out.append("")
            out.append(_md_row(word(c, lang) for c in ("severity", "rule", "subject", "message", "basis")))
            out.append("|---|---|---|---|---|")
            for f in result.findings:
                out.append(_md_row([severity_name(f.severity, lang), f.key, f.subject.id, f.message[lang], _basis(f.legal_basis)]))
            out.append("")
        else:
            out.append(md(word("none", lang)))
            out.append("")
        if result.sanctions:
            out.append(f"### {md(word('sanctions', lang))}")
            out.append("")
            out.append(_md_row(word(c, lang) for c in ("sanction", "target", "because", "fine")))
            out.append("|---|---|---|---|")
            for s in result.sanctions:
                out.append(_md_row(_sanction_row(s, lang)))
            out.append("")
    return "\n".join(out)
