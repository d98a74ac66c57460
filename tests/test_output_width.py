"""Tables at any terminal width (and in a pipe, where rich assumes 80 columns): ids whole on one
line, words never split, running text never squeezed below a usable width; below that, the
rows are stacked one block each instead of squeezed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from _authoring_support import RULES, copy_rules, replace_nth, write_jsonl
from _generated import generated_visits
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from compliance.cli import main
from compliance.render import MIN_TEXT, Column, Records

EXAMPLE = Path(__file__).parent / "fixtures" / "visit.example.yaml"
WIDTHS = [60, 80, 120]


def run(width: int, *args: str | Path) -> str:
    env = {"COLUMNS": str(width), "LINES": "50", "COMPLIANCE_LANG": None, "COMPLIANCE_RULES": None, "NO_COLOR": "1"}
    done = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)
    assert done.exit_code in (0, 1), done.output
    return done.output


def tables(output: str) -> list[list[tuple[str, int]]]:
    """Each table drawn in `output` as its columns' (header, width of their content)."""
    lines = output.splitlines()
    found = []
    for number, line in enumerate(lines):
        if "┡" not in line:
            continue
        start, end = line.index("┡"), line.index("┩")
        edges = [start] + [i for i in range(start, end) if line[i] == "╇"] + [end]
        header_lines = []
        for above in reversed(lines[:number]):
            if "┏" in above:
                break
            header_lines.insert(0, above)
        columns = []
        for left, right in zip(edges, edges[1:]):
            header = " ".join(" ".join(h[left + 1 : right] for h in header_lines).split())
            columns.append((header, right - left - 3))
        found.append(columns)
    return found


def _on_one_line(output: str, text: str) -> bool:
    return any(text in line for line in output.splitlines())


def assert_readable(output: str, width: int, ids: set[str], texts: list[str], text_headers: set[str]) -> None:
    lines = output.splitlines()
    assert all(cell_len(line) <= width for line in lines), max(lines, key=cell_len)
    cut = [i for i in ids if not _on_one_line(output, i)]
    assert not cut, cut  # never cut, never folded
    words = {w for t in texts for w in t.split()}
    split = [w for w in words if not _on_one_line(output, w)]
    assert not split, split
    for table in tables(output):
        for header, column in table:
            if header in text_headers:
                assert column >= MIN_TEXT, (header, table)


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    done = CliRunner().invoke(main, ["evaluate", str(EXAMPLE), "--format", "json"])
    return json.loads(done.output)[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("width", WIDTHS)
def test_evaluate_is_readable_at_any_width(example: dict[str, Any], width: int, lang: str) -> None:
    output = run(width, "evaluate", EXAMPLE, "--lang", lang)
    ids = {example["visit_id"], example["unit_id"]}
    ids |= {f"{f['check']}.{f['rule']}" for f in example["findings"]}
    ids |= {f["subject"]["id"] for f in example["findings"]}
    texts = [f["message"][lang] for f in example["findings"]]
    assert_readable(output, width, ids, texts, {"What was found", "Nội dung", "Legal basis", "Căn cứ"})
    # The example printed 718 lines at 80 columns, its message one letter per line.
    assert len(output.splitlines()) < 8 * (len(example["findings"]) + len(example["sanctions"])) + 20


@pytest.mark.parametrize("width", WIDTHS)
def test_checks_never_cuts_an_id(width: int) -> None:
    rows = json.loads(run(200, "checks", "--format", "json"))
    output = run(width, "checks")
    ids = {f"{r['check']}.{r['rule']}" for r in rows}
    assert_readable(output, width, ids, [r["source"] for r in rows], set())


def test_a_wide_terminal_keeps_the_table(example: dict[str, Any]) -> None:
    """Stacking is for narrow terminals: at 120 columns the findings and checks are tables."""
    assert [c[0] for c in tables(run(120, "evaluate", EXAMPLE))[0]] == ["Severity", "Rule", "Subject", "What was found"]
    assert [c[0] for c in tables(run(120, "checks"))[0]] == ["Rule", "Subject", "Versions", "Source"]
    assert tables(run(80, "evaluate", EXAMPLE)) == []


@pytest.fixture(scope="module")
def diff_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    new = copy_rules(root, "new")
    replace_nth(new / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: 15}", -1)
    return new, write_jsonl(root / "visits.jsonl", generated_visits(150))


@pytest.mark.parametrize("width", WIDTHS)
def test_rules_diff_is_readable_at_any_width(diff_dirs: tuple[Path, Path], width: int) -> None:
    new, visits = diff_dirs
    data = json.loads(run(200, "rules", "diff", RULES, new, "--visits", visits, "--format", "json"))
    output = run(width, "rules", "diff", RULES, new, "--visits", visits, "--lang", "vi")
    ids = set(data["impact"]["per_rule"]) & {r for r, v in data["impact"]["per_rule"].items() if v["lost"]}
    ids |= {e for r in data["impact"]["per_rule"].values() for e in r["examples_lost"]}
    assert ids
    assert_readable(output, width, ids, [], {"Thay đổi"})


IDS = st.text(st.sampled_from("abcxyz._-0123456789"), min_size=1, max_size=30)
WORDS = st.lists(st.text(st.sampled_from("abcdeêđươ"), min_size=1, max_size=12), min_size=1, max_size=15).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(IDS, WORDS, WORDS), min_size=1, max_size=4),
    headers=st.tuples(*[st.text(st.sampled_from("Abc "), min_size=1, max_size=15).map(str.strip).filter(bool)] * 3),
    width=st.integers(60, 160),
)
def test_records_keep_ids_whole_and_text_usable_at_any_width(
    rows: list[tuple[str, str, str]], headers: tuple[str, str, str], width: int
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    columns = [Column(headers[0]), Column(headers[1], "label"), Column(headers[2], "text")]
    console.print(Records("Title", columns, rows))
    output = out.getvalue()
    lines = output.splitlines()
    assert all(cell_len(line) <= width for line in lines)
    for identifier, label, text in rows:
        assert _on_one_line(output, identifier)
        assert all(_on_one_line(output, w) for w in (label + " " + text).split())
    for table in tables(output):
        assert table[2][1] >= min(MIN_TEXT, max(cell_len(r[2]) for r in rows))
