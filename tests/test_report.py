"""`compliance report` Markdown: the seed report's narrative from summary.json, in Vietnamese and English."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from _report_dir import make_report_dir
from click.testing import CliRunner

from compliance.cli import main
from compliance.reports import ReportDir, markdown_report, narrative


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report_dir(tmp_path_factory.mktemp("campaign") / "out")


@pytest.fixture(scope="module")
def summary(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((report_dir / "summary.json").read_bytes())
    return data


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_vietnamese_by_default_with_the_seed_figures(report_dir: Path) -> None:
    done = run("report", str(report_dir))
    assert done.exit_code == 0, done.output
    text = done.output
    assert text.startswith("# Kết quả kiểm tra trách nhiệm thực thi công vụ từ ngày 03/01/2018 đến ngày 03/08/2018")
    # The seed's "87 các đơn vị thuộc, trực thuộc UBND các huyện ..." put "các" after a number and
    # counted the district people's committees among the units under them: said plainly now.
    assert "87 các đơn vị" not in text
    for expected in (
        "theo Kế hoạch số 10306/KH-UBND",
        "Kết quả đã thực hiện kiểm tra đối với 100 cơ quan, đơn vị, trong đó:",
        "100 cơ quan, đơn vị",
        "6 sở, ngành",
        "07 đơn vị thuộc, trực thuộc",
        "87 cơ quan, đơn vị cấp huyện, cấp xã (UBND các huyện, thành phố và các đơn vị thuộc, trực thuộc; "
        "UBND các xã, phường, thị trấn)",
        "Đã phát hiện 91 cán bộ, công chức, viên chức vắng mặt tại thời điểm kiểm tra không có lý do.",
        "Có 10 xã không sử dụng phần mềm dùng chung cho bộ phận một cửa.",
        "Có 07 xã không có bộ phận một cửa.",
        "Một số cơ quan, đơn vị còn lập bàn thờ, thắp hương trong phòng làm việc.",
        "Một số cán bộ, công chức không đeo thẻ khi thực hiện nhiệm vụ.",
        "xem xét thi đua năm 2018",
        "báo cáo giải trình",
        "tỉnh Vĩnh Phúc./.",
    ):
        assert expected in text, expected


def test_no_alcohol_is_a_positive_statement(report_dir: Path) -> None:
    story = narrative(ReportDir.open(report_dir).summary, "vi")
    parts = dict(story.paragraphs)
    assert "không phát hiện cán bộ, công chức uống rượu, bia trong giờ làm việc" in parts["compliance"]
    assert "uống rượu, bia trong giờ làm việc" not in parts["shortcomings"].split("cụ thể")[0].replace(
        "ký cam kết thực hiện không uống rượu, bia trong giờ làm việc", ""
    )
    assert not re.search(r"\b0+ cán bộ", story.text())


def test_seed_order_of_the_report(report_dir: Path) -> None:
    data = ReportDir.open(report_dir)
    story = narrative(data.summary, "vi", evidence=data.varied_evidence())
    assert [key for key, _ in story.paragraphs] == [
        "mandate",
        "coverage",
        "compliance",
        "shortcomings",
        "follow_up",
        "close",
    ]
    shortcomings = dict(story.paragraphs)["shortcomings"]
    order = ["đi làm muộn giờ", "vắng mặt tại trụ sở", "không đeo thẻ", "không sử dụng phần mềm dùng chung",
             "lập bàn thờ", "cụ thể một số tồn tại như sau", "Đã phát hiện 91", "Có 10 xã", "Có 07 xã"]
    positions = [shortcomings.index(s) for s in order]
    assert positions == sorted(positions)
    assert "chỉ trực vào các buổi chiều" in shortcomings  # the afternoons-only desk, read from results.jsonl


def test_english(report_dir: Path) -> None:
    done = run("report", str(report_dir), "--lang", "en")
    assert done.exit_code == 0
    text = done.output
    for expected in (
        "# Results of the public-service discipline inspections from 3 January 2018 to 3 August 2018",
        "under Plan No. 10306/KH-UBND",
        "In all, 100 agencies and units were inspected: 6 provincial departments; 7 units under the departments; 87 district-",
        "no official was found drinking alcohol during working hours",
        "91 officials were absent at the time of the visit with no reason given.",
        "10 communes did not use the shared software at the one-stop desk.",
        "7 communes had no one-stop desk.",
        "emulation standing for 2018",
    ):
        assert expected in text, expected
    # Every sentence exists in both languages: the same parts, and no Vietnamese words left in English.
    summary = ReportDir.open(report_dir).summary
    vi, en = narrative(summary, "vi"), narrative(summary, "en")
    assert [k for k, _ in vi.paragraphs] == [k for k, _ in en.paragraphs]
    assert len(vi.positives) == len(en.positives)
    assert len(vi.negatives_qualitative) == len(en.negatives_qualitative)
    assert [c.metric for c in vi.negatives_counted] == [c.metric for c in en.negatives_counted]
    english = en.text().replace("Vĩnh Phúc", "")
    assert not re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", english, re.IGNORECASE)


def test_figures_come_from_the_summary(summary: dict[str, Any]) -> None:
    changed = copy.deepcopy(summary)
    changed["units_by_level"]["department"] = 3
    changed["subjects_by_rule"]["working_hours.absent_unexcused"] = 57
    changed["subjects_by_rule"]["one_stop.shared_software_not_used"] = 12
    changed["by_level"]["commune"]["subjects_by_rule"]["one_stop.shared_software_not_used"] = 10
    changed["period"] = {"from": "2019-02-11", "to": "2019-11-29"}
    changed["plan_refs"] = ["55/KH-UBND", "99/QĐ-UBND"]
    text = narrative(changed, "vi").text()
    assert "97 cơ quan, đơn vị" in text and "03 sở, ngành" in text
    assert "Đã phát hiện 57 cán bộ" in text
    assert "Có 10 xã và 02 cơ quan, đơn vị khác không sử dụng phần mềm dùng chung" in text
    assert "từ ngày 11/02/2019 đến ngày 29/11/2019" in text
    assert "theo Kế hoạch số 55/KH-UBND và Quyết định số 99/QĐ-UBND" in text
    assert "xem xét thi đua năm 2019" in text
    assert "91" not in text and "2018" not in text


def test_alcohol_found_is_a_shortcoming_not_a_positive(summary: dict[str, Any]) -> None:
    changed = copy.deepcopy(summary)
    changed["subjects_by_rule"]["alcohol_tobacco.alcohol_during_work"] = 2
    changed["findings_by_rule"]["alcohol_tobacco.alcohol_during_work"] = 2
    parts = dict(narrative(changed, "vi").paragraphs)
    assert "không phát hiện cán bộ, công chức uống rượu" not in parts["compliance"]
    assert "uống rượu, bia trong giờ làm việc" in parts["shortcomings"]
    en = dict(narrative(changed, "en").paragraphs)
    assert "drank alcohol during working hours" in en["shortcomings"]


def test_discipline_and_fines_in_the_follow_up(summary: dict[str, Any]) -> None:
    changed = copy.deepcopy(summary)
    changed["sanctions_by_code"].update({"reprimand": 3, "administrative_fine": 2})
    vi = dict(narrative(changed, "vi").paragraphs)["follow_up"]
    assert "xem xét xử lý kỷ luật theo quy định (khiển trách: 03)" in vi
    assert "xử phạt vi phạm hành chính đối với 02 trường hợp" in vi
    en = dict(narrative(changed, "en").paragraphs)["follow_up"]
    assert "reprimand: 3" in en and "2 cases are referred" in en


def test_a_clean_campaign() -> None:
    summary = {
        "visits": 3,
        "errors": 0,
        "findings": 0,
        "units_by_level": {"commune": 3},
        "subjects_by_rule": {},
        "findings_by_rule": {},
        "findings_by_severity": {"minor": 0, "moderate": 0, "serious": 0, "critical": 0},
        "sanctions_by_code": {},
        "grades": {"good": 3},
        "period": {"from": "2018-03-01", "to": "2018-03-02"},
        "plan_refs": [],
        "by_level": {},
        "by_province": {"Vĩnh Phúc": {}},
    }
    story = narrative(summary, "vi")
    parts = dict(story.paragraphs)
    assert "Tại thời điểm kiểm tra không phát hiện tồn tại, vi phạm." == parts["shortcomings"]
    assert "follow_up" not in parts
    assert "03 cơ quan, đơn vị cấp huyện, cấp xã" in parts["coverage"]
    assert "sở, ngành" not in parts["coverage"]
    assert "không phát hiện việc lập bàn thờ" in parts["compliance"]
    assert "No shortcoming was found" in dict(narrative(summary, "en").paragraphs)["shortcomings"]


def test_markdown_tables(report_dir: Path, summary: dict[str, Any]) -> None:
    text = markdown_report(ReportDir.open(report_dir), "vi")
    assert "## Phụ lục: số liệu tổng hợp" in text
    assert "| Vắng mặt không có lý do | working_hours.absent_unexcused | 91 | 91 |" in text
    assert f"| Số phát hiện | {summary['findings']} |" in text
    assert "| 06/2018 |" in text


def test_output_file_and_errors(report_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.md"
    done = run("report", str(report_dir), "-o", str(out))
    assert done.exit_code == 0 and done.output == ""
    assert out.read_text(encoding="utf-8").startswith("# Kết quả kiểm tra")
    missing = run("report", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2
    assert "không tìm thấy tệp" in missing.output
    missing_en = run("report", str(tmp_path / "nowhere"), "--lang", "en")
    assert missing_en.exit_code == 2 and "no such file" in missing_en.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text("{not json", encoding="utf-8")
    assert run("report", str(bad)).exit_code == 2
    xlsx = run("report", str(report_dir), "--format", "xlsx")
    assert xlsx.exit_code == 2 and "-o" in xlsx.output


def test_no_visits_claims_nothing() -> None:
    for lang, expected in (("vi", "Chưa có kết quả kiểm tra nào."), ("en", "There are no inspection results yet.")):
        story = narrative({}, lang)
        assert dict(story.paragraphs)["shortcomings"] == expected
        assert not story.positives and "compliance" not in dict(story.paragraphs)


@pytest.mark.parametrize("fmt", ["md", "html", "xlsx"])
@pytest.mark.parametrize(
    ("lang", "words"), [("vi", "không ghi được báo cáo vào tệp này"), ("en", "cannot write the report to this file")]
)
def test_an_unwritable_output_is_one_error_not_a_traceback(
    report_dir: Path, tmp_path: Path, fmt: str, lang: str, words: str
) -> None:
    # A regular file where a directory must be: permission bits would not stop root.
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    for out in (blocker / f"x.{fmt}", blocker / "sub" / f"x.{fmt}"):
        done = CliRunner().invoke(main, ["report", str(report_dir), "--format", fmt, "--lang", lang, "-o", str(out)])
        assert done.exit_code == 2, done.output
        assert done.exception is None or isinstance(done.exception, SystemExit)
        assert f"{out}: {words}: {blocker} " in done.output and "Traceback" not in done.output
    assert blocker.read_text(encoding="utf-8") == "x"


def test_a_failed_write_leaves_no_temporary_file(
    report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device", src)

    monkeypatch.setattr("compliance.cli.report.os.replace", full)
    out = tmp_path / "report.md"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--lang", "en", "-o", str(out)])
    assert done.exit_code == 2
    assert done.output.splitlines() == [f"Error: {out}: cannot write the report to this file: No space left on device"]
    assert list(tmp_path.iterdir()) == []
    vi = CliRunner().invoke(main, ["report", str(report_dir), "--lang", "vi", "-o", str(out)])
    assert vi.output.splitlines() == [f"Lỗi: {out}: không ghi được báo cáo vào tệp này: hết chỗ trống trên đĩa (No space left on device)"]


@pytest.mark.parametrize(("n", "vi", "en"), [(0, "0", "0"), (1, "01", "1"), (9, "09", "9"), (10, "10", "10")])
def test_counts_below_ten_are_padded_but_zero_is_not(n: int, vi: str, en: str) -> None:
    from compliance.reports.narrative import num

    assert (num(n, "vi"), num(n, "en")) == (vi, en)


@pytest.mark.parametrize(
    ("lang", "mandate", "coverage"),
    [
        ("vi", "chưa tiến hành cuộc kiểm tra đột xuất nào", "Chưa có cơ quan, đơn vị nào được kiểm tra."),
        ("en", "made no surprise inspection visits", "No agency or unit was inspected."),
    ],
)
@pytest.mark.parametrize(
    "summary",
    [
        {},
        {"visits": 0, "units_by_level": {}, "period": {"from": "2018-01-02", "to": "2018-03-04"}, "plan_refs": ["7/KH-UBND"]},
    ],
)
def test_no_visits_are_said_in_words_not_as_zero(lang: str, mandate: str, coverage: str, summary: dict[str, Any]) -> None:
    story = narrative(summary, lang)  # type: ignore[arg-type]
    parts = dict(story.paragraphs)
    assert mandate in parts["mandate"] and parts["coverage"] == coverage
    assert not re.search(r"\b0+\b", story.text()), story.text()


def test_one_unit_is_said_in_the_singular_in_english() -> None:
    summary = {"visits": 1, "units_by_level": {"department": 1}, "period": {"from": "2018-01-02", "to": "2018-01-02"}}
    parts = dict(narrative(summary, "en").paragraphs)  # type: ignore[arg-type]
    assert parts["coverage"] == "In all, 1 agency or unit was inspected: 1 provincial department."
    parts = dict(narrative({**summary, "units_by_level": {"department": 1, "commune": 2}, "visits": 3}, "en").paragraphs)  # type: ignore[arg-type]
    assert parts["coverage"].startswith("In all, 3 agencies and units were inspected: 1 provincial department; 2 district-")
