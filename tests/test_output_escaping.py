"""Text from data is escaped for where it lands: Markdown (never HTML, a link, an image or
formatting) and the terminal (never a control character), in every command that shows it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from _authoring_support import RULES, copy_rules, replace_nth, run, write_jsonl
from _generated import generated_visits
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.text import Text

from compliance import Engine
from compliance.authoring.diff import diff_rulesets
from compliance.authoring.diff_render import render_markdown, render_rich
from compliance.authoring.explain import explain_visit
from compliance.authoring.explain import render_rich as explain_rich
from compliance.cli.common import output_console
from compliance.errors import visible
from compliance.reports import ReportDir, html_report, markdown_report
from compliance.result import Result, Subject
from compliance.render import Column, Records, markdown, md, table

EXAMPLE = Path(__file__).parent / "fixtures" / "visit.example.yaml"

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![x](http://evil.example/x.png)",
    "[click](javascript:alert(1))",
    "<http://evil.example/>",
    "**bold** _it_ `code` ~~s~~",
    "&lt;b&gt; &#60;i>",
    "# heading",
    "1. item",
    "- item | cell |",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b[2J\x1b[H",
    "\x9b31m",
]

SPECIAL = list("\\`*_[]<>()!#&|~-+=.:/;'\" \t\n\r\x00\x07\x1b\x7f\x85\x9b\u00a0\u200b\u202e\u2028") + ["http://", "www.", "&amp;", "<!--", "]("]
TEXT = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(), st.sampled_from(["a", "b", "1", "ê", "Đ"])), max_size=40).map("".join)

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _words(text: str) -> str:
    return " ".join(text.split())


def _inline_text(tokens: list[Any]) -> str:
    """The text a Markdown document shows, asserting that nothing in it is more than text."""
    shown = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                assert child.type == "text", (child.type, child.content)
                shown.append(child.content)
        assert token.type not in ("html_block", "code_block", "fence", "hr"), token.type
    return "".join(shown)


CONTEXTS = {
    # How the renderers place data: a paragraph or a heading of its own, after a list item's
    # label, in a table cell.
    "paragraph": (lambda t: t, ["paragraph_open", "inline", "paragraph_close"], ""),
    "heading": (lambda t: f"# {t}", ["heading_open", "inline", "heading_close"], ""),
    "list": (lambda t: f"- Unit: {t}", None, "Unit: "),
    "cell": (lambda t: f"| h |\n|---|\n| {t} |", None, "h"),
}


@pytest.mark.parametrize("context", CONTEXTS)
@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_any_text_is_shown_as_written_in_markdown(context: str, text: str) -> None:
    """Parsed by a real Markdown parser, escaped text is text: no raw HTML, no link or image,
    no emphasis or code, no block of its own; and it shows the text back."""
    wrap, blocks, prefix = CONTEXTS[context]
    tokens = PARSER.parse(wrap(md(text)))
    expected = visible(text).strip(" ")
    if blocks is not None and expected:
        assert [t.type for t in tokens] == blocks
    if context == "heading":
        assert tokens[0].tag == "h1"
    assert _words(_inline_text(tokens)) == _words(prefix + expected)


def test_ordinary_text_is_left_readable() -> None:
    """Escaping adds nothing to what Markdown would not misread: ids, dates, plan numbers."""
    for text in ("working_hours.absent_unexcused", "10306/KH-UBND", "UBND thị trấn Hợp Hòa", "12/06/2018", "vp.tam-duong.hop-hoa"):
        assert md(text) == text
    assert md("1. a") == "1\\. a" and md("- a") == "\\- a" and md("a|b") == "a\\|b"


def _structure(document: str) -> list[str]:
    kinds: list[str] = []

    def walk(tokens: list[Any]) -> None:
        for t in tokens:
            if t.type != "text":
                kinds.append(t.type)
            walk(t.children or [])

    walk(PARSER.parse(document))
    return kinds


def _assert_inert(document: str, clean: str) -> None:
    """`document`, made from hostile data, has the very structure of `clean`, made from the same
    data without it: the data added no HTML, link, image, code, emphasis or block."""
    assert _structure(document) == _structure(clean), document
    assert "html_inline" not in _structure(document) and "html_block" not in _structure(document)
    assert "\x1b" not in document and "\x9b" not in document


@pytest.fixture(scope="module")
def example() -> Result:
    import yaml

    return Engine.load().evaluate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def _hostile(result: Result, text: str) -> Result:
    """The result with every id and text from the visit replaced by `text` (a visit may not be
    able to carry them, but a renderer must not depend on it)."""
    findings = tuple(
        dataclasses.replace(f, subject=Subject(f.subject.type, text), message={k: f"{text} {v}" for k, v in f.message.items()})
        for f in result.findings
    )
    sanctions = tuple(dataclasses.replace(s, subject_id=text, because=(text, *s.because)) for s in result.sanctions)
    return dataclasses.replace(result, visit_id=text, unit_id=text, findings=findings, sanctions=sanctions)


@pytest.mark.parametrize("text", HOSTILE)
def test_evaluate_markdown_holds_no_html_link_or_terminal_escape(example: Result, text: str) -> None:
    document = markdown([_hostile(example, text)], "en")
    _assert_inert(document, markdown([_hostile(example, "x")], "en"))
    assert document.startswith("## Visit ")


def _terminal(width: int = 100) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return output_console(file=out, width=width, color_system=None, force_terminal=False), out


def _assert_no_control(text: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and not c.isprintable()})
    assert not bad, bad


@pytest.mark.parametrize("width", [60, 120])
@pytest.mark.parametrize("text", HOSTILE)
def test_evaluate_table_prints_no_control_character(example: Result, text: str, width: int) -> None:
    console, out = _terminal(width)
    table([_hostile(example, text)], "en", console)
    _assert_no_control(out.getvalue())
    if "\x1b" in text:
        assert "\\u001b" in out.getvalue()


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(TEXT, min_size=3, max_size=3), width=st.integers(40, 160))
def test_any_cell_reaches_the_terminal_without_control_characters(cells: list[str], width: int) -> None:
    """Through `Records` (every table the commands print), in either layout, its title and
    headers too (a ruleset's name is in a title; '[/b]' in it was a traceback)."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    columns = [Column(cells[1] + "[/i]"), Column("label", "label"), Column("text", "text")]
    console.print(Records(cells[0] + "[/b]", columns, [cells, cells[::-1]]))
    _assert_no_control(out.getvalue())


@settings(max_examples=100, deadline=None)
@given(text=TEXT)
def test_the_output_console_escapes_what_a_renderer_printed_raw(text: str) -> None:
    """The guard behind `plain`: a renderer that prints data as a str or a Text of its own
    (explain does) still puts no control character on the terminal."""
    console, out = _terminal()
    console.print(text, markup=False)
    console.print(Text(text, style="bold"))
    console.print(f"[bold]{text}[/bold]" if "[" not in text else "x")
    _assert_no_control(out.getvalue())


def test_explain_prints_no_control_character() -> None:
    import yaml

    engine = Engine.load()
    data = explain_visit(engine, engine_visit(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))))
    text = HOSTILE[10] + HOSTILE[11]
    data = json.loads(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS))
    data["visit_id"] = text
    data["unit"]["id"] = text
    for rule in data["rules"]:
        for finding in rule["findings"]:
            finding["subject"]["id"] = text
            finding["message"] = {k: text + v for k, v in finding["message"].items()}
    for sanction in data["sanctions"]:
        sanction["subject_id"] = text
    console, out = _terminal()
    explain_rich(data, "en", console)
    _assert_no_control(out.getvalue())
    assert "\\u001b[31mred" in out.getvalue()


