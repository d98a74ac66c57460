"""The figures of a summary as tables, shared by the Markdown, HTML and workbook reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Lang
from ..render import sanction_name
from .data import (
    GRADE_NAMES,
    GRADES,
    LEVELS,
    SEVERITIES,
    SEVERITY_NAMES,
    UNKNOWN_PROVINCES,
    by_count,
    level_name,
    name,
    ordered,
    province_name,
    rule_name,
    rule_names,
    word,
)
from .narrative import day_text, month_text

Cell = str | int | None


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _block_findings(block: Mapping[str, Any]) -> int:
    return sum(_int(v) for v in (block.get("findings_by_rule") or {}).values())


def tables(summary: Mapping[str, Any], lang: Lang) -> list[Table]:
    out: list[Table] = []
    units = summary.get("units_by_level") or {}
    period = summary.get("period") or {}
    ruleset = summary.get("ruleset") or {}
    span = " – ".join(t for t in (day_text(period.get("from"), lang), day_text(period.get("to"), lang)) if t)
    overview: list[list[Cell]] = [
        [word("visits", lang), _int(summary.get("visits"))],
        [word("units", lang), sum(_int(v) for v in units.values())],
        [word("findings", lang), _int(summary.get("findings"))],
        [word("errors", lang), _int(summary.get("errors"))],
        [word("period", lang), span],
        [word("plans", lang), ", ".join(str(p) for p in summary.get("plan_refs") or [])],
    ]
    if ruleset:
        overview.append(
            [word("ruleset", lang), " ".join(str(ruleset[k]) for k in ("name", "version", "digest") if ruleset.get(k))]
        )
    out.append(Table("overview", word("overview", lang), [word("metric", lang), word("value", lang)], overview))

    subjects = summary.get("subjects_by_rule") or {}
    findings = summary.get("findings_by_rule") or {}
    rules = sorted(set(subjects) | set(findings), key=lambda r: (-_int(findings.get(r)), r))
    names = rule_names(summary)
    out.append(
        Table(
            "by_rule",
            word("by_rule", lang),
            [word("rule", lang), word("rule_id", lang), word("subjects", lang), word("findings", lang)],
            [[rule_name(r, lang, names), r, _int(subjects.get(r)), _int(findings.get(r))] for r in rules],
        )
    )

    by_level = summary.get("by_level") or {}
    levels = [k for k, _ in ordered({k: 0 for k in set(by_level) | set(units)}, LEVELS)]
    out.append(
        Table(
            "by_level",
            word("by_level", lang),
            [word("level", lang), word("visits", lang), word("units", lang), word("findings", lang)],
            [
                [
                    level_name(k, lang),
                    _int((by_level.get(k) or {}).get("visits")),
                    _int((by_level.get(k) or {}).get("units", units.get(k))),
                    _block_findings(by_level.get(k) or {}),
                ]
                for k in levels
            ],
        )
    )

    severity = summary.get("findings_by_severity") or {}
    out.append(
        Table(
            "by_severity",
            word("by_severity", lang),
            [word("severity", lang), word("findings", lang)],
            [[name(SEVERITY_NAMES, k, lang), _int(v)] for k, v in ordered(severity, SEVERITIES)],
        )
    )

    grades = summary.get("grades") or {}
    out.append(
        Table(
            "grades",
            word("grades", lang),
            [word("grade", lang), word("visits", lang)],
            [[name(GRADE_NAMES, k, lang), _int(v)] for k, v in ordered(grades, GRADES)],
        )
    )

    by_month = summary.get("by_month") or {}
    out.append(
        Table(
            "by_month",
            word("by_month", lang),
            [word("month", lang), word("visits", lang), word("findings", lang)],
            [[month_text(m, lang), _int(b.get("visits")), _block_findings(b)] for m, b in sorted(by_month.items())],
        )
    )

    by_province = summary.get("by_province") or {}
    if len(by_province) > 1:
        out.append(
            Table(
                "by_province",
                word("by_province", lang),
                [word("province", lang), word("visits", lang), word("units", lang), word("findings", lang)],
                [
                    [province_name(p, lang), _int(b.get("visits")), _int(b.get("units")), _block_findings(b)]
                    for p, b in sorted(by_province.items(), key=lambda kv: (kv[0] in UNKNOWN_PROVINCES, kv[0]))
                ],
            )
        )

    sanctions = summary.get("sanctions_by_code") or {}
    out.append(
        Table(
            "sanctions",
            word("sanctions", lang),
            [word("sanction", lang), word("code", lang), word("count", lang)],
            [[sanction_name(c, lang), c, _int(n)] for c, n in by_count({k: _int(v) for k, v in sanctions.items()})],
        )
    )

    top = summary.get("top_units") or []
    out.append(
        Table(
            "top_units",
            word("top_units", lang),
            [word("unit", lang), word("unit_id", lang), word("level", lang), word("visits", lang),
             word("findings", lang), word("worst", lang)],
            [
                [
                    u.get("unit_name") or u.get("unit_id"),
                    u.get("unit_id"),
                    level_name(str(u.get("unit_level")), lang),
                    _int(u.get("visits")),
                    _int(u.get("findings")),
                    name(SEVERITY_NAMES, str(u.get("worst_severity")), lang) if u.get("worst_severity") else "—",
                ]
                for u in top
                if isinstance(u, Mapping)
            ],
        )
    )
    return out
