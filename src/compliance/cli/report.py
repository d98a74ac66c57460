"""`compliance report`: the campaign report of a batch output directory."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import ComplianceError, Lang, Problem
from ..privacy import Redactor, redaction_key
from ..reports import ReportDir, html_report, markdown_report, write_xlsx
from .common import EXIT_BAD_INPUT, handle_errors, os_reason, redact_option, write_all


def _write_text(text: str, output: Path | None) -> None:
    data = text.encode("utf-8")
    if output is None:
        write_all(sys.stdout.buffer, data)
        sys.stdout.buffer.flush()
        return
    _atomic(output, lambda tmp: Path(tmp).write_bytes(data))


def _atomic(output: Path, write: Callable[[str], object], suffix: str = "") -> None:
    """Write through a temporary file beside `output`, renamed over it when complete, so that a
    failed run leaves no half-written report. A path that cannot be written (read-only
    filesystem, a file where a directory should be, a full disk) is a user error, not a crash."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=suffix, dir=output.parent)
    except OSError as exc:
        raise _unwritable(exc, output) from None
    os.close(fd)
    try:
        write(tmp)
        _public(tmp)
        os.replace(tmp, output)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(exc, output) from None
        raise


def _unwritable(exc: OSError, output: Path) -> ComplianceError:
    """The error naming the report's path and why: the file that stands where a directory must
    be, or the system's reason with the path it refused when that is another path the user
    named (never the temporary file, which the user did not choose)."""
    reason = os_reason(exc)
    refused = str(exc.filename) if exc.filename is not None else ""
    blocking = next((p for p in output.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():  # a file stands where a directory must be
        params = {"detail_vi": f"{blocking} không phải là thư mục", "detail_en": f"{blocking} is not a directory"}
    elif refused and refused != str(output) and not Path(refused).name.startswith(f".{output.name}."):
        params = {key: f"{refused}: {text}" for key, text in reason.items()}
    else:
        params = reason
    return ComplianceError([Problem("report_unwritable", params, file=str(output))])


def _public(path: str) -> None:
    """Give a temporary file the mode a plain new file would have (mkstemp makes it 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the report / ngôn ngữ của báo cáo.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "xlsx"]),
    default="md",
    show_default=True,
    help="md: Markdown; html: one offline file with charts; xlsx: workbook (needs -o).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write here instead of standard output / ghi ra tệp thay vì màn hình.",
)
@redact_option
@handle_errors
def report(directory: Path, lang: Lang, fmt: str, output: Path | None, redact_names: bool) -> None:
    """Write the campaign report of a `compliance batch` output DIRECTORY.

    Báo cáo kết quả kiểm tra từ thư mục kết quả của `compliance batch` (summary.json,
    results.jsonl), theo cấu trúc báo cáo của Đoàn kiểm tra; tiếng Việt mặc định.
    """
    data = ReportDir.open(directory, Redactor(redaction_key()) if redact_names else None)
    if fmt == "md":
        _write_text(markdown_report(data, lang), output)
    elif fmt == "html":
        _write_text(html_report(data, lang), output)
    else:
        if output is None:
            click.echo(
                "Lỗi: cần -o TỆP cho định dạng xlsx / Error: --format xlsx needs -o FILE",
                err=True,
            )
            sys.exit(EXIT_BAD_INPUT)
        _atomic(output, lambda tmp: write_xlsx(data, tmp, lang), suffix=".xlsx")

__all__ = ["report"]