def engine_visit(raw: dict[str, Any]) -> Any:
    from compliance import parse_visit

    return parse_visit(raw)


def _with_examples(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    data["impact"]["examples_changed"] = [prefix + v for v in data["impact"]["examples_changed"]]
    for rule in data["impact"]["per_rule"].values():
        rule["examples_lost"] = [prefix + v for v in rule["examples_lost"]]
    data["old"]["name"] = prefix + data["old"]["name"]
    return data


@pytest.fixture(scope="module")
def diff_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A rules diff with changed visits, as its renderers receive it."""
    new = copy_rules(tmp_path_factory.mktemp("diff"), "new")
    replace_nth(new / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: 15}", -1)
    from compliance import parse_visit

    visits = [parse_visit(v) for v in generated_visits(120)]
    data = diff_rulesets(Engine.load(RULES), Engine.load(new), visits).to_dict()
    return json.loads(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS))  # type: ignore[no-any-return]


@pytest.mark.parametrize("text", HOSTILE)
def test_rules_diff_escapes_for_the_terminal_and_markdown(diff_data: dict[str, Any], text: str) -> None:
    """Example visit ids and the ruleset's name hold escape sequences, HTML, links."""
    hostile = _with_examples(diff_data, text)
    for width in (60, 120):
        console, out = _terminal(width)
        render_rich(hostile, "vi", console)
        _assert_no_control(out.getvalue())
    document = render_markdown(hostile, "en")
    _assert_inert(document, render_markdown(_with_examples(diff_data, "x"), "en"))
    assert document.startswith("# Rules diff: ")


def _report_dir(root: Path, texts: list[str]) -> Path:
    """A batch output whose plan reference, provinces, unit name and id and ruleset name are `texts`."""
    root.mkdir()
    block = {"visits": 1, "units": 1, "findings_by_rule": {"working_hours.absent_unexcused": 1}}
    plan, province_a, province_b, unit_id, unit_name, ruleset = texts
    summary = {
        "visits": 2,
        "errors": 0,
        "findings": 1,
        "units_by_level": {"commune": 2},
        "subjects_by_rule": {"working_hours.absent_unexcused": 1},
        "findings_by_rule": {"working_hours.absent_unexcused": 1},
        "findings_by_severity": {"moderate": 1},
        "sanctions_by_code": {"reminder": 1},
        "grades": {"fair": 2},
        "period": {"from": "2018-01-03", "to": "2018-08-03"},
        "plan_refs": [plan + " 10306/KH-UBND"],
        "by_level": {"commune": block},
        "by_month": {"2018-01": block},
        "by_province": {"A " + province_a: block, "B " + province_b: block},
        "top_units": [
            {"unit_id": unit_id, "unit_name": unit_name, "unit_level": "commune", "visits": 1, "findings": 1, "worst_severity": "moderate"}
        ],
        "ruleset": {"name": ruleset, "version": "1", "digest": "sha256:0"},
    }
    (root / "summary.json").write_bytes(orjson.dumps(summary))
    (root / "results.jsonl").write_bytes(b"")
    return root


REPORT_TEXTS = [HOSTILE[i::6][:6] for i in range(2)] + [HOSTILE[-6:]]


@pytest.mark.parametrize("texts", REPORT_TEXTS)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_report_markdown_holds_no_html_link_or_terminal_escape(tmp_path: Path, texts: list[str], lang: str) -> None:
    hostile = _report_dir(tmp_path / "hostile", (texts * 6)[:6])
    clean = _report_dir(tmp_path / "clean", ["x"] * 6)
    document = markdown_report(ReportDir.open(hostile), lang)  # type: ignore[arg-type]
    _assert_inert(document, markdown_report(ReportDir.open(clean), lang))  # type: ignore[arg-type]
    title = PARSER.parse(document)[1].content
    assert visible(texts[1]).strip() in PARSER.parse(document)[1].children[0].content, title  # the H1 names the provinces, as text
    printed = run("report", hostile, "--lang", lang)
    assert printed.exit_code == 0
    _assert_no_control(printed.output)


def test_report_html_carries_no_control_character(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    page = html_report(ReportDir.open(_report_dir(tmp_path / "r", HOSTILE[:2] + HOSTILE[10:14])), "en")
    ours = re.sub(r"<script[^>]*>.{100000,}?</script>", "", page, flags=re.S)  # less the plotly.js library
    assert "Plotly.newPlot" in ours
    _assert_no_control(ours.replace("\t", " "))
    assert "<img src=x" not in page and "<script>alert" not in page


@pytest.mark.parametrize("command", [["evaluate"], ["evaluate", "--format", "markdown"], ["explain"]])
def test_commands_put_no_escape_sequence_on_the_terminal(tmp_path: Path, command: list[str]) -> None:
    """End to end: a visit whose ids hold escape sequences is shown escaped (or refused, with
    an error message that escapes them too), never passed to the terminal."""
    import yaml

    visit = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    visit["visit_id"] = "V\x1b]0;pwned\x07"
    visit["unit"]["id"] = "u\x1b[2J"
    visit["personnel"][0]["id"] = "p\x1b[31m"
    path = write_jsonl(tmp_path / "visit.jsonl", [visit])
    done = run(command[0], path, *command[1:])
    assert done.exit_code in (0, 2)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", done.output), done.output


def test_rules_test_shows_a_case_name_with_bidi_controls_escaped(tmp_path: Path) -> None:
    """A case name may hold what YAML allows but the terminal would act on: a right-to-left
    override turns the rest of the line around, a zero-width space hides."""
    rules = copy_rules(tmp_path, cases=False)
    (rules / "cases").mkdir()
    (rules / "cases" / "working_hours.yaml").write_text(
        "check: working_hours\n"
        "base:\n  visit_id: T-1\n  inspected_at: \"2018-06-12T08:00:00+07:00\"\n  unit: {id: xa-a, level: commune}\n"
        "cases:\n  - name: \"absent \u202eevil\u200b\"\n    visit:\n      personnel: [{id: a1, attendance: absent}]\n"
        "    expect: []\n",
        encoding="utf-8",
    )
    done = run("rules", "test", rules)
    assert done.exit_code == 1, done.output
    assert "absent \\u202eevil\\u200b" in done.output
    _assert_no_control(done.output)
