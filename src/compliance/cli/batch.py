"""`compliance batch`: evaluate years of visits, streaming, in parallel, resumable."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..batch import runner
from ..errors import Lang, Problem
from ..io import detect_format
from .common import (
    EXIT_BAD_INPUT,
    EXIT_ERRORS,
    EXIT_OK,
    fail,
    handle_errors,
    lang_option,
    os_reason,
    redact_option,
    require_extra,
    rules_option,
)

_PHASES = {
    "read": {"vi": "Đọc và phân vùng", "en": "Reading"},
    "evaluate": {"vi": "Đánh giá", "en": "Evaluating"},
    "duplicates": {"vi": "Đánh giá lại đơn vị có mã lượt kiểm tra trùng", "en": "Re-evaluating units with duplicate visit ids"},
    "merge": {"vi": "Ghép kết quả", "en": "Merging"},
}


def _progress(console: Console, lang: Lang) -> tuple[Progress, runner.Progress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[errors]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    state: dict[str, object] = {"task": None, "done": 0}
    words = {"vi": ("bản ghi/giây", "lỗi"), "en": ("records/s", "errors")}[lang]

    def phase(name: str, total: int | None) -> None:
        task = state["task"]
        if task is not None:
            bar.update(task, completed=bar.tasks[-1].total or bar.tasks[-1].completed)  # type: ignore[arg-type]
        state["task"] = bar.add_task(_PHASES[name][lang], total=total, rate="", errors="")

    def advance(done: int, errors: int) -> None:
        task = state["task"]
        if task is None:
            return
        current = bar.tasks[-1]
        speed = current.speed or 0
        bar.update(task, completed=done, rate=f"{speed:,.0f} {words[0]}", errors=f"{errors} {words[1]}")  # type: ignore[arg-type]

    return bar, runner.Progress(phase=phase, advance=advance)


def _os_problem(exc: OSError, inputs: tuple[str, ...], out_dir: Path) -> Problem:
    reason = os_reason(exc)
    name = str(exc.filename) if exc.filename is not None else str(out_dir)
    if name in inputs:
        return Problem("file_unreadable", reason, file=name)
    return Problem(
        "output_unwritable",
        {"target_vi": f"vào thư mục kết quả {out_dir}", "target_en": f"to the output directory {out_dir}",
         "detail_vi": f"{name}: {reason['detail_vi']}", "detail_en": f"{name}: {reason['detail_en']}"},
    )


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output directory.")
@rules_option
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
@click.option("--resume", is_flag=True, help="Finish an interrupted run in the same --out directory.")
@click.option("--overwrite", is_flag=True, help="Replace a finished or unfinished run in --out.")
@click.option("--parquet", is_flag=True, help="Also write findings.parquet (one row per finding).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default=None, help="Where partitions run: local (default) or dask.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://HOST:8786 (implies --engine dask; default: a local cluster).")
@click.option("--partitions", type=click.IntRange(min=1, max=runner.MAX_PARTITIONS), default=None, hidden=True)
@click.option("--fail-on-errors", is_flag=True, help="Exit 3 when any record was refused (listed in errors.jsonl) or an input held no visit.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@redact_option
@lang_option
@handle_errors
def batch(
    inputs: tuple[str, ...],
    out_dir: Path,
    rules_dir: Path | None,
    workers: int | None,
    resume: bool,
    overwrite: bool,
    parquet: bool,
    engine: str | None,
    scheduler: str | None,
    partitions: int | None,
    fail_on_errors: bool,
    quiet: bool,
    redact_names: bool,
    lang: Lang,
) -> None:
    """Evaluate visits in INPUT files (JSONL, .jsonl.gz, JSON arrays, multi-document YAML,
    Parquet) into DIR: results.jsonl, errors.jsonl, summary.json, manifest.json.

    Every input record ends up in exactly one of results.jsonl or errors.jsonl. Exit codes:
    0 the run finished (refused records are in errors.jsonl); 2 the run could not proceed;
    3 with --fail-on-errors, the run finished but refused records or an input held no visit.
    """
    if scheduler is not None and engine == "local":
        # Said rather than ignored: the user meant one of the two and we cannot tell which.
        raise click.UsageError("--scheduler needs --engine dask (it names a Dask scheduler) / --scheduler cần --engine dask")
    engine = "dask" if scheduler is not None else engine or "local"
    if parquet:
        require_extra("pyarrow", "batch", "--parquet", "--parquet")
    if any(detect_format(name) == "parquet" for name in inputs):
        require_extra("pyarrow", "batch", "Đọc tệp Parquet", "Reading Parquet")
    if engine == "dask":
        require_extra("dask.distributed", "batch", "--engine dask", "--engine dask")
    options = runner.Options(
        workers=workers or 0,
        resume=resume,
        overwrite=overwrite,
        parquet=parquet,
        redact_names=redact_names,
        engine=engine,
        scheduler=scheduler,
        rules_dir=str(rules_dir) if rules_dir else None,
        partitions=partitions,
    )
    console = Console(stderr=True)
    show = console.is_terminal and not quiet
    try:
        if show:
            bar, hooks = _progress(console, lang)
            with bar:
                outcome = runner.run(list(inputs), out_dir, options, hooks)
        else:
            outcome = runner.run(list(inputs), out_dir, options)
    except OSError as exc:
        # An output directory that cannot be created or written, a full disk, an unreadable
        # input: said in one line, exit 2, never a traceback.
        fail(runner.BatchError([_os_problem(exc, inputs, out_dir)]), lang)
    except KeyboardInterrupt:
        click.echo(
            {"vi": f"Đã dừng. Chạy lại với --resume --out {out_dir} để hoàn tất.",
             "en": f"Interrupted. Run again with --resume --out {out_dir} to finish."}[lang],
            err=True,
        )
        sys.exit(130)
    tally = {
        "vi": f"{outcome.records} bản ghi: {outcome.results} kết quả, {outcome.errors} lỗi; {outcome.partitions} phân vùng; {outcome.seconds:.1f} giây → {out_dir}",
        "en": f"{outcome.records} records: {outcome.results} results, {outcome.errors} errors; {outcome.partitions} partitions; {outcome.seconds:.1f}s → {out_dir}",
    }[lang]
    click.echo(tally)
    for name in outcome.empty_inputs:
        click.echo(f"{_WARNING[lang]}: {Problem('empty_input', file=name).render(lang)}", err=True)
    if not outcome.complete:
        sys.exit(EXIT_BAD_INPUT)
    refused = outcome.errors > 0 or bool(outcome.empty_inputs)
    sys.exit(EXIT_ERRORS if fail_on_errors and refused else EXIT_OK)


_WARNING = {"vi": "Cảnh báo", "en": "Warning"}
