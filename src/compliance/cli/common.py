"""What every subcommand shares: language, loading the engine, reporting errors without tracebacks."""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook, RenderResult
from rich.segment import Segment

from ..engine import Engine
from ..errors import ComplianceError, Lang, Problem, impossible_date, visible

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_ERRORS = 3
"""`batch --fail-on-errors`: the run finished, but refused records (errors.jsonl) or an input held no visit."""
EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE, what a shell reports for a command whose reader went away (`... | head`):
the command's own verdict was never reached, so it must not read as success."""


def shown(text: str) -> str:
    """Text for the terminal with its line breaks kept and everything else that does not print
    escaped as error messages quote it (`errors.visible`)."""
    return text if text.isprintable() else "\n".join(visible(part) for part in text.split("\n"))


class _Shown:
    """A renderable whose text reaches the terminal escaped (`errors.visible`, line by line):
    the last guard behind `render.plain`, for text a renderer printed without it."""

    def __init__(self, renderable: RenderableType):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(shown(segment.text), segment.style)


class _Escape(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Shown(r) for r in renderables]


class _Console(Console):
    """rich's console, except that a closed pipe reaches `handle_errors` (exit 141): rich's own
    handling exits 1, which reads as "a finding at or above --fail-on"; and that no control
    character of the data printed reaches the terminal (an escape sequence in an id would
    recolour, retitle or clear it)."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.push_render_hook(_Escape())

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def output_console(**options: Any) -> Console:
    """The console every subcommand prints tables with."""
    return _Console(**options)


def write_all(out: Any, data: bytes) -> None:
    """`data` to `out` in pieces, each checked: a write can come back short instead of
    raising (a pipe whose reader has gone, a disk that just filled up), and the command
    would exit 0 cut short. The rest is written again, so that the system says why."""
    view = memoryview(data)
    for start in range(0, len(view), 1 << 16):
        piece = view[start : start + (1 << 16)]
        while piece:
            written = out.write(piece)
            if written is None:
                break
            if written == 0:
                raise BrokenPipeError
            piece = piece[written:]


def default_lang() -> Lang:
    value = os.environ.get("COMPLIANCE_LANG", "").lower()
    return "vi" if value.startswith("vi") else "en"


lang_option = click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default=default_lang,
    show_default="en, or $COMPLIANCE_LANG",
    help="Language of messages and reports.",
)

rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="COMPLIANCE_RULES",
    help="Ruleset directory (default: the base ruleset shipped with the package).",
)


redact_option = click.option(
    "--redact-names",
    is_flag=True,
    help="Replace officials' names with stable pseudonyms (key: $COMPLIANCE_REDACT_KEY).",
)


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """click callback for a YYYY-MM-DD option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        why = impossible_date(value)
        said = f"{why['reason_en']} / {why['reason_vi']}" if why else "is not a date YYYY-MM-DD / không phải ngày YYYY-MM-DD"
        raise click.BadParameter(f"'{value}': {said}" if why else f"'{value}' {said}") from None


def say_problems(problems: Iterable[Problem], lang: Lang, title: tuple[str, str] = ("Lỗi", "Error")) -> None:
    """Each problem on stderr as one line: "Error: file:line:column: path: message"."""
    word = title[0] if lang == "vi" else title[1]
    for problem in problems:
        click.echo(f"{word}: {problem.render(lang)}", err=True)


def fail(error: ComplianceError, lang: Lang) -> None:
    """Report a user-facing error on stderr, one line per problem, and exit 2; never a traceback."""
    say_problems(error.problems, lang, (error.kind_vi, error.kind_en))
    sys.exit(EXIT_BAD_INPUT)


_REASONS_VI = {
    errno.ENOSPC: "hết chỗ trống trên đĩa",
    errno.EDQUOT: "vượt hạn mức dung lượng đĩa",
    errno.EROFS: "hệ thống tệp chỉ cho phép đọc",
    errno.EACCES: "không có quyền",
    errno.EPERM: "không được phép",
    errno.EIO: "lỗi vào/ra của thiết bị",
}


def os_reason(exc: OSError) -> dict[str, str]:
    """The system's reason as `detail` params: its own words, and in Vietnamese where known."""
    reason = exc.strerror or str(exc)
    vi = _REASONS_VI.get(exc.errno or 0)
    return {"detail_en": reason, "detail_vi": f"{vi} ({reason})" if vi else reason}


def os_problem(exc: OSError) -> Problem:
    """An operating-system error said in one line: the file it names, or else the output
    (writing standard output is what raises without a file name: a full disk, an I/O error)."""
    if exc.filename is not None:
        return Problem("file_unreadable", os_reason(exc), file=str(exc.filename))
    return Problem("output_unwritable", {"target_vi": "kết quả ra đầu ra chuẩn (stdout)",
                                         "target_en": "the output to standard output", **os_reason(exc)})


def _silence_stdout() -> None:
    """Python's advice: point stdout at devnull so the flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def handle_errors(func: F) -> F:
    """Turn ComplianceError, and an output that cannot be written, into a bilingual message
    and exit code 2; a reader that went away into 141."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        lang = kwargs.get("lang") or default_lang()
        try:
            return func(*args, **kwargs)
        except ComplianceError as exc:
            fail(exc, lang)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(EXIT_PIPE_CLOSED)
        except OSError as exc:
            _silence_stdout()
            fail(ComplianceError([os_problem(exc)]), lang)

    return wrapper  # type: ignore[return-value]


def require_extra(module: str, extra: str, feature_vi: str, feature_en: str) -> None:
    """Stop before any work when an optional dependency is missing, naming the extra that
    installs it; found after the run started, it would leave a half-made run behind."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise ComplianceError([Problem("needs_extra", {"module": module, "extra": extra,
                                                       "feature_vi": feature_vi, "feature_en": feature_en})]) from None


def load_engine(rules_dir: Path | None) -> Engine:
    return Engine.load(rules_dir)
