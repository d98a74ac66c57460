"""`compliance schema`: the JSON Schemas of the exchange formats, for the checks installed here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from ..api import request_schema, result_schema, visit_schema
from ..errors import Lang
from .common import handle_errors, lang_option, load_engine, rules_option, write_all


@click.command()
@click.argument("document", type=click.Choice(["visit", "result", "request"]), default="visit")
@rules_option
@lang_option
@handle_errors
def schema(document: str, rules_dir: Path | None, lang: Lang) -> None:
    """Print the JSON Schema (draft 2020-12) of the visit format (or of a result, or of the
    service's request envelope) for the checks installed here. Each observation names the checks
    that read it (`x-read-by`) and says what it is in English (`description`) and Vietnamese
    (`x-description-vi`). Another inspection system pins the format by saving this output with
    the tool's version.

    In JSON Schema (draft 2020-12) định dạng lần kiểm tra (hoặc kết quả, hoặc phong bì yêu cầu
    của dịch vụ) theo các kiểm tra đã cài đặt: mỗi trường quan sát ghi rõ kiểm tra nào đọc nó.
    """
    if document == "result":
        data = result_schema()
    else:
        engine = load_engine(rules_dir)
        data = visit_schema(engine) if document == "visit" else request_schema(engine)
    write_all(sys.stdout.buffer, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


__all__ = ["schema"]
