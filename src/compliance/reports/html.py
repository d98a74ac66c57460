"""The campaign report as one self-contained HTML file: narrative, charts and tables.

Charts are drawn by plotly (the ``batch`` extra) with plotly.js inlined once, so the file
opens offline: it loads nothing from the network, no font, no script, no style sheet.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from typing import Any

from ..errors import ComplianceError, Lang, Problem, visible
from .data import LEVELS, ReportDir, level_name, ordered, rule_name, rule_names, word
from .narrative import Narrative, month_text, narrative
from .tables import Cell, Table, tables

CHART_IDS = ("chart-by-rule", "chart-by-level", "chart-by-month", "chart-top-units")

_CSS = """
:root { --ink: #1d2733; --muted: #5b6877; --line: #d8dee6; --accent: #a3262a; --bg: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f5f8; color: var(--ink);
       font: 16px/1.55 "Noto Sans", "DejaVu Sans", "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 32px 24px 48px; background: var(--bg); }
header { border-bottom: 3px solid var(--accent); margin-bottom: 24px; }
h1 { font-size: 1.55rem; line-height: 1.3; margin: 0 0 12px; }
h2 { font-size: 1.2rem; margin: 32px 0 12px; color: var(--accent); }
h3 { font-size: 1rem; margin: 24px 0 8px; }
p { margin: 0 0 12px; text-align: justify; }
.meta { color: var(--muted); font-size: .9rem; margin: 0 0 12px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 16px; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-height: 420px; }
table { border-collapse: collapse; width: 100%; margin: 0 0 16px; font-size: .92rem; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: .85rem; margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print { body { background: #fff; } main { padding: 0; } .chart { break-inside: avoid; } }
"""

_COLORS = {"findings": "#a3262a", "visits": "#3b6ea5"}


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - depends on the environment
        raise ComplianceError(
            [
                Problem(
                    "report_needs_plotly",
                    {
                        "detail_vi": "báo cáo HTML cần plotly: pip install 'compliance[batch]'",
                        "detail_en": "the HTML report needs plotly: pip install 'compliance[batch]'",
                    },
                )
            ]
        ) from None
    return go


def _h(text: str) -> str:
    """Text, ours or from the data, for HTML: what does not print escaped as on the terminal
    (`errors.visible`: a control character is not allowed in HTML, and the report may be
    printed to a terminal), then HTML-escaped, quotes included."""
    return html.escape(visible(text))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _label(text: str, width: int = 0) -> str:
    """Chart text from data: HTML-escaped (plotly reads a few tags in labels), optionally
    wrapped onto lines of about `width` characters."""
    safe = html.escape(visible(text), quote=False)
    if not width or len(safe) <= width:
        return safe
    return "<br>".join(textwrap.wrap(safe, width)) or safe


def _findings(block: Mapping[str, Any]) -> int:
    return sum(_int(v) for v in (block.get("findings_by_rule") or {}).values())


def figures(summary: Mapping[str, Any], lang: Lang) -> list[tuple[str, Any]]:
    """The four charts: findings by rule, by unit level, by month, and the top units."""
    go = _plotly()
    layout = {
        "template": "plotly_white",
        "height": 420,
        "margin": {"l": 20, "r": 20, "t": 56, "b": 40},
        "font": {"family": "Noto Sans, DejaVu Sans, Arial, sans-serif", "size": 13},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    }
    out: list[tuple[str, Any]] = []

    findings = summary.get("findings_by_rule") or {}
    rules = sorted(findings, key=lambda r: (_int(findings[r]), r))
    names = rule_names(summary)
    fig = go.Figure(
        go.Bar(
            x=[_int(findings[r]) for r in rules],
            y=[_label(rule_name(r, lang, names)) for r in rules],
            orientation="h",
            marker_color=_COLORS["findings"],
            name=word("findings", lang),
            hovertemplate="%{y}: %{x}<extra></extra>",
            text=[_int(findings[r]) for r in rules],
            textposition="outside",
        )
    )
    fig.update_layout(**layout, title=word("by_rule", lang))
    fig.update_layout(height=max(420, 30 * len(rules) + 120))
    fig.update_yaxes(automargin=True)
    out.append((CHART_IDS[0], fig))

    by_level = summary.get("by_level") or {}
    levels = [k for k, _ in ordered({k: 0 for k in by_level}, LEVELS)]
    level_labels = [_label(level_name(k, lang), 18) for k in levels]
    fig = go.Figure(
        [
            go.Bar(x=level_labels, y=[_int(by_level[k].get("visits")) for k in levels], name=word("visits", lang),
                   marker_color=_COLORS["visits"]),
            go.Bar(x=level_labels, y=[_findings(by_level[k]) for k in levels], name=word("findings", lang),
                   marker_color=_COLORS["findings"]),
        ]
    )
    fig.update_layout(**layout, title=word("by_level", lang), barmode="group")
    fig.update_xaxes(automargin=True)
    out.append((CHART_IDS[1], fig))

    by_month = summary.get("by_month") or {}
    months = sorted(by_month)
    labels = [month_text(m, lang) for m in months]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=[_int(by_month[m].get("visits")) for m in months], name=word("visits", lang),
                   marker_color=_COLORS["visits"]),
            go.Bar(x=labels, y=[_findings(by_month[m]) for m in months], name=word("findings", lang),
                   marker_color=_COLORS["findings"]),
        ]
    )
    fig.update_layout(**layout, title=word("by_month", lang), barmode="group")
    fig.update_xaxes(type="category")
    out.append((CHART_IDS[2], fig))

    top = [u for u in summary.get("top_units") or [] if isinstance(u, Mapping)]
    top = list(reversed(top))
    fig = go.Figure(
        go.Bar(
            x=[_int(u.get("findings")) for u in top],
            y=[_label(str(u.get("unit_name") or u.get("unit_id"))) for u in top],
            orientation="h",
            marker_color=_COLORS["findings"],
            name=word("findings", lang),
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    fig.update_layout(**layout, title=word("top_units", lang))
    fig.update_layout(height=max(420, 26 * len(top) + 120))
    fig.update_yaxes(automargin=True)
    out.append((CHART_IDS[3], fig))
    return out


def _cell(value: Cell) -> str:
    if value is None:
        return "<td>—</td>"
    if isinstance(value, int):
        return f'<td class="num">{value}</td>'
    return f"<td>{_h(str(value))}</td>"


def table_html(table: Table) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    return (
        f'<section id="table-{_h(table.key)}"><h3>{_h(table.title)}</h3>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def html_text(story: Narrative, summary: Mapping[str, Any], lang: Lang) -> str:
    charts = []
    config = {"displaylogo": False, "displayModeBar": False, "responsive": True}
    for index, (div_id, fig) in enumerate(figures(summary, lang)):
        snippet = fig.to_html(
            full_html=False,
            include_plotlyjs=index == 0,  # inlined once, before the first chart
            include_mathjax=False,
            div_id=div_id,
            config=config,
            default_width="100%",
        )
        charts.append(f'<div class="chart">{snippet}</div>')
    paragraphs = "\n".join(
        f'<p data-part="{_h(key)}">{_h(text)}</p>' for key, text in story.paragraphs
    )
    figures_html = "\n".join(table_html(t) for t in tables(summary, lang))
    ruleset = summary.get("ruleset") or {}
    ruleset_text = " ".join(str(ruleset[k]) for k in ("name", "version", "digest") if ruleset.get(k))
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<title>{_h(story.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header><h1>{_h(story.title)}</h1></header>
<section id="narrative">
{paragraphs}
</section>
<h2>{_h(word("charts", lang))}</h2>
<section class="charts" id="charts">
{"".join(charts)}
</section>
<h2>{_h(word("annex", lang))}</h2>
{figures_html}
<footer>{_h(word("generated", lang))}{" — " + _h(word("ruleset", lang)) + ": " + _h(ruleset_text) if ruleset_text else ""}</footer>
</main>
</body>
</html>
"""


def html_report(report: ReportDir, lang: Lang = "vi") -> str:
    story = narrative(report.summary, lang, evidence=report.varied_evidence())
    return html_text(story, report.summary, lang)
