"""`compliance report --format xlsx`: sheets summary, findings (one row per finding), sanctions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from _report_dir import make_report_dir
from click.testing import CliRunner

from compliance.cli import main

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report_dir(tmp_path_factory.mktemp("campaign") / "out")


@pytest.fixture(scope="module")
def workbook(report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "xlsx", "-o", str(out)])
    assert done.exit_code == 0, done.output
    return openpyxl.load_workbook(out, read_only=True)


def rows(workbook: Any, sheet: str) -> list[tuple[Any, ...]]:
    return list(workbook[sheet].iter_rows(values_only=True))


def test_sheets(workbook: Any) -> None:
    assert workbook.sheetnames == ["summary", "findings", "sanctions"]


def test_one_row_per_finding(workbook: Any, report_dir: Path) -> None:
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    data = rows(workbook, "findings")
    assert len(data) - 1 == summary["findings"] == sum(summary["findings_by_rule"].values())
    header = data[0]
    assert all(" / " in h for h in header), header
    assert header[0] == "Lần kiểm tra / Visit"
    rule = header.index("Mã quy tắc / Rule id")
    absent = [r for r in data[1:] if r[rule] == "working_hours.absent_unexcused"]
    assert len(absent) == 91
    assert any("vắng mặt tại trụ sở" in r[header.index("Nội dung / What was found")] for r in absent)


def test_one_row_per_visit_sanction(workbook: Any, report_dir: Path) -> None:
    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    data = rows(workbook, "sanctions")
    assert len(data) - 1 == sum(summary["sanctions_by_code"].values())
    header = data[0]
    assert all(" / " in h for h in header)
    code = header.index("Mã hình thức / Code")
    counted: dict[str, int] = {}
    for r in data[1:]:
        counted[r[code]] = counted.get(r[code], 0) + 1
    assert counted == summary["sanctions_by_code"]


def test_summary_sheet(workbook: Any) -> None:
    data = rows(workbook, "summary")
    assert data[0] == ("Chỉ tiêu / Metric", "Giá trị / Value")
    assert ("Số cuộc kiểm tra", 100) in data
    assert ("Vắng mặt không có lý do", "working_hours.absent_unexcused", 91, 91) in data
    text = " ".join(str(c) for r in data for c in r if c is not None)
    assert "Đã phát hiện 91 cán bộ, công chức, viên chức" in text


def test_english_text_and_cells_stay_text(report_dir: Path, tmp_path: Path) -> None:
    # A unit name that looks like a formula stays text; control characters are dropped.
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    (crafted / "summary.json").write_bytes((report_dir / "summary.json").read_bytes())
    with (report_dir / "results.jsonl").open("rb") as src, (crafted / "results.jsonl").open("wb") as dst:
        for line in src:
            result = orjson.loads(line)
            result["unit_name"] = '=HYPERLINK("http://example.invalid","x")\x07'
            dst.write(orjson.dumps(result) + b"\n")
    out = tmp_path / "en.xlsx"
    done = CliRunner().invoke(main, ["report", str(crafted), "--format", "xlsx", "--lang", "en", "-o", str(out)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out)
    sheet = book["findings"]
    cell = sheet.cell(row=2, column=4)
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://example.invalid","x")'
    messages = [r[11] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert any("absent from the office" in m for m in messages)


def test_broken_or_missing_results_fail_cleanly(report_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "summary.json").write_bytes((report_dir / "summary.json").read_bytes())
    out = tmp_path / "out.xlsx"
    done = CliRunner().invoke(main, ["report", str(broken), "--format", "xlsx", "-o", str(out)])
    assert done.exit_code == 2 and "results.jsonl" in done.output
    (broken / "results.jsonl").write_bytes((report_dir / "results.jsonl").read_bytes()[:2000] + b"\n{broken\n")
    done = CliRunner().invoke(main, ["report", str(broken), "--format", "xlsx", "--lang", "en", "-o", str(out)])
    assert done.exit_code == 2 and "malformed JSON" in done.output
    assert not out.exists() and not list(tmp_path.glob(".out.xlsx*"))


@pytest.mark.parametrize(
    ("kind", "limit_for", "sheets"),
    [
        # The limit (rows a sheet holds, header included) from the kind's number of data rows.
        # The campaign has more sanctions than findings, so a limit that fits them fits both.
        ("sanctions", lambda n: n + 1, 1),  # exactly full: no second sheet, nothing to say
        ("findings", lambda n: n + 1, 1),  # findings fit; the sanctions go on (listed below)
        ("findings", lambda n: n, 2),  # one row over: it alone goes on in "findings (2)"
        ("sanctions", lambda n: -(-n // 3) + 1, 3),
    ],
)
def test_rows_beyond_the_sheet_limit_go_on_in_further_sheets(
    workbook: Any, report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    kind: str, limit_for: Any, sheets: int,
) -> None:
    from compliance.reports import xlsx

    expected = rows(workbook, kind)
    limit = limit_for(len(expected) - 1)
    monkeypatch.setattr(xlsx, "MAX_ROWS", limit)
    out = tmp_path / "split.xlsx"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "xlsx", "-o", str(out)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out, read_only=True)
    names = [kind] + [f"{kind} ({n})" for n in range(2, sheets + 1)]
    assert [n for n in book.sheetnames if n.startswith(kind)] == names
    assert book.sheetnames[0] == "summary"
    pages = [rows(book, n) for n in names]
    assert all(page[0] == expected[0] and len(page) <= limit for page in pages)
    assert [r for page in pages for r in page[1:]] == expected[1:]  # every row once, in order
    summary = [[c for c in r if c is not None] for r in rows(book, "summary")]
    if len(book.sheetnames) == 3:
        assert ["Trang tính / Sheets"] not in summary
        return
    listed = {r[0]: r[1] for r in summary if len(r) == 2 and r[0] in book.sheetnames}
    assert {n: listed[n] for n in names} == {n: len(page) - 1 for n, page in zip(names, pages)}
    if sheets > 1:
        what = "các phát hiện" if kind == "findings" else "các kiến nghị xử lý"
        assert any(f"nên {what} được ghi tiếp qua {sheets} trang" in str(r[0]) for r in summary if r)


def _data_sheets(book: Any) -> list[str]:
    return [n for n in book.sheetnames if n != "summary"]


@pytest.mark.parametrize(("lang", "shown"), [("vi", "dd/mm/yyyy"), ("en", "yyyy-mm-dd")])
def test_visit_dates_are_dates_and_every_data_sheet_has_a_filter(
    report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, shown: str
) -> None:
    """Dates sort and filter as dates, shown as the language writes them; the findings and
    sanctions sheets, and the sheets they go on in, filter on their header row."""
    import datetime

    from compliance.reports import xlsx

    summary = orjson.loads((report_dir / "summary.json").read_bytes())
    monkeypatch.setattr(xlsx, "MAX_ROWS", summary["findings"] // 2 + 1)
    out = tmp_path / "dates.xlsx"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "xlsx", "--lang", lang, "-o", str(out)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out)
    sheets = _data_sheets(book)
    assert "findings (2)" in sheets and "sanctions (2)" in sheets
    for name in sheets:
        sheet = book[name]
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}", name
        header = [c.value for c in sheet[1]]
        dates = [row[header.index("Ngày / Date")] for row in sheet.iter_rows(min_row=2)]
        assert dates and all(c.is_date and c.number_format == shown for c in dates), name
        assert all(isinstance(c.value, datetime.datetime) for c in dates)
    first = book["findings"].cell(row=2, column=2).value
    assert first.date() in {datetime.date.fromisoformat(d) for d in _visit_dates(report_dir)}


def _visit_dates(report_dir: Path) -> set[str]:
    return {orjson.loads(line)["visit_date"] for line in (report_dir / "results.jsonl").read_bytes().splitlines() if line}


@pytest.mark.parametrize(
    ("lang", "official", "unit"), [("vi", "Cá nhân", "Đơn vị"), ("en", "Official", "Unit")]
)
def test_subjects_and_targets_are_named_in_the_language(
    report_dir: Path, tmp_path: Path, lang: str, official: str, unit: str
) -> None:
    """An official is "cá nhân" whatever the category (cán bộ, công chức, viên chức), as the
    terminal says it; the findings sheet names subject types too, not `official`/`unit`."""
    out = tmp_path / "names.xlsx"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "xlsx", "--lang", lang, "-o", str(out)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out, read_only=True)
    findings = rows(book, "findings")
    types = {r[findings[0].index("Loại đối tượng / Subject type")] for r in findings[1:]}
    assert types == {official, unit}
    sanctions = rows(book, "sanctions")
    targets = {r[sanctions[0].index("Áp dụng đối với / Target")] for r in sanctions[1:]}
    assert official in targets and "Cán bộ" not in targets
