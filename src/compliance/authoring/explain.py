"""`compliance explain`: for each rule, whether it fired on a visit and why.

The engine evaluates the visit and records what it did (`Engine.evaluate_traced`); this
module renders that record, so `explain` and `evaluate` cannot disagree. For every rule: the
version in force on the rules date (dates, severity, thresholds, legal basis), the observation
values its check reads, why it did not fire where the check says so, each finding's evidence
and message, and the sanction reasoning: which policies of the sanction policy applied and
which did not (condition by condition), the earlier findings that made it a repeat, and forms
replaced by the allowed milder one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..engine import Engine
from ..errors import Lang
from ..render import fine_text, plain, sanction_name, severity_name, target_name, word
from ..result import PriorFinding, Result, sanction_data
from ..visit import Visit
from .words import yaml_value

W: dict[str, tuple[str, str]] = {
    "fired": ("PHÁT SINH", "FIRED"),
    "not_fired": ("không phát sinh", "did not fire"),
    "not_in_force": ("không có hiệu lực", "not in force"),
    "visit": ("Lần kiểm tra", "Visit"),
    "unit": ("Đơn vị", "Unit"),
    "local_time": ("Giờ địa phương", "Local time"),
    "rules_date": ("Áp dụng quy tắc có hiệu lực ngày", "Rules in force on"),
    "working_day": ("ngày làm việc", "working day"),
    "not_working_day": ("không phải ngày làm việc", "not a working day"),
    "in_session": ("trong ca làm việc {start}–{end} (mùa {season})", "in the working session {start}–{end} ({season} season)"),
    "out_session": ("ngoài giờ làm việc (mùa {season}: {sessions})", "outside working hours ({season} season: {sessions})"),
    "grade": ("Xếp loại", "Grade"),
    "version": ("Phiên bản", "Version"),
    "severity": ("mức độ", "severity"),
    "thresholds": ("ngưỡng", "thresholds"),
    "no_thresholds": ("(không có ngưỡng)", "(no thresholds)"),
    "basis": ("Căn cứ", "Legal basis"),
    "note": ("Ghi chú", "Note"),
    "looks_at": ("Bằng chứng quy tắc này ghi nhận", "Evidence this rule records"),
    "reads": ("Kiểm tra '{check}' đọc", "Check '{check}' reads"),
    "not_fired_why": (
        "kiểm tra '{check}' không ghi nhận vi phạm này với các ngưỡng trên",
        "the '{check}' check observed no such violation at the thresholds above",
    ),
    "not_in_force_why": (
        "Không có phiên bản nào có hiệu lực ngày {day}. Các phiên bản: {versions}",
        "No version is in force on {day}. Versions: {versions}",
    ),
    "finding": ("Phát hiện", "Finding"),
    "evidence": ("bằng chứng", "evidence"),
    "message": ("nội dung", "message"),
    "severity_raised": ("mức độ do kiểm tra nâng lên từ {base}", "severity set by the check (the version says {base})"),
    "repeat": ("Tái phạm: {n} phát hiện trước trong {months} tháng: {list}", "Repeat: {n} earlier finding(s) within {months} months: {list}"),
    "first": ("Lần đầu (không có phát hiện trước trong {months} tháng)", "First time (no earlier finding within {months} months)"),
    "policies": ("Chính sách kiến nghị", "Sanction policies"),
    "applied": ("áp dụng", "applies"),
    "not_applied": ("không áp dụng", "does not apply"),
    "recommended": ("Kiến nghị", "Recommended"),
    "instead_of": ("thay cho {code} (hình thức pháp luật không cho phép với đối tượng này vào ngày đó)", "instead of {code} (a form the law does not allow for this person on that date)"),
    "none_recommended": ("(không có kiến nghị)", "(nothing recommended)"),
    "visit_sanctions": ("Kiến nghị của lần kiểm tra (sau khi gộp và nâng mức)", "The visit's recommendations (merged, after escalation)"),
    "because": ("do", "because of"),
    "escalated_by": ("nâng mức do", "escalated by"),
    "points": ("điểm", "points"),
    # conditions
    "c_day": ("có hiệu lực ngày {actual} ({expected})", "in force on {actual} ({expected})"),
    "c_rule": ("quy tắc thuộc: {expected}", "rule is one of: {expected}"),
    "c_subject": ("đối tượng là {expected}", "subject is {expected}"),
    "c_severity_ge": ("mức độ từ {expected} trở lên (là {actual})", "severity at least {expected} (is {actual})"),
    "c_severity_le": ("mức độ tối đa {expected} (là {actual})", "severity at most {expected} (is {actual})"),
    "c_category": ("loại cán bộ thuộc: {expected} (là {actual})", "personnel category one of: {expected} (is {actual})"),
    "c_leader": ("giữ chức vụ lãnh đạo: {expected} (là {actual})", "holds a leadership post: {expected} (is {actual})"),
    "c_repeats_ge": ("số lần vi phạm trước ≥ {expected} (có {actual})", "earlier findings ≥ {expected} (has {actual})"),
    "c_repeats_le": ("số lần vi phạm trước ≤ {expected} (có {actual})", "earlier findings ≤ {expected} (has {actual})"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "open": ("…", "…"),
}


def w(key: str, lang: Lang, **params: Any) -> str:
    vi, en = W[key]
    text = vi if lang == "vi" else en
    return text.format(**params) if params else text


def _wanted(check_id: str, rule_id: str, selectors: Sequence[str] | None) -> bool:
    if not selectors:
        return True
    return any(s in (check_id, rule_id, f"{check_id}.{rule_id}") for s in selectors)


def explain_visit(
    engine: Engine,
    visit: Visit | dict[str, Any],
    *,
    rules: Sequence[str] | None = None,
    as_of: date | None = None,
    history: Iterable[PriorFinding] = (),
) -> dict[str, Any]:
    """The explanation of one visit as plain data (what `--format json` prints): the trace the
    engine recorded while it evaluated the visit, never a second computation of it."""
    visit = engine.parse_visit(visit)
    history = list(history)
    result, trace = engine.evaluate_traced(visit, history=history, as_of=as_of)
    ruleset = engine.ruleset_for(visit)
    traced = trace.to_dict()
    titles = {c["check"]: c["title"] for c in traced["checks"]}
    prior_dates: dict[str, str] = {p.visit_id: p.date.isoformat() for p in history}
    rules_out = []
    for rule in traced["rules"]:
        if not _wanted(rule["check"], rule["rule"].partition(".")[2], rules):
            continue
        for finding in rule["findings"]:
            finding["repeat_of"] = [{"visit_id": v, "date": prior_dates.get(v)} for v in finding["repeat_of"]]
            finding["recommended"] = [_recommended(ref, rule["rule"], result) for ref in finding.pop("sanctions")]
        rules_out.append({**rule, "check_title": titles.get(rule["check"], {})})
    return {
        "visit_id": visit.visit_id,
        "unit": {"id": visit.unit.id, "name": visit.unit.name, "level": visit.unit.level.value},
        "inspected_at": visit.inspected_at.isoformat(),
        "local_time": traced["local_time"],
        "visit_date": traced["visit_date"],
        "rules_date": traced["rules_date"],
        "working_time": traced["working_time"],
        "ruleset": {"name": ruleset.name, "version": ruleset.version, "digest": ruleset.digest},
        "lookback_months": traced["lookback_months"],
        "history_records": traced["history_records"],
        "checks": traced["checks"],
        "grade": {"code": result.grade.code, "label": result.grade.label, "points": result.grade.points},
        "rules": rules_out,
        "sanctions": [
            sanction_data(s)
            for s in result.sanctions
            if not rules or any(r["rule"] in s.because for r in rules_out)
        ],
        "result": result.to_dict(),
    }


def _recommended(ref: dict[str, Any], rule: str, result: Result) -> dict[str, Any]:
    """A finding's sanction with what the visit's merged entry adds (the form it replaced, the fine)."""
    full = next(
        (
            s
            for s in result.sanctions
            if s.code == ref["code"] and s.target == ref["target"] and s.subject_id == ref["subject_id"] and rule in s.because
        ),
        None,
    )
    return {**ref, "replaces": full.replaces if full else None, "fine": full.fine if full else None}


# ---- terminal rendering


def _values(data: dict[str, Any]) -> str:
    if not data:
        return ""
    return ", ".join(f"{k}={yaml_value(v)}" for k, v in data.items())


def _dates(frm: str, to: str | None) -> str:
    return f"{frm} → {to or '…'}"


def _basis(refs: Sequence[dict[str, Any]]) -> str:
    parts = []
    for ref in refs:
        text = ref["document"]
        if ref.get("article"):
            text += f", {ref['article']}"
        if ref.get("title"):
            text += f" — {ref['title']}"
        if ref.get("note"):
            text += f" ({ref['note']})"
        parts.append(text)
    return "; ".join(parts)


def describe_condition(c: dict[str, Any], lang: Lang) -> str:
    field, op = c["field"], c["op"]
    expected, actual = c["expected"], c["actual"]
    if field == "day":
        key = "c_day"
        expected = ("≥ " if op == ">=" else "≤ ") + str(expected)
    elif field == "rule":
        key, expected = "c_rule", ", ".join(expected)
    elif field == "subject":
        key, expected = "c_subject", ", ".join(expected)
    elif field == "severity":
        key = "c_severity_ge" if op == ">=" else "c_severity_le"
        expected, actual = severity_name(expected, lang), severity_name(actual, lang)
    elif field == "category":
        key, expected = "c_category", ", ".join(expected)
    elif field == "leader":
        key = "c_leader"
        expected = ", ".join(w("yes" if x else "no", lang) for x in expected)
        actual = w("yes" if actual else "no", lang)
    elif field == "repeats":
        key = "c_repeats_ge" if op == ">=" else "c_repeats_le"
    else:  # pragma: no cover - every field of the policy language is named above
        return f"{field} {op} {expected} ({actual})"
    return w(key, lang, expected=expected, actual=actual)


def _policy_lines(finding: dict[str, Any], lang: Lang, verbose: bool = False) -> list[Text]:
    lines = []
    for p in finding["policies"]:
        failed = [c for c in p["conditions"] if not c["ok"]]
        if p["applies"]:
            recs = ", ".join(f"{sanction_name(r['code'], lang)} → {target_name(r['target'], lang)}" for r in p["recommend"])
            line = Text("    ✓ ", style="green")
            line.append(p["id"], style="bold")
            line.append(f": {recs} — {p['reason'][lang]}")
            lines.append(line)
            continue
        # A policy about another rule, subject or period is noise; one that failed on a single
        # condition of severity, repeats, leadership or category shows where the decision
        # would change (for example the next step of escalation). Verbose shows every such one.
        near = all(c["field"] in ("severity", "repeats", "leader", "category") for c in failed)
        if failed and near and (verbose or len(failed) == 1):
            line = Text("    ✗ ", style="dim")
            line.append(p["id"], style="dim bold")
            line.append(": " + "; ".join(describe_condition(c, lang) for c in failed), style="dim")
            lines.append(line)
    return lines


_SEASONS = {"summer": "hè", "winter": "đông"}
_FEW_SUBJECTS = 5


def _observed(read: dict[str, Any], verbose: bool) -> str:
    """What a check read of the visit, compactly: each official's values, then each section's
    (the first few officials unless verbose)."""
    parts = []
    officials = list((read.get("personnel") or {}).items())
    shown = officials if verbose else officials[:_FEW_SUBJECTS]
    parts.extend(f"{oid} ({_values(values)})" for oid, values in shown)
    if len(shown) < len(officials):
        parts.append(f"… (+{len(officials) - len(shown)})")
    for place, values in read.items():
        if place != "personnel":
            parts.append(f"{place}: {_values(values) if isinstance(values, dict) else yaml_value(values)}")
    return "; ".join(parts)


def render_rich(data: dict[str, Any], lang: Lang, console: Console, *, verbose: bool = False) -> None:
    wt = dict(data["working_time"])
    if lang == "vi" and wt["season"]:
        wt["season"] = _SEASONS.get(wt["season"], wt["season"])
    if wt["in_working_hours"]:
        when = w("in_session", lang, start=wt["session"][0], end=wt["session"][1], season=wt["season"])
    else:
        sessions = ", ".join(f"{a}–{b}" for a, b in wt["sessions"])
        when = w("out_session", lang, season=wt["season"] or "—", sessions=sessions or "—")
    day_kind = w("working_day" if wt["working_day"] else "not_working_day", lang)
    header = Text.assemble(
        (f"{w('visit', lang)} {data['visit_id']}", "bold"),
        f"  {w('unit', lang)}: {data['unit']['id']} ({data['unit']['level']})\n",
        f"{w('local_time', lang)}: {data['local_time']} — {day_kind}, {when}\n",
        f"{w('rules_date', lang)}: {data['rules_date']}  ({data['ruleset']['name']} {data['ruleset']['version']})\n",
        (f"{w('grade', lang)}: {data['grade']['label'][lang]} ({data['grade']['points']} {w('points', lang)})", "bold"),
    )
    console.print(Panel(header, expand=True))
    read = {c["check"]: c["read"] for c in data.get("checks", ())}
    shown_checks: set[str] = set()
    for rule in data["rules"]:
        if rule["check"] not in shown_checks:
            shown_checks.add(rule["check"])
            observed = _observed(read.get(rule["check"]) or {}, verbose)
            if observed:
                console.print(Text(f"{w('reads', lang, check=rule['check'])}: {observed}", style="dim"))
        status = rule["status"]
        style = {"fired": "bold red", "not_fired": "green", "not_in_force": "dim"}[status]
        title = Text("● ", style=style)
        title.append(rule["rule"], style="bold")
        label = w(status, lang)
        if status == "fired":
            label += f" ({len(rule['findings'])})"
        title.append(f"  {label}", style=style)
        console.print(title)
        v = rule["version"]
        if v is None:
            versions = ", ".join(_dates(x["effective_from"], x["effective_to"]) for x in rule["versions"]) or "—"
            console.print(Text("  " + w("not_in_force_why", lang, day=data["rules_date"], versions=versions), style="dim"))
            continue
        thresholds = _values(v["thresholds"]) or w("no_thresholds", lang)
        console.print(
            f"  {w('version', lang)} {_dates(v['effective_from'], v['effective_to'])}; "
            f"{w('severity', lang)} {severity_name(v['severity'], lang)}; {w('thresholds', lang)}: {thresholds}",
            markup=False,
            highlight=False,
        )
        console.print(f"  {w('basis', lang)}: {_basis(v['legal_basis'])}", markup=False, highlight=False)
        if v.get("note"):
            console.print(f"  {w('note', lang)}: {v['note']}", markup=False, highlight=False)
        notes = rule.get("notes") or []
        for note in notes:
            console.print(Text(f"  → {note['subject_id']}: {note['message'][lang]}", style="green" if status == "not_fired" else "dim"))
        if status == "not_fired":
            if not notes:
                console.print(Text("  → " + w("not_fired_why", lang, check=rule["check"]), style="green"))
            if verbose and rule["evidence_keys"]:
                console.print(f"  {w('looks_at', lang)}: {', '.join(rule['evidence_keys'])}", markup=False)
            continue
        for f in rule["findings"]:
            subject = f["subject"]["id"]
            head = Text(f"  ▸ {w('finding', lang)}: ", style="bold")
            head.append(f"{target_name(f['subject']['type'], lang)} {subject}")
            head.append(f" — {severity_name(f['severity'], lang)}", style="red")
            if f["version_severity"] and f["version_severity"] != f["severity"]:
                head.append(" (" + w("severity_raised", lang, base=severity_name(f["version_severity"], lang)) + ")")
            console.print(head)
            console.print(f"    {w('evidence', lang)}: {_values(f['evidence'])}", markup=False, highlight=False)
            console.print(f"    {w('thresholds', lang)}: {thresholds}", markup=False, highlight=False)
            console.print(f"    {w('message', lang)}: {f['message'][lang]}", markup=False, highlight=False)
            months = data["lookback_months"]
            if f["repeat_of"]:
                prior = ", ".join(f"{p['visit_id']}" + (f" ({p['date']})" if p["date"] else "") for p in f["repeat_of"])
                console.print(Text("    " + w("repeat", lang, n=len(f["repeat_of"]), months=months, list=prior), style="yellow"))
            else:
                console.print(f"    {w('first', lang, months=months)}", markup=False)
            console.print(f"    {w('policies', lang)}:", markup=False)
            for line in _policy_lines(f, lang, verbose):
                console.print(line)
            recs = []
            for r in f["recommended"]:
                text = f"{sanction_name(r['code'], lang)} → {target_name(r['target'], lang)} {r['subject_id']} [{r['policy']}]"
                if r["replaces"]:
                    text += " — " + w("instead_of", lang, code=sanction_name(r["replaces"], lang))
                if r["fine"]:
                    text += f" — {fine_text(r['fine'])}"
                recs.append(text)
            console.print(f"    {w('recommended', lang)}: " + ("; ".join(recs) or w("none_recommended", lang)), markup=False, highlight=False)
    if data["sanctions"]:
        table = Table(title=w("visit_sanctions", lang), expand=True)
        for column in ("sanction", "target", "because", "fine"):
            table.add_column(word(column, lang), overflow="fold")
        for s in data["sanctions"]:
            name = sanction_name(s["code"], lang)
            if s["replaces"]:
                name += " (" + w("instead_of", lang, code=sanction_name(s["replaces"], lang)).split(" (")[0] + ")"
            because = ", ".join(s["because"])
            if s["escalated_by"]:
                because += f" — {w('escalated_by', lang)} {', '.join(s['escalated_by'])}"
            table.add_row(*plain(name, f"{target_name(s['target'], lang)} {s['subject_id']}", because, fine_text(s["fine"])))
        console.print(Group(table))


__all__ = ["describe_condition", "explain_visit", "render_rich"]
