"""Show a rules diff (the plain data of `DiffReport.to_dict()`): terminal (rich) or Markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ..errors import Lang, visible
from ..render import Column, Kind, Records, md, sanction_name
from ..reports.data import level_name

W: dict[str, tuple[str, str]] = {
    "title": ("So sánh bộ quy tắc: {old} → {new}", "Rules diff: {old} → {new}"),
    "changes": ("Thay đổi", "Changes"),
    "no_changes": ("Không có thay đổi nào trong nội dung quy tắc.", "No change in the rules."),
    "what": ("Nội dung", "What"),
    "version": ("Phiên bản", "Version"),
    "change": ("Thay đổi", "Change"),
    "old": ("Cũ", "Old"),
    "new": ("Mới", "New"),
    "added_version": ("thêm phiên bản", "version added"),
    "removed_version": ("bỏ phiên bản", "version removed"),
    "added_rule": ("thêm quy tắc", "rule added"),
    "removed_rule": ("bỏ quy tắc", "rule removed"),
    "in_place": ("sửa ngay trong phiên bản", "changed in place"),
    "vs": ("so với phiên bản từ {date}", "vs the version from {date}"),
    "warnings": ("Cảnh báo", "Warnings"),
    "notes": ("Lưu ý", "Notes"),
    "impact": ("Tác động trên các lần kiểm tra trước đây", "Impact on past visits"),
    "no_impact": (
        "Không có tệp các lần kiểm tra (--visits) nên không đo được tác động.",
        "No visits given (--visits): impact not measured.",
    ),
    "impact_intro": (
        (
            "{visits} lần kiểm tra được chạy lại với cả hai bộ quy tắc ({when}); {history}. "
            "{changed} lần có kết quả khác."
        ),
        "{visits} visits replayed with both rulesets ({when}); {history}. {changed} with a different result.",
    ),
    "own_date": ("mỗi lần theo quy tắc có hiệu lực vào ngày kiểm tra", "each under the rules in force on its own date"),
    "as_of": ("tất cả theo quy tắc có hiệu lực ngày {date}", "all under the rules in force on {date}"),
    "with_history": (
        "các phát hiện trước của cùng đối tượng trong lần chạy lại được tính để nâng mức xử lý",
        "earlier findings of the same subjects in the replay count for escalation",
    ),
    "without_history": ("không tính tái phạm", "repeats not counted"),
    "findings_line": (
        "Phát hiện: {old} → {new} (+{gained} mới, −{lost} mất, {sev} đổi mức độ)",
        "Findings: {old} → {new} (+{gained} gained, −{lost} lost, {sev} changed severity)",
    ),
    "sanctions_line": (
        "Kiến nghị xử lý: {old} → {new} (+{gained} mới, −{lost} mất)",
        "Sanctions: {old} → {new} (+{gained} gained, −{lost} lost)",
    ),
    "grades_line": (
        "Đổi xếp loại: {changed}/{visits} lần kiểm tra",
        "Grade changed: {changed} of {visits} visits",
    ),
    "examples": ("Ví dụ", "Examples"),
    "per_rule": ("Theo quy tắc", "Per rule"),
    "per_level": ("Theo cấp đơn vị", "Per unit level"),
    "per_year": ("Theo năm", "Per year"),
    "per_province": ("Theo tỉnh", "Per province"),
    "per_sanction": ("Theo hình thức kiến nghị", "Per sanction"),
    "per_grade": ("Theo xếp loại", "Per grade"),
    "grade_moves": ("Đổi xếp loại", "Grade changes"),
    "rule": ("Quy tắc", "Rule"),
    "findings": ("Phát hiện cũ → mới", "Findings old → new"),
    "gained": ("+ mới", "+ gained"),
    "lost": ("− mất", "− lost"),
    "severity": ("đổi mức độ", "severity changed"),
    "sanctions": ("Kiến nghị +/−", "Sanctions +/−"),
    "fired": ("Tỷ lệ phát sinh cũ → mới", "Fires on old → new"),
    "level": ("Cấp đơn vị", "Level"),
    "year": ("Năm", "Year"),
    "province": ("Tỉnh", "Province"),
    "visits": ("Số lần kiểm tra", "Visits"),
    "changed": ("Số lần khác kết quả", "Changed"),
    "sanction": ("Hình thức", "Sanction"),
    "count": ("Số lượng cũ → mới", "Count old → new"),
    "grade": ("Xếp loại", "Grade"),
    "grade_visits": ("Số lần kiểm tra cũ → mới", "Visits old → new"),
    "grade_move": ("Xếp loại cũ → mới", "Grade old → new"),
    "grade_changed": ("Đổi xếp loại", "Grade changed"),
    "no_difference": ("Không có khác biệt nào.", "No difference."),
}


def w(key: str, lang: Lang, **params: Any) -> str:
    vi, en = W[key]
    text = vi if lang == "vi" else en
    return text.format(**params) if params else text


def _show(value: Any, *, full: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if value and not full and all(isinstance(v, Mapping) and "document" in v for v in value):
            return "; ".join(
                v["document"] + (f", {v['article']}" if v.get("article") else "") for v in value
            )
        return "[" + ", ".join(_show(v, full=full) for v in value) + "]"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    return str(value)


def change_rows(data: Mapping[str, Any], lang: Lang) -> list[list[str]]:
    rows = []
    for c in data["changes"]:
        dates = f"{c['version']} → {c['effective_to'] or '…'}" if c["version"] else ""
        if c.get("ruleset"):  # a catalogue: which province's ruleset shows the change
            c = {**c, "key": f"{c['ruleset']}: {c['key']}"}
        if c["kind"] == "added" and c["field"] is None:
            what = w("added_version", lang) if c["version"] else w("added_rule", lang)
            rows.append([c["key"], dates, what, "", ""])
        elif c["kind"] == "removed" and c["field"] is None:
            what = w("removed_version", lang) if c["version"] else w("removed_rule", lang)
            rows.append([c["key"], dates, what, "", ""])
        else:
            what = c["field"] or ""
            if c["in_place"]:
                what += f" ({w('in_place', lang)})"
            if c["compared_to"]:
                what += f" ({w('vs', lang, date=c['compared_to'])})"
            old, new = _show(c["old"]), _show(c["new"])
            if old == new:  # e.g. only a legal basis' title or note changed: show everything
                old, new = _show(c["old"], full=True), _show(c["new"], full=True)
            rows.append([c["key"], dates, what, old, new])
    return rows


def _ratio(fired: int, in_force: int) -> str:
    return f"{fired / in_force:.0%}" if in_force else "—"


def rule_rows(impact: Mapping[str, Any], lang: Lang) -> list[list[str]]:
    rows = []
    for rule, r in impact["per_rule"].items():
        if not (r["gained"] or r["lost"] or r["severity_changed"] or r["sanctions_gained"] or r["sanctions_lost"]):
            continue
        sanctions = ", ".join(
            [f"+{n} {sanction_name(c, lang)}" for c, n in r["sanctions_gained"].items()]
            + [f"−{n} {sanction_name(c, lang)}" for c, n in r["sanctions_lost"].items()]
        )
        examples = ", ".join(dict.fromkeys(r["examples_gained"] + r["examples_lost"] + r["examples_severity"]))
        rows.append(
            [
                rule,
                f"{r['findings_old']} → {r['findings_new']}",
                str(r["gained"]),
                str(r["lost"]),
                str(r["severity_changed"]),
                sanctions,
                f"{_ratio(r['visits_fired_old'], r['visits_in_force_old'])} → {_ratio(r['visits_fired_new'], r['visits_in_force_new'])}",
                examples,
            ]
        )
    return rows


def bucket_rows(buckets: Mapping[str, Any], lang: Lang | None = None) -> list[list[str]]:
    """One row per bucket; with `lang`, the buckets are unit levels, named in that language."""
    return [
        [
            level_name(name, lang) if lang else name,
            str(b["visits"]),
            str(b["changed"]),
            f"{b['findings_old']} → {b['findings_new']}",
            str(b["gained"]),
            str(b["lost"]),
            f"+{b['sanctions_gained']} / −{b['sanctions_lost']}",
            str(b["grade_changed"]),
        ]
        for name, b in buckets.items()
    ]


def sanction_rows(impact: Mapping[str, Any], lang: Lang) -> list[list[str]]:
    return [
        [
            sanction_name(code, lang),
            f"{s['old']} → {s['new']}",
            str(s["gained"]),
            str(s["lost"]),
            ", ".join(dict.fromkeys(s["examples_gained"] + s["examples_lost"])),
        ]
        for code, s in impact["per_sanction"].items()
        if s["gained"] or s["lost"]
    ]


def grade_rows(grades: Mapping[str, Any], lang: Lang) -> list[list[str]]:
    return [[g["label"][lang], f"{g['old']} → {g['new']}"] for g in grades["per_grade"].values()]


def grade_move_rows(grades: Mapping[str, Any], lang: Lang) -> list[list[str]]:
    def name(code: str) -> str:
        return str(grades["per_grade"][code]["label"][lang])

    return [[f"{name(m['old'])} → {name(m['new'])}", str(m["visits"]), ", ".join(m["examples"])] for m in grades["moves"]]


def _intro(data: Mapping[str, Any], lang: Lang) -> list[str]:
    impact = data["impact"]
    when = w("as_of", lang, date=impact["as_of"]) if impact["as_of"] else w("own_date", lang)
    history = w("with_history" if impact["history"] else "without_history", lang)
    f, s = impact["findings"], impact["sanctions"]
    return [
        w("impact_intro", lang, visits=impact["visits"], when=when, history=history, changed=impact["visits_changed"]),
        w("findings_line", lang, old=f["old"], new=f["new"], gained=f["gained"], lost=f["lost"], sev=f["severity_changed"]),
        w("sanctions_line", lang, old=s["old"], new=s["new"], gained=s["gained"], lost=s["lost"]),
        w("grades_line", lang, changed=impact["grades"]["changed"], visits=impact["visits"]),
    ]


def _title(data: Mapping[str, Any], lang: Lang) -> str:
    old, new = data["old"], data["new"]
    return w(
        "title",
        lang,
        old=f"{old['directory']} ({old['name']} {old['version']})",
        new=f"{new['directory']} ({new['name']} {new['version']})",
    )


def _columns(lang: Lang, *specs: tuple[str, Kind]) -> list[Column]:
    """Columns by key and kind (as `render.Column` says)."""
    return [Column(w(key, lang), kind) for key, kind in specs]


def _bucket_columns(first: str, lang: Lang) -> list[Column]:
    return _columns(
        lang, (first, "label"), ("visits", "id"), ("changed", "id"), ("findings", "id"), ("gained", "id"),
        ("lost", "id"), ("sanctions", "id"), ("grade_changed", "id"),
    )


def _impact_tables(impact: Mapping[str, Any], lang: Lang) -> list[tuple[str, list[Column], list[list[str]]]]:
    """Title, columns and rows of each impact table, the same for the terminal and Markdown."""
    return [
        (
            w("per_rule", lang),
            _columns(lang, ("rule", "id"), ("findings", "id"), ("gained", "id"), ("lost", "id"), ("severity", "id"),
                     ("sanctions", "label"), ("fired", "id"), ("examples", "label")),
            rule_rows(impact, lang),
        ),
        (w("per_grade", lang), _columns(lang, ("grade", "label"), ("grade_visits", "id")), grade_rows(impact["grades"], lang)),
        (
            w("grade_moves", lang),
            _columns(lang, ("grade_move", "label"), ("visits", "id"), ("examples", "label")),
            grade_move_rows(impact["grades"], lang),
        ),
        (w("per_level", lang), _bucket_columns("level", lang), bucket_rows(impact["per_level"], lang)),
        (w("per_year", lang), _bucket_columns("year", lang), bucket_rows(impact["per_year"])),
        (w("per_province", lang), _bucket_columns("province", lang), bucket_rows(impact.get("per_province", {}))),
        (
            w("per_sanction", lang),
            _columns(lang, ("sanction", "label"), ("count", "id"), ("gained", "id"), ("lost", "id"), ("examples", "label")),
            sanction_rows(impact, lang),
        ),
    ]


def _change_columns(lang: Lang) -> list[Column]:
    return _columns(lang, ("what", "id"), ("version", "id"), ("change", "text"), ("old", "text"), ("new", "text"))


def _line(text: str, style: str = "") -> Text:
    """A line for the terminal; its data escaped as table cells are (`plain`)."""
    return Text(visible(text), style=style)


def render_rich(data: Mapping[str, Any], lang: Lang, console: Console) -> None:
    console.print(_line(_title(data, lang), "bold"))
    rows = change_rows(data, lang)
    if rows:
        console.print(Records(w("changes", lang), _change_columns(lang), rows))
    else:
        console.print(_line(w("no_changes", lang)))
    warnings = [x for x in data["warnings"] if x["level"] == "warning"]
    notes = [x for x in data["warnings"] if x["level"] != "warning"]
    if warnings:
        console.print(_line(w("warnings", lang), "bold yellow"))
        for x in warnings:
            console.print(_line(f"  ! {x['message'][lang]}", "yellow"))
    if notes:
        console.print(_line(w("notes", lang), "bold"))
        for x in notes:
            console.print(_line(f"  · {x['message'][lang]}"))
    impact = data["impact"]
    console.print(_line(w("impact", lang), "bold"))
    if impact is None:
        console.print(_line("  " + w("no_impact", lang)))
        return
    for line in _intro(data, lang):
        console.print(_line("  " + line))
    if impact["examples_changed"]:
        console.print(_line(f"  {w('examples', lang)}: {', '.join(impact['examples_changed'])}"))
    for title, columns, body in _impact_tables(impact, lang):
        if body:
            console.print(Records(title, columns, body))


def _md_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(md(c.header) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return out + [""]


def render_markdown(data: Mapping[str, Any], lang: Lang) -> str:
    out = [f"# {md(_title(data, lang))}", "", f"## {md(w('changes', lang))}", ""]
    rows = change_rows(data, lang)
    if rows:
        out += _md_table(_change_columns(lang), rows)
    else:
        out += [md(w("no_changes", lang)), ""]
    if data["warnings"]:
        out += [f"## {md(w('warnings', lang))}", ""]
        for x in data["warnings"]:
            mark = "⚠️" if x["level"] == "warning" else "ℹ️"
            out.append(f"- {mark} {md(x['message'][lang])}")
        out.append("")
    out += [f"## {md(w('impact', lang))}", ""]
    impact = data["impact"]
    if impact is None:
        return "\n".join(out + [md(w("no_impact", lang)), ""])
    out += [f"- {md(line)}" for line in _intro(data, lang)]
    if impact["examples_changed"]:
        out.append(f"- {md(w('examples', lang))}: {md(', '.join(impact['examples_changed']))}")
    out.append("")
    for title, columns, body in _impact_tables(impact, lang):
        out += [f"### {md(title)}", ""]
        out += _md_table(columns, body) if body else [md(w("no_difference", lang)), ""]
    return "\n".join(out)


__all__ = ["render_markdown", "render_rich"]
