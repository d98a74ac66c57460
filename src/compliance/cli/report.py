"""`compliance report`: the campaign report of a batch output directory."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from ..errors import Lang
from ..privacy import Redactor, redaction_key
from ..reports import ReportDir, html_report, markdown_report, write_xlsx
from .common import EXIT_BAD_INPUT, handle_errors, redact_option


def _write_text(text: str, output: Path | None) -> None:
    data = text.encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _atomic(output, data)


def _atomic(output: Path, data: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        _public(tmp)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".xlsx", dir=output.parent)
        os.close(fd)
        try:
            write_xlsx(data, tmp, lang)
            _public(tmp)
            os.replace(tmp, output)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


__all__ = ["report"]
