"""Show results to people: a terminal table (rich) or Markdown, in Vietnamese or English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .common import Severity
from .errors import Lang
from .result import Result, Sanction

WORDS: dict[str, dict[str, str]] = {
    "visit": {"vi": "Lần kiểm tra", "en": "Visit"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "date": {"vi": "Ngày", "en": "Date"},
    "grade": {"vi": "Xếp loại", "en": "Grade"},
    "points": {"vi": "điểm", "en": "points"},
    "ruleset": {"vi": "Bộ quy tắc", "en": "Ruleset"},
    "as_of": {"vi": "áp dụng ngày", "en": "as of"},
    "findings": {"vi": "Phát hiện", "en": "Findings"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "rule": {"vi": "Quy tắc", "en": "Rule"},
    "subject": {"vi": "Đối tượng", "en": "Subject"},
    "message": {"vi": "Nội dung", "en": "What was found"},
    "basis": {"vi": "Căn cứ", "en": "Legal basis"},
    "sanctions": {"vi": "Kiến nghị xử lý", "en": "Recommended sanctions"},
    "sanction": {"vi": "Hình thức", "en": "Sanction"},
    "target": {"vi": "Áp dụng với", "en": "Target"},
    "because": {"vi": "Do", "en": "Because of"},
    "fine": {"vi": "Mức phạt (tham khảo)", "en": "Fine range (for reference)"},
    "none": {"vi": "Không phát hiện vi phạm.", "en": "No findings."},
    "repeat": {"vi": "tái phạm sau", "en": "repeat of"},
    "official": {"vi": "cá nhân", "en": "official"},  # cán bộ, công chức or viên chức alike
    "unit_subject": {"vi": "đơn vị", "en": "unit"},
    "unit_head": {"vi": "người đứng đầu", "en": "head of unit"},
}

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
    "administrative_fine": {"vi": "Xử phạt hành chính", "en": "Administrative fine"},
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


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def fine_text(fine: dict[str, Any] | None) -> str:
    if not fine:
        return ""
    return f"{money(fine['min'])}–{money(fine['max'])} {fine.get('currency', 'VND')}"


def plain(*cells: str | Text) -> list[Text]:
    """Table cells as written: a value from a visit or a rules file may hold square brackets,
    which rich would otherwise read as markup and drop, or fail on."""
    return [c if isinstance(c, Text) else Text(c) for c in cells]


def _sanction_row(s: Sanction, lang: Lang) -> list[str]:
    name = sanction_name(s.code, lang)
    if s.replaces:
        name += f" ({'thay cho' if lang == 'vi' else 'instead of'} {sanction_name(s.replaces, lang)})"
    because = ", ".join(s.because)
    if s.escalated_by:
        because += f" — {word('repeat', lang)} {', '.join(s.escalated_by)}"
    return [name, f"{target_name(s.target, lang)} {s.subject_id}", because, fine_text(s.fine)]


def table(results: Sequence[Result], lang: Lang, console: Console) -> None:
    for result in results:
        header = Text.assemble(
            (f"{word('visit', lang)} {result.visit_id}", "bold"),
            f"  {word('unit', lang)}: {result.unit_id} ({result.unit_level})",
            f"  {word('date', lang)}: {result.inspected_at}",
            "\n",
            (f"{word('grade', lang)}: {result.grade.label[lang]}", "bold"),
            f" ({result.grade.points} {word('points', lang)})",
            f"  {word('ruleset', lang)}: {result.ruleset.name} {result.ruleset.version}, {word('as_of', lang)} {result.ruleset.as_of}",
        )
        parts: list[Any] = [header]
        if result.findings:
            wide = console.width >= 120
            findings = Table(title=word("findings", lang), show_lines=False, expand=True)
            findings.add_column(word("severity", lang), no_wrap=True)
            findings.add_column(word("rule", lang), no_wrap=True)
            findings.add_column(word("subject", lang), overflow="fold")
            findings.add_column(word("message", lang), overflow="fold", ratio=3)
            if wide:
                findings.add_column(word("basis", lang), overflow="fold", ratio=1)
            for f in result.findings:
                row = [
                    Text(severity_name(f.severity, lang), style=_SEVERITY_STYLE.get(f.severity, "")),
                    f.key,
                    f.subject.id,
                    f.message[lang],
                ]
                if wide:
                    row.append(
                        "; ".join(ref["document"] + (f", {ref['article']}" if ref.get("article") else "") for ref in f.legal_basis)
                    )
                findings.add_row(*plain(*row))
            parts.append(findings)
        else:
            parts.append(Text(word("none", lang), style="green"))
        if result.sanctions:
            sanctions = Table(title=word("sanctions", lang), expand=True)
            for column in ("sanction", "target", "because", "fine"):
                sanctions.add_column(word(column, lang), overflow="fold")
            for s in result.sanctions:
                sanctions.add_row(*plain(*_sanction_row(s, lang)))
            parts.append(sanctions)
        console.print(Panel(Group(*parts), expand=True))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(results: Sequence[Result], lang: Lang) -> str:
    out: list[str] = []
    for result in results:
        out.append(f"## {word('visit', lang)} {result.visit_id}")
        out.append("")
        out.append(f"- {word('unit', lang)}: {result.unit_id} ({result.unit_level})")
        out.append(f"- {word('date', lang)}: {result.inspected_at}")
        out.append(f"- {word('grade', lang)}: **{result.grade.label[lang]}** ({result.grade.points} {word('points', lang)})")
        out.append(f"- {word('ruleset', lang)}: {result.ruleset.name} {result.ruleset.version} ({result.ruleset.as_of}, {result.ruleset.digest})")
        out.append("")
        if result.findings:
            out.append(f"### {word('findings', lang)}")
            out.append("")
            out.append("| " + " | ".join(word(c, lang) for c in ("severity", "rule", "subject", "message", "basis")) + " |")
            out.append("|---|---|---|---|---|")
            for f in result.findings:
                basis = "; ".join(ref["document"] + (f", {ref['article']}" if ref.get("article") else "") for ref in f.legal_basis)
                out.append(
                    f"| {severity_name(f.severity, lang)} | `{f.check}.{f.rule}` | {_cell(f.subject.id)} | {_cell(f.message[lang])} | {_cell(basis)} |"
                )
            out.append("")
        else:
            out.append(word("none", lang))
            out.append("")
        if result.sanctions:
            out.append(f"### {word('sanctions', lang)}")
            out.append("")
            out.append("| " + " | ".join(word(c, lang) for c in ("sanction", "target", "because", "fine")) + " |")
            out.append("|---|---|---|---|")
            for s in result.sanctions:
                out.append("| " + " | ".join(_cell(c) for c in _sanction_row(s, lang)) + " |")
            out.append("")
    return "\n".join(out)
