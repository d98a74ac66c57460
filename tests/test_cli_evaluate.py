"""`compliance evaluate` and `compliance checks` as a person and another program use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import main

EXAMPLE = Path(__file__).parent / "fixtures" / "visit.example.yaml"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "compliance", *args], input=stdin, capture_output=True, timeout=120)


def test_json_output_is_an_array_of_contract_results() -> None:
    done = run("evaluate", str(EXAMPLE), "--format", "json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert isinstance(results, list) and len(results) == 1
    result = results[0]
    for key in ("visit_id", "unit_id", "unit_level", "inspected_at", "ruleset", "grade", "findings", "sanctions"):
        assert key in result
    assert set(result["ruleset"]) >= {"name", "version", "as_of", "digest"}
    finding = result["findings"][0]
    for key in ("check", "rule", "severity", "subject", "evidence", "message", "legal_basis", "sanctions"):
        assert key in finding
    assert {"vi", "en"} <= set(finding["message"])
    assert "explanation_report" in {s["code"] for s in result["sanctions"]}


def test_table_shows_the_same_findings_for_a_person() -> None:
    runner = CliRunner()
    table = runner.invoke(main, ["evaluate", str(EXAMPLE), "--lang", "en"], env={"COLUMNS": "200"})
    data = json.loads(runner.invoke(main, ["evaluate", str(EXAMPLE), "--format", "json"]).output)
    assert table.exit_code == 0
    for finding in data[0]["findings"]:
        assert f"{finding['check']}.{finding['rule']}" in table.output
    assert "Written explanation" in table.output
    vi = runner.invoke(main, ["evaluate", str(EXAMPLE), "--lang", "vi"], env={"COLUMNS": "200"})
    assert "Báo cáo giải trình" in vi.output and "vắng mặt" in vi.output


def test_markdown_and_jsonl_formats() -> None:
    runner = CliRunner()
    md = runner.invoke(main, ["evaluate", str(EXAMPLE), "--format", "markdown", "--lang", "vi"])
    assert md.exit_code == 0 and "| Mức độ |" in md.output and "VP-2018-0412" in md.output
    jl = runner.invoke(main, ["evaluate", str(EXAMPLE), str(EXAMPLE), "--format", "jsonl"])
    assert [json.loads(line)["visit_id"] for line in jl.output.splitlines()] == ["VP-2018-0412"] * 2


@pytest.mark.parametrize("payload", ["yaml", "json", "array", "jsonl"])
def test_stdin_holds_yaml_json_arrays_or_jsonl(payload: str) -> None:
    import yaml

    visit = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    text = {
        "yaml": EXAMPLE.read_text(encoding="utf-8"),
        "json": json.dumps(visit, indent=2, ensure_ascii=False),
        "array": json.dumps([visit, visit]),
        "jsonl": json.dumps(visit) + "\n" + json.dumps(visit) + "\n",
    }[payload]
    done = run("evaluate", "-", "--format", "jsonl", stdin=text.encode("utf-8"))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == (1 if payload in ("yaml", "json") else 2)


def test_fail_on_exits_1_at_or_above_the_severity() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["evaluate", str(EXAMPLE), "--fail-on", "moderate", "--format", "json"]).exit_code == 1
    assert runner.invoke(main, ["evaluate", str(EXAMPLE), "--fail-on", "critical", "--format", "json"]).exit_code == 0


def test_as_of_picks_the_rules_of_another_date() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["evaluate", str(EXAMPLE), "--format", "json", "--as-of", "2026-01-05"])
    assert json.loads(out.output)[0]["ruleset"]["as_of"] == "2026-01-05"
    bad = runner.invoke(main, ["evaluate", str(EXAMPLE), "--as-of", "yesterday"])
    assert bad.exit_code == 2 and "is not a date YYYY-MM-DD" in bad.output
    impossible = runner.invoke(main, ["evaluate", str(EXAMPLE), "--as-of", "2027-02-30"])
    assert impossible.exit_code == 2
    assert "'2027-02-30': February 2027 has 28 days / tháng 2 năm 2027 chỉ có 28 ngày" in impossible.output


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("wrong-type.json", b'{"visit_id": "x", "inspected_at": "2018-06-12T07:50:00+07:00", "unit": {"id": "u", "level": "commune"}, "personnel": [{"id": "a", "smoking": "yes"}]}', "personnel[0].smoking"),
        ("unknown.yaml", b"visit_id: x\ninspected_at: 2018-06-12T07:50:00+07:00\nunit: {id: u, level: commune}\nworkplce: {}\n", "workplce"),
        ("time.yaml", b"visit_id: x\ninspected_at: 2018-06-12T07:50:00+07:00\nunit: {id: u, level: commune}\npersonnel: [{id: a, attendance: late, arrived_at: '31:00'}]\n", "arrived_at"),
        ("june-31.json", b'{"visit_id": "x", "inspected_at": "2018-06-31T07:50:00+07:00", "unit": {"id": "u", "level": "commune"}}', "inspected_at: invalid date '2018-06-31T07:50:00+07:00': June 2018 has 30 days"),
        ("june-31.yaml", b"visit_id: x\ninspected_at: 2018-06-31T07:50:00+07:00\nunit: {id: u, level: commune}\n", ":2:15: invalid date '2018-06-31T07:50:00+07:00': June 2018 has 30 days"),
        ("naive.yaml", b"visit_id: x\ninspected_at: '2018-06-12T07:50:00'\nunit: {id: u, level: commune}\n", "inspected_at"),
        ("empty.yaml", b"", "empty"),
        ("binary.json", b"\xff\xfe\x00garbage", "not UTF-8"),
        ("truncated.json", b'{"visit_id": "x", "inspected_at": ', "JSON"),
        ("list.yaml", b"- 1\n- 2\n", "object"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_file_and_field(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = run("evaluate", str(path))
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2
    assert "Traceback" not in err
    assert name in err and expected in err


def test_missing_file_and_broken_rules_exit_2(tmp_path: Path) -> None:
    done = run("evaluate", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2 and b"no such file" in done.stderr
    (tmp_path / "rules").mkdir()
    done = run("evaluate", str(EXAMPLE), "--rules", str(tmp_path / "rules"))
    assert done.returncode == 2 and b"ruleset.yaml" in done.stderr and b"Traceback" not in done.stderr


def test_good_records_are_still_evaluated_when_others_are_bad(tmp_path: Path) -> None:
    import yaml

    visit = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(visit) + "\n{broken\n" + json.dumps(visit) + "\n", encoding="utf-8")
    done = run("evaluate", str(path), "--format", "jsonl")
    assert done.returncode == 2
    assert len(done.stdout.splitlines()) == 2
    assert b"mixed.jsonl:2" in done.stderr


def test_checks_lists_rules_and_where_they_came_from() -> None:
    done = run("checks", "--format", "json")
    assert done.returncode == 0
    rows = json.loads(done.stdout)
    ids = {f"{r['check']}.{r['rule']}" for r in rows}
    assert {"working_hours.absent_unexcused", "one_stop.one_stop_missing", "altar_ban.incense_in_office"} <= ids
    source = next(r["source"] for r in rows if r["check"] == "working_hours")
    assert "compliance_checks.working_hours" in source and "compliance" in source
    alcohol = [r for r in rows if r["rule"] == "alcohol_during_work"][0]
    assert [v["effective_from"] for v in alcohol["versions"]] == ["2007-09-01", "2016-09-05", "2020-01-01", "2020-11-15"]


@pytest.mark.parametrize(
    "command",
    [["evaluate", "--format", "jsonl"], ["evaluate", "--format", "json"], ["evaluate", "--format", "markdown"], ["evaluate"], ["explain"]],
)
def test_a_reader_that_goes_away_is_exit_141_not_success(tmp_path: Path, command: list[str]) -> None:
    """`compliance evaluate ... | head` must not read as "evaluated, nothing at --fail-on",
    whether it prints lines or rich tables (rich would exit 1 on its own)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _generated import generated_visits

    visits = tmp_path / "visits.jsonl"
    visits.write_text("".join(json.dumps(v) + "\n" for v in generated_visits(400, seed=3)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance", command[0], str(visits), *command[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_the_vietnamese_header_names_the_unit_level_in_vietnamese(fmt: str) -> None:
    runner = CliRunner()
    vi = runner.invoke(main, ["evaluate", str(EXAMPLE), "--lang", "vi", "--format", fmt], env={"COLUMNS": "120"})
    assert vi.exit_code == 0
    assert "(UBND cấp xã)" in vi.output and "commune" not in vi.output
    en = runner.invoke(main, ["evaluate", str(EXAMPLE), "--lang", "en", "--format", fmt], env={"COLUMNS": "120"})
    assert "(commune people's committee)" in en.output


def test_checks_speaks_the_language_asked() -> None:
    vi = CliRunner().invoke(main, ["checks", "--lang", "vi"], env={"COLUMNS": "120"})
    assert vi.exit_code == 0
    assert "Các nội dung kiểm tra đã cài đặt" in vi.output and "Quy tắc" in vi.output and "cá nhân" in vi.output
    assert "official" not in vi.output


def test_an_error_is_one_line_starting_with_error_in_each_language(tmp_path: Path) -> None:
    for lang, said in (("en", "Error: nope.yaml: no such file or directory"),
                       ("vi", "Lỗi: nope.yaml: không tìm thấy tệp hoặc thư mục")):
        done = subprocess.run([sys.executable, "-m", "compliance", "evaluate", "nope.yaml", "--lang", lang],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stderr.splitlines() == [said]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command",
    [["evaluate", str(EXAMPLE), "--format", "json"], ["evaluate", str(EXAMPLE), "--format", "jsonl"],
     ["evaluate", str(EXAMPLE), "--format", "markdown"], ["evaluate", str(EXAMPLE)], ["explain", str(EXAMPLE)],
     ["explain", str(EXAMPLE), "--format", "json"], ["checks"], ["rules", "validate", "--format", "json"]],
)
def test_a_full_disk_on_stdout_is_exit_2_and_one_line(command: list[str]) -> None:
    """Not 141 ("the reader went away") with the output cut short, not 1 (a finding) with a traceback."""
    for lang, said in (("en", "Error: cannot write the output to standard output: No space left on device"),
                       ("vi", "Lỗi: không ghi được kết quả ra đầu ra chuẩn (stdout): hết chỗ trống trên đĩa (No space left on device)")):
        with open("/dev/full", "wb") as full:
            done = subprocess.run([sys.executable, "-m", "compliance", *command, "--lang", lang], stdout=full,
                                  stderr=subprocess.PIPE, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [said]


def test_a_write_cut_short_is_written_again_so_the_system_says_why() -> None:
    """A short write (a disk that just filled up) is not taken for a closed pipe."""
    import errno

    from compliance.cli.common import write_all

    class Filling:
        def __init__(self) -> None:
            self.calls = 0

        def write(self, piece: memoryview) -> int:
            self.calls += 1
            if self.calls == 1:
                return len(piece) // 2
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as raised:
        write_all(Filling(), b"x" * 1000)
    assert raised.value.errno == errno.ENOSPC and not isinstance(raised.value, BrokenPipeError)


def test_jsonl_goes_out_as_each_visit_is_evaluated(tmp_path: Path) -> None:
    """JSONL output is streamed as `batch` writes it: the first result is out before the next
    visit is even read, so memory does not grow with the input (table and JSON keep theirs)."""
    import os
    import select

    visit = json.dumps(yaml_visit()) + "\n"
    fifo = tmp_path / "visits.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "compliance", "evaluate", str(fifo), "--format", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        with open(fifo, "w") as feed:
            feed.write(visit)
            feed.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, "no result before the input ended"
            first = proc.stdout.readline()
            assert json.loads(first)["visit_id"] == "VP-2018-0412"
            feed.write(visit)
        rest = proc.stdout.read()
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.wait(timeout=120) == 0 and len(rest.splitlines()) == 1


def yaml_visit() -> dict[str, object]:
    import yaml

    data: dict[str, object] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data
