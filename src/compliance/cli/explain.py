"""`compliance explain`: why each rule fired or not on a visit, and the sanction reasoning."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
import orjson

from ..authoring.explain import explain_visit, render_rich
from ..authoring.history import read_history
from ..errors import InputError, Lang, Problem
from ..io import read_path
from ..privacy import Redactor, redaction_key
from .common import (
    EXIT_BAD_INPUT,
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
@click.argument("visit_file", metavar="VISIT")
@click.option("--rule", "rules", multiple=True, metavar="ID", help="Only this rule: 'check.rule', a rule id or a check id (repeatable).")
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD", help="Use the rules in force on this date instead of the visit's own.")
@click.option(
    "--history",
    "history_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Earlier results (contract shape) or prior findings, JSONL/JSON/YAML, for escalation (repeatable).",
)
@click.option("--visit-id", default=None, help="When VISIT holds several visits, explain only this one.")
@rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also list the evidence each silent rule records.")
@redact_option
@lang_option
@handle_errors
def explain(
    visit_file: str,
    rules: tuple[str, ...],
    as_of: date | None,
    history_files: tuple[str, ...],
    visit_id: str | None,
    rules_dir: Path | None,
    fmt: str,
    verbose: bool,
    redact_names: bool,
    lang: Lang,
) -> None:
    """Explain a visit rule by rule: fired or not, the version, thresholds and legal basis in
    force, the evidence, and why each sanction is recommended (earlier findings included).

    Giải thích một lần kiểm tra theo từng quy tắc: có phát sinh hay không, phiên bản, ngưỡng,
    căn cứ pháp lý, bằng chứng và lý do của từng kiến nghị xử lý (kể cả do tái phạm).

    VISIT is a visit file (YAML, JSON or JSONL; '-' reads stdin). Exit codes: 0 explained;
    2 bad input or rules.
    """
    engine = load_engine(rules_dir)
    redactor = Redactor(redaction_key()) if redact_names else None
    known = set(engine.rule_keys) | {i.check.id for i in engine.checks} | {r for i in engine.checks for r in i.check.rules}
    unknown = [r for r in rules if r not in known]
    if unknown:
        from ..errors import hint_params

        raise InputError(
            [Problem("unknown_rule_ref", {"found": r, **hint_params(r, sorted(known))}) for r in unknown]
        )
    history = read_history(history_files, engine.utc_offset) if history_files else []
    explained = []
    problems: list[Problem] = []
    for record in read_path(visit_file):
        try:
            visit = engine.parse_record(record)
            if redactor is not None:
                visit = redactor.visit(visit)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if visit_id is not None and visit.visit_id != visit_id:
            continue
        explained.append(explain_visit(engine, visit, rules=rules or None, as_of=as_of, history=history))
    if visit_id is not None and not explained and not problems:
        raise InputError([Problem(
                    "invalid_value",
                    {"detail_en": f"no visit '{visit_id}' in {visit_file}", "detail_vi": f"không có lần kiểm tra '{visit_id}' trong {visit_file}"},
                    file=visit_file,
                )])
    if fmt == "json":
        payload = explained[0] if len(explained) == 1 else explained
        write_all(sys.stdout.buffer, orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
    else:
        console = output_console(soft_wrap=False)
        for data in explained:
            render_rich(data, lang, console, verbose=verbose)
    if problems:
        say_problems(problems, lang)
        sys.exit(EXIT_BAD_INPUT)


__all__ = ["explain"]
