"""`compliance rules ...`: the commands policy staff use to write and check rules."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
import orjson

from ..authoring import schema as schema_mod
from ..authoring.ruletest import render_text, run_rule_tests
from ..authoring.validate import validate_rules
from ..authoring.words import say
from ..errors import Lang
from ..plugins import installed_checks
from ..ruleset.loader import default_rules_dir
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    handle_errors,
    lang_option,
    load_engine,
    output_console,
    parse_date,
    say_problems,
    shown,
    write_all,
)

EXIT_INVALID = 1

_dir_argument = click.argument(
    "directory", required=False, type=click.Path(path_type=Path, file_okay=False), metavar="[DIR]"
)


def _rules_dir(directory: Path | None) -> Path:
    """DIR, else $COMPLIANCE_RULES, else the base ruleset."""
    return directory if directory is not None else default_rules_dir()


@click.group()
def rules() -> None:
    """Write and check rules: validate, schema, test, diff.

    Soạn và kiểm tra quy tắc: validate (kiểm tra lỗi), schema (lược đồ cho trình soạn thảo),
    test (chạy các ví dụ), diff (so sánh hai bộ quy tắc và tác động).
    """


@rules.command()
@_dir_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-cases", is_flag=True, help="Do not check the case files in DIR/cases.")
@lang_option
@handle_errors
def validate(directory: Path | None, fmt: str, no_cases: bool, lang: Lang) -> None:
    """Report every error of a ruleset directory at once, each with file:line:column.

    Báo mọi lỗi của thư mục quy tắc trong một lần, kèm tệp:dòng:cột, đường dẫn YAML,
    giá trị tìm thấy, giá trị cần có và gợi ý "ý bạn là".

    Exit codes: 0 valid; 1 invalid.
    """
    root = _rules_dir(directory)
    report = validate_rules(root, cases=not no_cases)
    summary = report.summary()
    if fmt == "json":
        payload = {**summary, "problems": [p.to_dict() for p in report.problems]}
        write_all(sys.stdout.buffer, orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for problem in report.problems:
            click.echo(problem.render(lang))
        if report.valid:
            click.secho(say("valid", lang, dir=root, **{k: summary[k] for k in ("name", "version", "checks", "rules", "versions", "case_files")}), fg="green")
        else:
            # Case files only test the rules: commands still evaluate with rules that load.
            said = "invalid_cases" if summary["only_case_files"] else "invalid"
            click.secho(say(said, lang, count=summary["errors"], files=summary["files_with_errors"]), fg="red")
    sys.exit(EXIT_OK if report.valid else EXIT_INVALID)


@rules.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write every schema here (default: the schema/ folder of the ruleset directory, and a plugin's own beside its rules file).",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="COMPLIANCE_RULES",
    help="Ruleset directory whose checks get a schema (default: the base ruleset).",
)
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if a schema is missing or stale.")
@lang_option
@handle_errors
def schema(out_dir: Path | None, rules_dir: Path | None, check_only: bool, lang: Lang) -> None:
    """Write the JSON Schemas of the rule files (for editors), generated from the models.

    Ghi lược đồ JSON của các tệp quy tắc (để trình soạn thảo gợi ý khóa, mô tả song ngữ và báo
    lỗi khi gõ). Each rule file names its schema on its first line:
    '# yaml-language-server: $schema=schema/<name>.schema.json'. A plugin check whose rules come
    from its own file gets its schema beside that file (<plugin rules dir>/schema/), unless
    --out puts every schema in one place.
    """
    root = _rules_dir(rules_dir)
    target = out_dir if out_dir is not None else root / schema_mod.SCHEMA_DIR
    files = schema_mod.schema_files(installed_checks(), root, out_dir)
    if check_only:
        stale = schema_mod.stale_files(files)
        if stale:
            click.secho(say("schema_stale", lang, names=", ".join(str(path) for path in stale)), fg="red")
            sys.exit(EXIT_INVALID)
        click.secho(say("schema_current", lang, dir=target), fg="green")
        return
    written = schema_mod.write_files(files)
    click.echo(say("schema_written", lang, count=len(written), dir=target))
    for path in written:
        click.echo(f"  {path}")


@rules.command("test")
@_dir_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also list the cases that pass.")
@click.option("--require-coverage", is_flag=True, help="Exit 1 also when some rule or version has no case.")
@lang_option
@handle_errors
def test_cmd(directory: Path | None, fmt: str, verbose: bool, require_coverage: bool, lang: Lang) -> None:
    """Run the example cases in DIR/cases and show rule coverage.

    Chạy các ví dụ trong DIR/cases, hiện chênh lệch giữa phát hiện mong đợi và thực tế,
    và cho biết quy tắc, phiên bản nào chưa có ví dụ.

    Exit codes: 0 every case passes; 1 a case fails (or a case file is broken); 2 invalid rules.
    """
    engine = load_engine(_rules_dir(directory))
    report = run_rule_tests(engine)
    if fmt == "json":
        write_all(sys.stdout.buffer, orjson.dumps(report.to_dict(lang), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for line, colour in render_text(report, lang, verbose=verbose):
            if colour == "bold":
                click.secho(shown(line), bold=True)
            else:
                click.secho(shown(line), fg=colour)
    failed = not report.passed or (require_coverage and report.coverage is not None and not report.coverage.complete)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


@rules.command()
@click.argument("old_dir", type=click.Path(path_type=Path, file_okay=False), metavar="OLD_DIR")
@click.argument("new_dir", type=click.Path(path_type=Path, file_okay=False), metavar="NEW_DIR")
@click.option(
    "--visits",
    "visit_files",
    multiple=True,
    metavar="FILE",
    help="Past visits (JSONL, JSON or YAML; repeatable) to replay through both rulesets.",
)
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD", help="Replay every visit under the rules in force on this date (e.g. the new version's first day).")
@click.option("--no-history", is_flag=True, help="Do not feed each subject's earlier findings of the replay as history.")
@click.option("--strict-share", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="Warn about rules firing on more than this share of visits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@lang_option
@handle_errors
def diff(
    old_dir: Path,
    new_dir: Path,
    visit_files: tuple[str, ...],
    as_of: date | None,
    no_history: bool,
    strict_share: float,
    fmt: str,
    lang: Lang,
) -> None:
    """Compare two rulesets and, given past visits, their impact on findings, sanctions and grades.

    So sánh hai bộ quy tắc (thêm, bỏ, đổi ngưỡng, mức độ, nội dung, căn cứ) và, khi có các lần
    kiểm tra trước đây, tác động lên phát hiện, kiến nghị xử lý và xếp loại theo quy tắc, cấp
    đơn vị, năm.

    Exit codes: 0 compared (warnings do not fail); 2 bad input or rules.
    """
    from ..authoring.diff import diff_rulesets
    from ..authoring.diff_render import render_markdown, render_rich
    from ..errors import InputError, Problem
    from ..io import read_path

    old = load_engine(old_dir)
    new = load_engine(new_dir)
    visits = None
    problems: list[Problem] = []
    if visit_files:
        visits = []
        for path in visit_files:
            try:
                for record in read_path(path):
                    try:
                        visits.append(record.parse(old.visit_format, old.parse_context))
                    except InputError as exc:
                        problems.extend(exc.problems)
            except InputError as exc:
                problems.extend(exc.problems)
    report = diff_rulesets(old, new, visits, as_of=as_of, history=not no_history, strict_share=strict_share)
    data = report.to_dict()
    if fmt == "json":
        write_all(sys.stdout.buffer, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
    elif fmt == "markdown":
        write_all(sys.stdout.buffer, (render_markdown(data, lang) + "\n").encode("utf-8"))
    else:
        render_rich(data, lang, output_console(soft_wrap=False))
    if problems:
        say_problems(problems, lang)
        sys.exit(EXIT_BAD_INPUT)


__all__ = ["rules"]


@rules.command()
@_dir_argument
@click.option("--province", default=None, metavar="NAME", help="The province whose rules to show (omitted: the catalogue's home province).")
@click.option("--date", "day", callback=parse_date, metavar="YYYY-MM-DD", help="The date whose rules to show (default: today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option
@handle_errors
def show(directory: Path | None, province: str | None, day: date | None, fmt: str, lang: Lang) -> None:
    """Print the rules in force for a province on a date, the national base and the province's
    overlay merged as evaluation merges them, each value with the file and line it came from,
    and every place the province departs from the base, with its reason.

    In các quy tắc có hiệu lực đối với một tỉnh vào một ngày (bộ cơ sở quốc gia và bộ quy tắc của
    tỉnh đã ghép), mỗi giá trị kèm tệp và dòng nguồn, và mọi chỗ tỉnh quy định khác bộ cơ sở.
    """
    from ..authoring.show import effective
    from ..authoring.show import render_text as render_show
    from ..ruleset.catalogue import load_catalogue

    root = _rules_dir(directory)
    catalogue = load_catalogue(root, [info.check for info in installed_checks()])
    data = effective(catalogue, province, day or date.today(), root=root)
    if fmt == "json":
        write_all(sys.stdout.buffer, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_all(sys.stdout.buffer, (shown(render_show(data, lang)) + "\n").encode("utf-8"))
