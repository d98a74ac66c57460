"""The command group; subcommands register here, one module each."""

from __future__ import annotations

import click

from .. import __version__
from .batch import batch
from .evaluate import checks, evaluate
from .explain import explain
from .report import report
from .rules import rules
from .schema import schema
from .serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="compliance")
def main() -> None:
    """Evaluate surprise-inspection visits into graded findings and recommended sanctions.

    Kiểm tra trách nhiệm thực thi công vụ: đánh giá kết quả kiểm tra đột xuất thành các
    phát hiện được xếp loại và kiến nghị xử lý.
    """


main.add_command(evaluate)
main.add_command(checks)
main.add_command(serve)
main.add_command(batch)
main.add_command(rules)
main.add_command(explain)
main.add_command(report)
main.add_command(schema)
