"""`compliance evaluate` and `compliance checks`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from typing import Any

import click
import orjson
from rich.text import Text

from .. import render
from ..common import Severity
from ..errors import ComplianceError, InputError, Lang, Problem
from ..io import read_path
from ..privacy import Redactor, redaction_key
from ..result import Result
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    handle_errors,
    lang_option,
    load_engine,
    output_console,
    parse_date,
    redact_option,
    rules_option,
    say_problems,
    write_all,
)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@rules_option
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD", help="Pick rules in force on this date instead of each visit's own.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "markdown"]),
    default="table",
    show_default=True,
    help="Output format. json is an array of results in the exchange contract's shape.",
)
@lang_option
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=None,
    help="Exit 1 when any finding is at or above this severity.",
)
@redact_option
@handle_errors
def evaluate(
    paths: tuple[str, ...],
    rules_dir: Path | None,
    as_of: date | None,
    fmt: str,
    lang: Lang,
    fail_on: str | None,
    redact_names: bool,
) -> None:
    """Evaluate visit documents (YAML, JSON or JSONL files; '-' reads stdin).

    Exit codes: 0 evaluated; 1 a finding at or above --fail-on; 2 bad input or rules.
    """
    engine = load_engine(rules_dir)
    redactor = Redactor(redaction_key()) if redact_names else None
    threshold = Severity(fail_on).rank if fail_on is not None else None
    # JSONL goes out a result at a time, as `batch` writes it: memory does not grow with the
    # input. A table, a JSON array and Markdown are one document and keep the results.
    out = sys.stdout.buffer
    streamed = fmt == "jsonl"
    results: list[Result] = []
    problems: list[Problem] = []
    failing = False
    for path in paths:
        try:
            for record in read_path(path):
                try:
                    visit = engine.parse_record(record)
                except InputError as exc:
                    problems.extend(exc.problems)
                    continue
                if redactor is not None:
                    visit = redactor.visit(visit)
                result = engine.evaluate(visit, as_of=as_of)
                if threshold is not None and not failing:
                    failing = any(Severity(f.severity).rank >= threshold for f in result.findings)
                if streamed:
                    write_all(out, result.to_json() + b"\n")
                else:
                    results.append(result)
        except InputError as exc:
            problems.extend(exc.problems)
    if not streamed:
        _emit(results, fmt, lang)
    out.flush()
    if problems:
        say_problems(problems, lang)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_FINDINGS if failing else EXIT_OK)


def _emit(results: list[Result], fmt: str, lang: Lang) -> None:
    out = sys.stdout.buffer
    if fmt == "json":
        write_all(out, orjson.dumps(list(results), option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "markdown":
        write_all(out, render.markdown(results, lang).encode("utf-8") + b"\n")
    elif results:
        render.table(results, lang, output_console(soft_wrap=False))


@click.command()
@rules_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@lang_option
@handle_errors
def checks(rules_dir: Path | None, fmt: str, lang: Lang) -> None:
    """List installed checks, their rule ids and where each came from."""
    engine = load_engine(rules_dir)
    rows: list[dict[str, Any]] = []
    for info in engine.checks:
        check = info.check
        for rule_id, rule in check.rules.items():
            versions = engine.catalogue.rule_versions.get(check.id, {}).get(rule_id, ())
            rows.append(
                {
                    "check": check.id,
                    "rule": rule_id,
                    "subject": rule.subject,
                    "summary": rule.summary,
                    "versions": [
                        {
                            "effective_from": v.effective_from.isoformat(),
                            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                            "severity": v.severity.value,
                        }
                        for v in versions
                    ],
                    "plugin": info.plugin,
                    "source": info.source,
                }
            )
    if fmt == "json":
        write_all(sys.stdout.buffer, orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        return
    title = {"vi": "Các nội dung kiểm tra đã cài đặt", "en": "Installed checks"}[lang]
    headers = {"vi": ("Quy tắc", "Đối tượng", "Phiên bản", "Nguồn"), "en": ("Rule", "Subject", "Versions", "Source")}[lang]
    columns = [render.Column(h, "label" if h == headers[-1] else "id") for h in headers]
    table: list[list[str | Text]] = [
        [
            f"{row['check']}.{row['rule']}",
            render.target_name(row["subject"], lang),
            render.lines(f"{v['effective_from']} → {v['effective_to'] or '…'}" for v in row["versions"]),
            row["source"],
        ]
        for row in rows
    ]
    output_console().print(render.Records(f"{title} — {engine.catalogue.name} {engine.catalogue.version}", columns, table))


__all__ = ["checks", "evaluate", "ComplianceError"]
