"""`compliance batch` on real-world input: broken records in every format, corrupt files,
an unwritable output directory, what is printed, and the Parquet output.

Every input record ends up in exactly one of results.jsonl or errors.jsonl; a bad record is
reported where it stands (file, line or record number, visit id when known) with a message
naming the field, in Vietnamese and English, while the rest of the batch goes on.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import pickle
import pty
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _batch_support import (
    cli_env,
    command,
    generated_visits,
    manifest,
    read_jsonl,
    run_batch,
    tally,
    write_jsonl,
)

from compliance.cli import main
from compliance import Engine
from compliance.errors import InputError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ENGINE = Engine.load()


def _visit(vid: str, when: str, unit: str = "vp.commune.t01", absent: bool = False) -> dict[str, Any]:
    return {
        "visit_id": vid,
        "inspected_at": when,
        "unit": {"id": unit, "name": "UBND xã Thử", "level": "commune", "province": "Vĩnh Phúc"},
        "personnel": [
            {"id": f"{unit}-A", "category": "civil_servant", "position": "Chuyên viên",
             "attendance": "absent" if absent else "present"},
            {"id": f"{unit}-B", "category": "civil_servant", "position": "Chuyên viên", "attendance": "present"},
        ],
    }


@pytest.fixture(scope="module")
def pool() -> list[dict[str, Any]]:
    return list(generated_visits(60, seed=11))


# --------------------------------------------------------------------------------------------
# 1. Broken records in every input format
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, pool: list[dict[str, Any]]) -> dict[str, Any]:
    """Five inputs, one of each format, with broken records at known places; run once."""
    d = tmp_path_factory.mktemp("mixed")
    v = iter(copy.deepcopy(pool))
    good: list[str] = []

    def ok() -> dict[str, Any]:
        item = next(v)
        good.append(item["visit_id"])
        return item

    misspelt = next(v)
    misspelt["personnel"][0]["attendence"] = misspelt["personnel"][0].pop("attendance")
    bad_date = next(v)
    bad_date["inspected_at"] = "2018-02-30T08:00:00+07:00"
    no_unit_id = next(v)
    del no_unit_id["unit"]["id"]
    jsonl_lines = [
        orjson.dumps(ok()),                      # 1
        orjson.dumps(next(v))[:180],             # 2 truncated JSON
        orjson.dumps(ok()),                      # 3
        orjson.dumps(misspelt),                  # 4 unknown field 'attendence'
        b"",                                     # 5 empty line: not a record
        orjson.dumps(ok()),                      # 6
        orjson.dumps(bad_date),                  # 7 30 February
        b"\xff\xfe\x00\x9c binary \x80\x81garbage",  # 8 not UTF-8
        orjson.dumps(ok()),                      # 9
        orjson.dumps(no_unit_id),                # 10 unit without an id
    ]
    (d / "a.jsonl").write_bytes(b"\n".join(jsonl_lines) + b"\n")

    (d / "b.json").write_bytes(orjson.dumps([ok(), 42, ok()]))  # record 2 is not an object

    yaml_docs = [yaml.safe_dump(ok(), allow_unicode=True), "visit_id: Y-BROKEN\nunit: [unclosed\n",
                 yaml.safe_dump(ok(), allow_unicode=True)]
    (d / "c.yaml").write_text("---\n" + "---\n".join(yaml_docs), encoding="utf-8")

    (d / "d.jsonl.gz").write_bytes(gzip.compress(b"".join(orjson.dumps(ok()) + b"\n" for _ in range(6))))

    rows = [ok() for _ in range(10)]
    bad_row = rows[3]
    good.remove(bad_row["visit_id"])
    bad_row["inspected_at"] = "not a date"  # record 4 of the Parquet file
    pq.write_table(pa.Table.from_pylist(rows), d / "e.parquet")

    inputs = ["a.jsonl", "b.json", "c.yaml", "d.jsonl.gz", "e.parquet"]
    done = run_batch(*inputs, "--out", "out", "--workers", "2", cwd=d)
    return {
        "dir": d, "out": d / "out", "proc": done, "good": good, "inputs": inputs,
        "misspelt": misspelt["visit_id"], "bad_date": bad_date["visit_id"],
        "no_unit_id": no_unit_id["visit_id"], "bad_row": bad_row["visit_id"],
    }


def test_broken_records_are_reported_where_they_stand_and_the_rest_is_evaluated(mixed: dict[str, Any]) -> None:
    proc = mixed["proc"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = mixed["out"]
    errors = read_jsonl(out / "errors.jsonl")
    by_place = {(e["source"], _rank(e)): e for e in errors}

    # (source, line or record) -> (visit_id, words both the English and the Vietnamese message must hold)
    expected = {
        ("a.jsonl", 2): (None, ["JSON"], ["JSON"]),
        ("a.jsonl", 4): (mixed["misspelt"], ["attendence", "unknown field"], ["attendence", "không hợp lệ"]),
        ("a.jsonl", 7): (mixed["bad_date"], ["inspected_at", "2018-02-30"], ["inspected_at", "2018-02-30"]),
        ("a.jsonl", 8): (None, ["UTF-8"], ["UTF-8"]),
        ("a.jsonl", 10): (mixed["no_unit_id"], ["unit.id", "missing"], ["unit.id", "thiếu"]),
        ("b.json", 2): (None, ["object"], ["đối tượng"]),
        ("e.parquet", 4): (mixed["bad_row"], ["inspected_at", "not a date"], ["inspected_at", "not a date"]),
    }
    yaml_errors = [e for e in errors if e["source"] == "c.yaml"]
    assert len(yaml_errors) == 1, yaml_errors
    assert set(by_place) - {(e["source"], _rank(e)) for e in yaml_errors} == set(expected)
    for place, (vid, en_words, vi_words) in expected.items():
        entry = by_place[place]
        assert entry["visit_id"] == vid, place
        for word in en_words:
            assert word in entry["message"]["en"], (place, entry["message"])
        for word in vi_words:
            assert word in entry["message"]["vi"], (place, entry["message"])
        assert entry["problems"] and all(p["message"]["vi"] and p["message"]["en"] for p in entry["problems"])
    # A JSON array written on one line: record 2 is on line 1, where its text starts; a
    # Parquet row has no line, only its record number.
    first_item = orjson.loads((mixed["dir"] / "b.json").read_bytes())[0]
    assert {k: by_place[("b.json", 2)][k] for k in ("line", "column", "record", "unit")} == {
        "line": 1, "column": len(orjson.dumps(first_item).decode()) + 3, "record": 2, "unit": "line"}
    assert {k: by_place[("e.parquet", 4)][k] for k in ("line", "column", "record", "unit")} == {
        "line": None, "column": None, "record": 4, "unit": "record"}
    assert "e.parquet: record 4: inspected_at" in by_place[("e.parquet", 4)]["message"]["en"]
    assert "e.parquet: bản ghi 4: inspected_at" in by_place[("e.parquet", 4)]["message"]["vi"]
    assert {k: by_place[("a.jsonl", 4)][k] for k in ("line", "column", "record", "unit")} == {
        "line": 4, "column": None, "record": None, "unit": "line"}
    yaml_error = yaml_errors[0]
    assert yaml_error["visit_id"] is None
    assert "YAML" in yaml_error["message"]["en"] and "YAML" in yaml_error["message"]["vi"]

    results = read_jsonl(out / "results.jsonl")
    assert sorted(r["visit_id"] for r in results) == sorted(mixed["good"])

    # The tally, the manifest and the summary tell the same counts.
    counts = tally(proc.stdout)
    m = manifest(out)
    assert m["complete"] is True
    assert m["counts"] == {"records": len(results) + len(errors), "results": len(results), "errors": len(errors)}
    assert {k: counts[k] for k in ("records", "results", "errors")} == m["counts"]
    assert {i["path"]: i["records"] for i in m["inputs"]} == {
        "a.jsonl": 9, "b.json": 3, "c.yaml": 3, "d.jsonl.gz": 6, "e.parquet": 10,
    }
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["visits"] == len(results) and summary["errors"] == len(errors)
    assert not (out / ".work").exists()


def _rank(entry: dict[str, Any]) -> int:
    """An errors.jsonl entry's place in its file: its record number where the file has
    records (a JSON array, Parquet), else its line."""
    return int(entry["record"] if entry["record"] is not None else entry["line"])


def test_errors_are_listed_in_input_order(mixed: dict[str, Any]) -> None:
    errors = read_jsonl(mixed["out"] / "errors.jsonl")
    order = [(mixed["inputs"].index(e["source"]), _rank(e)) for e in errors]
    assert order == sorted(order)


def test_broken_yaml_document_is_reported_at_one_of_its_own_lines(mixed: dict[str, Any]) -> None:
    lines = (mixed["dir"] / "c.yaml").read_text(encoding="utf-8").splitlines()
    first = lines.index("visit_id: Y-BROKEN") + 1
    (entry,) = [e for e in read_jsonl(mixed["out"] / "errors.jsonl") if e["source"] == "c.yaml"]
    assert first - 1 <= entry["line"] <= first + 1


def _doc(vid: str, unit: str) -> str:
    return f"visit_id: {vid}\ninspected_at: '2018-06-12T08:00:00+07:00'\nunit: {{id: {unit}, level: commune}}\n"


# (YAML text, the (visit id, line) of each record, in order). An empty document (a `---` with
# nothing but comments and blank lines after it) is no record, as a blank JSONL line is none.
EMPTY_YAML_DOCUMENTS = [
    (_doc("E-1", "u1") + "---\n", [("E-1", 1)]),
    ("---\n" + _doc("E-1", "u1") + "---\n\n", [("E-1", 2)]),
    ("\ufeff---\n---\n# c\n---\n" + _doc("E-1", "u1"), [("E-1", 5)]),
    (_doc("E-1", "u1") + "---\n# only a comment\n--- # and here\n\n---\n" + _doc("E-2", "u2") + "...\n---\n",
     [("E-1", 1), ("E-2", 9)]),
    ("--- {visit_id: E-1, inspected_at: '2018-06-12T08:00:00+07:00', unit: {id: u1, level: commune}}\n---\n",
     [("E-1", 1)]),
    ("---\n---\n# c\n---\n", []),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    EMPTY_YAML_DOCUMENTS,
    ids=["trailing-marker", "leading-marker", "bom-and-markers-first", "between-and-after", "on-marker-line", "markers-only"],
)
def test_empty_yaml_documents_are_skipped_and_lines_stay_right(
    tmp_path: Path, text: str, expected: list[tuple[str, int]]
) -> None:
    from compliance.io import read_path

    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    if not expected:
        with pytest.raises(InputError) as caught:
            list(read_path(path))
        assert [p.code for p in caught.value.problems] == ["empty_input"]  # as a comment-only file
        return
    records = list(read_path(path))
    assert [r.problem for r in records] == [None] * len(records)
    assert [(ENGINE.parse_record(r).visit_id, r.line) for r in records] == expected


def test_a_null_yaml_document_is_still_a_bad_record(tmp_path: Path) -> None:
    """Only an empty document is skipped: one that says null is a record, and an error."""
    (tmp_path / "in.yaml").write_text(_doc("E-1", "u1") + "--- ~\n", encoding="utf-8")
    proc = run_batch("in.yaml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (error,) = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert (error["line"], error["problems"][0]["code"]) == (4, "not_a_mapping")


def test_empty_yaml_documents_are_no_records_in_batch_and_evaluate(tmp_path: Path) -> None:
    text, expected = EMPTY_YAML_DOCUMENTS[3]
    (tmp_path / "in.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "markers.yaml").write_text(EMPTY_YAML_DOCUMENTS[-1][0], encoding="utf-8")
    proc = run_batch("in.yaml", "markers.yaml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tally(proc.stdout)["records"], tally(proc.stdout)["errors"]) == (2, 0)
    assert read_jsonl(tmp_path / "out" / "errors.jsonl") == []
    assert sorted(r["visit_id"] for r in read_jsonl(tmp_path / "out" / "results.jsonl")) == ["E-1", "E-2"]
    done = CliRunner().invoke(main, ["evaluate", str(tmp_path / "in.yaml"), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [r["visit_id"] for r in orjson.loads(done.stdout)] == [vid for vid, _ in expected]


# --------------------------------------------------------------------------------------------
# 2. Corrupt compressed input
# --------------------------------------------------------------------------------------------


def test_truncated_gzip_evaluates_what_was_read_and_reports_the_break_once(
    tmp_path: Path, pool: list[dict[str, Any]]
) -> None:
    visits = pool[:40]
    packed = gzip.compress(b"".join(orjson.dumps(v) + b"\n" for v in visits))
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) * 6 // 10])
    write_jsonl(tmp_path / "other.jsonl", pool[40:45])

    proc = run_batch("cut.jsonl.gz", "other.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    results = read_jsonl(out / "results.jsonl")
    errors = read_jsonl(out / "errors.jsonl")
    (broken,) = errors
    assert broken["source"] == "cut.jsonl.gz" and broken["visit_id"] is None
    assert "cut.jsonl.gz" in broken["message"]["en"] and "cut.jsonl.gz" in broken["message"]["vi"]
    read_ids = [r["visit_id"] for r in results if r["visit_id"] in {v["visit_id"] for v in visits}]
    # What was read before the break is a prefix of the file, all of it evaluated.
    assert 0 < len(read_ids) < len(visits)
    assert sorted(read_ids) == sorted(v["visit_id"] for v in visits[: len(read_ids)])
    assert broken["line"] == len(read_ids) + 1
    # The other input is untouched by the break.
    assert {v["visit_id"] for v in pool[40:45]} <= {r["visit_id"] for r in results}
    counts = tally(proc.stdout)
    assert counts["records"] == len(read_ids) + 1 + 5 == counts["results"] + counts["errors"]
    assert manifest(out)["complete"] is True


def test_gzip_with_corrupt_deflate_data_is_one_error_not_a_crash(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    packed = bytearray(gzip.compress(b"".join(orjson.dumps(v) + b"\n" for v in pool[:20])))
    packed[20:28] = b"\xff" * 8  # inside the first deflate block: zlib.error, not EOFError
    (tmp_path / "bad.jsonl.gz").write_bytes(bytes(packed))
    write_jsonl(tmp_path / "good.jsonl", pool[20:23])
    proc = run_batch("bad.jsonl.gz", "good.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert [(e["source"], e["line"]) for e in errors] == [("bad.jsonl.gz", 1)]
    assert len(read_jsonl(tmp_path / "out" / "results.jsonl")) == 3


# --------------------------------------------------------------------------------------------
# Records that used to bring the whole batch down
# --------------------------------------------------------------------------------------------


def test_control_characters_in_the_time_are_one_bad_record(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", [
        _visit("NL-1", "2018-06-12\n08:00"),
        _visit("NL-2", "2018-06-12T08:00:00+07:00\t"),
        _visit("NL-3", "2018-06-13T08:00:00+07:00"),
    ])
    proc = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert [(e["line"], e["visit_id"]) for e in errors] == [(1, "NL-1"), (2, "NL-2")]
    assert all("inspected_at" in e["message"]["en"] for e in errors)
    assert [r["visit_id"] for r in read_jsonl(tmp_path / "out" / "results.jsonl")] == ["NL-3"]


def test_a_key_given_twice_is_a_bad_record_in_every_json_layout(tmp_path: Path) -> None:
    """JSON parsers keep a repeated key's last value: `"smoking": true, "smoking": null` would
    drop an observation. Such a record is an error naming the key, in JSONL, in an array and
    as a lone document; the records around it, and text holding escaped `\\":`, are evaluated."""
    twice = orjson.dumps(_visit("DK-LINE", "2018-06-12T08:00:00+07:00", unit="u-2", absent=True)).replace(
        b'"attendance":"absent"', b'"attendance":"absent","attendance":null')
    quoted = _visit("DK-QUOTED", "2018-06-12T08:00:00+07:00", unit="u-3")
    quoted["unit"]["name"] = 'UBND xã "Thử": "A":"B"'
    lines = [orjson.dumps(_visit("DK-1", "2018-06-12T08:00:00+07:00", unit="u-1")), twice, orjson.dumps(quoted)]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    nested = orjson.dumps(_visit("DK-ARRAY", "2018-06-12T08:00:00+07:00", unit="u-4")).replace(
        b'"level":"commune"', b'"level":"commune","level":"district"')
    (tmp_path / "in.json").write_bytes(b"[" + orjson.dumps(_visit("DK-2", "2018-06-12T08:00:00+07:00", unit="u-5")) + b",\n" + nested + b"]")
    (tmp_path / "one.json").write_bytes(orjson.dumps(_visit("DK-ONE", "2018-06-12T08:00:00+07:00", unit="u-6"), option=orjson.OPT_INDENT_2).replace(
        b'"visit_id": "DK-ONE",', b'"visit_id": "DK-ONE",\n  "visit_id": "DK-OTHER",'))
    proc = run_batch("in.jsonl", "in.json", "one.json", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert [(e["source"], e["line"]) for e in errors] == [("in.jsonl", 2), ("in.json", 2), ("one.json", 1)]
    assert [p["code"] for e in errors for p in e["problems"]] == ["json_duplicate_key"] * 3
    assert "'attendance' appears twice" in errors[0]["message"]["en"]
    assert "'level'" in errors[1]["message"]["vi"] and "'visit_id'" in errors[2]["message"]["en"]
    results = read_jsonl(tmp_path / "out" / "results.jsonl")
    assert sorted(r["visit_id"] for r in results) == ["DK-1", "DK-2", "DK-QUOTED"]


def test_a_unix_timestamp_is_a_bad_record_naming_inspected_at(tmp_path: Path) -> None:
    """The contract's times are ISO 8601 with an offset; a bare number is refused, by name,
    and the other visits of the unit keep their history."""
    number = _visit("TS-NUMBER", "x", absent=True)
    number["inspected_at"] = 1528857000
    earlier = _visit("TS-EARLIER", "2018-03-06T09:30:00+07:00", absent=True)
    later = _visit("TS-LATER", "2018-06-13T02:30:00+00:00", absent=True)  # 09:30 in Vietnam
    write_jsonl(tmp_path / "in.jsonl", [later, number, earlier])
    proc = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (error,) = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert error["visit_id"] == "TS-NUMBER" and "inspected_at" in error["message"]["en"]
    results = read_jsonl(tmp_path / "out" / "results.jsonl")
    assert [r["visit_id"] for r in results] == ["TS-EARLIER", "TS-LATER"]
    (absent,) = [f for f in results[1]["findings"] if f["rule"] == "absent_unexcused"]
    assert absent["repeat_of"] == ["TS-EARLIER"]


def test_yaml_values_json_cannot_carry_are_bad_records(tmp_path: Path) -> None:
    (tmp_path / "in.yaml").write_text(
        "visit_id: Y-KEY\ninspected_at: '2018-06-12T08:00:00+07:00'\nunit: {id: u1, level: commune}\n"
        "personnel:\n  - id: a\n    1: b\n"
        "---\n"
        'visit_id: Y-SURROGATE\ninspected_at: "2018-06-12T08:00:00+07:00"\nunit: {id: "u\\ud800", level: commune}\n'
        "---\n"
        "visit_id: Y-BIG\ninspected_at: '2018-06-12T08:00:00+07:00'\n"
        "unit: {id: u3, level: commune, headcount: 100000000000000000000000}\n"
        "---\n"
        "visit_id: Y-OK\ninspected_at: '2018-06-12T08:00:00+07:00'\nunit: {id: u4, level: commune}\n",
        encoding="utf-8",
    )
    proc = run_batch("in.yaml", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    errors = {e["visit_id"]: e for e in read_jsonl(tmp_path / "out" / "errors.jsonl")}
    assert set(errors) == {"Y-KEY", "Y-SURROGATE", "Y-BIG"}
    assert "personnel[0].1" in errors["Y-KEY"]["message"]["en"]
    assert "unit.id" in errors["Y-SURROGATE"]["message"]["en"]
    assert "unit.headcount" in errors["Y-BIG"]["message"]["en"]
    assert [r["visit_id"] for r in read_jsonl(tmp_path / "out" / "results.jsonl")] == ["Y-OK"]


def test_a_failing_check_stops_the_batch_with_a_located_message_that_survives_a_process_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin that raises is not a bad record: the run stops (exit 2) naming the plugin and
    the record. The error crosses from a worker process (or a Dask worker) by pickling."""
    from compliance.batch import runner
    from compliance.engine import Engine
    from compliance.errors import ComplianceError, PluginError, Problem

    def broken(self: Engine, visit: Any, **kwargs: Any) -> Any:
        raise PluginError([Problem("plugin_failed", {"plugin": "p", "check": "c", "detail": "boom"})])

    monkeypatch.setattr(Engine, "evaluate_data", broken)
    write_jsonl(tmp_path / "in.jsonl", [_visit("P-1", "2018-06-12T08:00:00+07:00")])
    with pytest.raises(ComplianceError) as caught:
        runner.run([str(tmp_path / "in.jsonl")], tmp_path / "out", runner.Options(workers=1))
    again = pickle.loads(pickle.dumps(caught.value))
    for error in (caught.value, again):
        assert "raised during evaluation: boom" in error.render("en")
        assert error.problems[0].file == str(tmp_path / "in.jsonl") and error.problems[0].line == 1


# --------------------------------------------------------------------------------------------
# 6. An output directory that cannot be written
# --------------------------------------------------------------------------------------------


def test_unwritable_output_directory_exits_2_with_a_message(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", pool[:3])
    (tmp_path / "plain.txt").write_text("a regular file, not a directory")
    # Under a regular file nothing can be created, not even by root.
    proc = run_batch("in.jsonl", "--out", "plain.txt/out", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "cannot write to the output directory plain.txt/out" in proc.stderr
    assert proc.stdout == ""
    proc = run_batch("in.jsonl", "--out", "plain.txt/out", "--lang", "vi", cwd=tmp_path)
    assert proc.returncode == 2 and "không ghi được vào thư mục kết quả" in proc.stderr
    # --out naming the file itself.
    proc = run_batch("in.jsonl", "--out", "plain.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "plain.txt" in proc.stderr


def test_missing_input_exits_2_with_a_message(tmp_path: Path) -> None:
    proc = run_batch("nowhere.jsonl", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nowhere.jsonl" in proc.stderr and "Traceback" not in proc.stderr


def test_a_directory_given_as_input_is_said_to_be_one(tmp_path: Path) -> None:
    (tmp_path / "visits").mkdir()
    proc = run_batch("visits", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "visits: cannot read file: is a directory" in proc.stderr and "no such file" not in proc.stderr
    proc = run_batch("visits", "--out", "out", "--lang", "vi", cwd=tmp_path)
    assert proc.returncode == 2 and "đây là thư mục" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing left to refuse the next run with


def _unused_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("kind", ["unanswered", "malformed"])
def test_an_unreachable_scheduler_is_one_line_naming_it_and_leaves_nothing_behind(
    tmp_path: Path, pool: list[dict[str, Any]], kind: str
) -> None:
    pytest.importorskip("dask.distributed")
    write_jsonl(tmp_path / "in.jsonl", pool[:3])
    address, said = {
        "unanswered": (f"tcp://127.0.0.1:{_unused_loopback_port()}", ("no answer within 1 s", "không có trả lời sau 1 giây")),
        "malformed": ("notanaddress", ("not an address like tcp://HOST:PORT", "không phải địa chỉ dạng tcp://MÁY:CỔNG")),
    }[kind]
    for lang, words in zip(("en", "vi"), said):
        proc = run_batch("in.jsonl", "--out", "out", "--engine", "dask", "--scheduler", address, "--lang", lang,
                         cwd=tmp_path, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
        assert proc.returncode == 2 and proc.stdout == ""
        assert "Traceback" not in proc.stderr and "output directory" not in proc.stderr
        assert address in proc.stderr and words in proc.stderr
        assert not (tmp_path / "out").exists()
    plain = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr


def test_a_scheduler_with_the_local_engine_is_a_usage_error(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", pool[:3])
    proc = run_batch("in.jsonl", "--out", "out", "--engine", "local", "--scheduler", "tcp://127.0.0.1:8786", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--scheduler needs --engine dask" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_outputs_not_written_by_a_batch_are_not_overwritten(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    """A results.jsonl with no manifest and no unfinished run beside it is someone else's."""
    write_jsonl(tmp_path / "in.jsonl", pool[:3])
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"junk":1}\n')
    (out / "notes.txt").write_text("hi\n")
    for flag in ((), ("--resume",)):
        proc = run_batch("in.jsonl", "--out", "out", *flag, cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "out already holds results.jsonl" in proc.stderr and "--overwrite" in proc.stderr
        assert (out / "results.jsonl").read_text() == '{"junk":1}\n'
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.jsonl"]
    proc = run_batch("in.jsonl", "--out", "out", "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # Only what this run wrote: not the user's notes.
    assert manifest(out)["outputs"] == ["errors.jsonl", "results.jsonl", "summary.json", "manifest.json"]
    assert (out / "notes.txt").read_text() == "hi\n"


# --------------------------------------------------------------------------------------------
# 7. What is printed
# --------------------------------------------------------------------------------------------


def test_without_a_terminal_only_the_tally_is_printed(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", pool[:10])
    proc = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0
    assert tally(proc.stdout) == {"records": 10, "results": 10, "errors": 0, "partitions": 8, "out": "out"}
    assert proc.stderr == ""


def _run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (where a progress bar may be drawn)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command(*args), cwd=cwd, env=cli_env(COLUMNS="100", TERM="xterm-256color"), stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_progress_goes_to_the_terminal_and_quiet_silences_it(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", pool[:10])
    code, stdout, terminal = _run_on_terminal(["in.jsonl", "--out", "loud", "--workers", "1"], tmp_path)
    assert code == 0
    assert tally(stdout)["records"] == 10  # stdout stays the tally, fit for scripts
    assert "Evaluating" in terminal
    code, stdout, terminal = _run_on_terminal(["in.jsonl", "--out", "quiet", "--workers", "1", "--quiet"], tmp_path)
    assert code == 0
    assert tally(stdout)["records"] == 10
    assert terminal.strip() == ""


# --------------------------------------------------------------------------------------------
# 8. Parquet output
# --------------------------------------------------------------------------------------------


def test_parquet_output_has_one_flat_row_per_finding(tmp_path: Path) -> None:
    from _batch_support import pooled_visits

    visits = pooled_visits(120, seed=5, units=15)
    write_jsonl(tmp_path / "in.jsonl", visits)
    proc = run_batch("in.jsonl", "--out", "out", "--parquet", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    results = read_jsonl(out / "results.jsonl")
    table = pq.read_table(out / "findings.parquet")
    findings = [(r, f) for r in results for f in r["findings"]]
    assert len(findings) > 100
    assert table.num_rows == len(findings)
    for column in table.schema:
        assert not pa.types.is_nested(column.type), column
    rows = table.to_pylist()
    # Rows come partition by partition (not in results.jsonl's order): match them by key.
    by_key = {(row["visit_id"], row["check"], row["rule"], row["subject_id"]): row for row in rows}
    assert len(by_key) == len(rows)
    assert set(by_key) == {(r["visit_id"], f["check"], f["rule"], f["subject"]["id"]) for r, f in findings}
    for r, f in findings:
        row = by_key[(r["visit_id"], f["check"], f["rule"], f["subject"]["id"])]
        assert (str(row["visit_date"]), row["unit_id"], row["grade"]) == (r["visit_date"], r["unit_id"], r["grade"]["code"])
        assert (row["severity"], row["subject_type"]) == (f["severity"], f["subject"]["type"])
        assert (row["message_vi"], row["message_en"]) == (f["message"]["vi"], f["message"]["en"])
        assert row["repeat_count"] == len(f["repeat_of"])
        assert row["sanctions"] == ",".join(s["code"] for s in f["sanctions"])
    assert sum(row["repeat_count"] > 0 for row in rows) > 0  # the history reached the Parquet too
    assert "findings.parquet" in manifest(out)["outputs"]


# --------------------------------------------------------------------------------------------
# Any corruption of any input format: every record read is accounted for, the batch goes on
# --------------------------------------------------------------------------------------------

_FORMATS = ("jsonl", "jsonl.gz", "json", "yaml", "parquet")


def _encode(fmt: str, visits: list[dict[str, Any]]) -> bytes:
    import io

    if fmt == "jsonl":
        return b"".join(orjson.dumps(v) + b"\n" for v in visits)
    if fmt == "jsonl.gz":
        return gzip.compress(_encode("jsonl", visits), mtime=0)
    if fmt == "json":
        return orjson.dumps(visits, option=orjson.OPT_INDENT_2)
    if fmt == "yaml":
        return "".join("---\n" + yaml.safe_dump(v, allow_unicode=True) for v in visits).encode()
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(visits), buffer, row_group_size=2)
    return buffer.getvalue()


def test_any_corruption_of_any_format_leaves_every_record_accounted_for(
    tmp_path_factory: pytest.TempPathFactory, pool: list[dict[str, Any]]
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from compliance.batch import runner

    visits = pool[:5]
    sane = write_jsonl(tmp_path_factory.mktemp("sane") / "sane.jsonl", pool[5:7])
    encoded = {fmt: _encode(fmt, visits) for fmt in _FORMATS}

    @settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(
        fmt=st.sampled_from(_FORMATS),
        where=st.floats(min_value=0.0, max_value=0.999),
        how=st.sampled_from(["truncate", "overwrite", "insert"]),
        junk=st.binary(min_size=1, max_size=12),
    )
    def check(fmt: str, where: float, how: str, junk: bytes) -> None:
        data = encoded[fmt]
        at = int(len(data) * where)
        if how == "truncate":
            data = data[:at]
        elif how == "overwrite":
            data = data[:at] + junk + data[at + len(junk):]
        else:
            data = data[:at] + junk + data[at:]
        d = tmp_path_factory.mktemp("fuzz")
        bad = d / f"in.{fmt}"
        bad.write_bytes(data)
        outcome = runner.run([str(bad), str(sane)], d / "out", runner.Options(workers=1, partitions=2))
        assert outcome.complete
        results = read_jsonl(d / "out" / "results.jsonl")
        errors = read_jsonl(d / "out" / "errors.jsonl")
        assert len(results) + len(errors) == outcome.records
        assert {e["source"] for e in errors} <= {str(bad)}
        assert {v["visit_id"] for v in pool[5:7]} <= {r["visit_id"] for r in results}
        for e in errors:
            assert e["message"]["en"] and e["message"]["vi"]

    check()


def test_pass_2_reads_every_record_from_the_partition_files_alone(tmp_path: Path) -> None:
    """Pass 1 copies each record into its partition file, which pass 2 reads from a memory map:
    no system call per record, and nothing read from the inputs again (here they are gone)."""
    from compliance.batch import partition
    from compliance.batch.evaluate import PartitionTask, run_partition

    visits = list(generated_visits(200, seed=11))
    write_jsonl(tmp_path / "in.jsonl", visits)
    with gzip.open(tmp_path / "in.jsonl.gz", "wb") as handle:
        handle.write((tmp_path / "in.jsonl").read_bytes())
    size = (tmp_path / "in.jsonl").stat().st_size
    for name in ("in.jsonl", "in.jsonl.gz"):
        path = tmp_path / name
        work = tmp_path / f"work-{name}"
        info = partition.InputFile(0, str(path), path.stat().st_size, 0, "")
        (task,) = partition.plan_reads([info], work / "partitions", partition.unit_bounds([info], 4), 1)
        assert task.partitions == 4
        counts = partition.read_into_partitions(task)
        assert counts.records == {0: 200} and counts.errors == 0
        assert sum(task.part_path(p).stat().st_size for p in range(4)) > size
        path.rename(tmp_path / f"moved-{name}")
        (work / "parts").mkdir()
        done = [
            run_partition(PartitionTask(p, (str(task.part_path(p)),), str(work / "parts"), None, (name,)))
            for p in range(4)
        ]
        assert sum(d["counts"]["results"] for d in done) == 200


def test_a_utf16_jsonl_file_is_not_cut_into_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read whole, a UTF-16 file is one error; cut into pieces it would give one per line of
    every piece but the first, and the errors would depend on the number of workers."""
    from compliance.batch import partition

    monkeypatch.setattr(partition, "MIN_PIECE_BYTES", 4096)

    text = "\n".join(orjson.dumps(v).decode() for v in generated_visits(50, seed=3)) + "\n"
    (tmp_path / "wide.jsonl").write_bytes(text.encode("utf-16"))
    (tmp_path / "plain.jsonl").write_bytes(text.encode("utf-8"))
    infos = [
        partition.InputFile(i, str(tmp_path / name), (tmp_path / name).stat().st_size, 0, "")
        for i, name in enumerate(("wide.jsonl", "plain.jsonl"))
    ]
    tasks = partition.plan_reads(infos, tmp_path / "parts", partition.unit_bounds(infos, 4), 4)
    segments = [s for t in tasks for s in t.segments]
    assert [s.span for s in segments if s.source_index == 0] == [None]
    assert len([s for s in segments if s.source_index == 1 and s.span]) == 4
    counts = [partition.read_into_partitions(t) for t in tasks]
    assert sum(c.records.get(0, 0) for c in counts) == 1 and sum(c.errors for c in counts) == 1


def test_the_pool_shows_what_running_tasks_have_read() -> None:
    """Pass 1 tasks run for minutes on large inputs: their counts reach the progress bar while
    they run, not only when they finish."""
    from _batch_support import report_then_wait

    from compliance.batch import executors

    seen: list[tuple[int, int]] = []
    with executors.local(2) as pool:
        finished = []
        for slot in pool.map(report_then_wait, [(0, 300), (1, 500)], lambda: seen.append(pool.progress())):
            finished.append(slot)
            if len(finished) == 1:
                assert (800, 2) in seen, seen
    assert sorted(finished) == [0, 1]


@pytest.mark.parametrize("name", ["arr.json", "arr.json.gz"])
def test_a_problem_in_a_json_array_is_placed_at_the_line_and_column_of_the_bad_value(tmp_path: Path, name: str) -> None:
    """Not at the record's number, which reads as a line: at the value itself, in the message
    and errors.jsonl alike, whether pass 2 reads the record from the file or from a copy."""
    good = _visit("A-1", "2018-06-12T08:00:00+07:00")
    bad = _visit("A-2", "2018-06-13T08:00:00+07:00")
    bad["unit"]["level"] = "comune"
    text = json.dumps([good, bad], indent=2, ensure_ascii=False).encode()
    lines = text.decode().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if '"comune"' in t)
    column = lines[line - 1].index('"comune"') + 1
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    done = run_batch(name, "--out", "out", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (entry,) = read_jsonl(tmp_path / "out" / "errors.jsonl")
    (problem,) = entry["problems"]
    assert (problem["line"], problem["column"], problem["record"], problem["path"]) == (line, column, 2, "unit.level")
    assert entry["message"]["en"].startswith(f"{name}:{line}:{column}: unit.level: ")
    assert entry["message"]["vi"].startswith(f"{name}:{line}:{column}: unit.level: ")
    assert (entry["line"], entry["record"]) == (lines.index("  {", 2) + 1, 2)
    evaluated = subprocess.run([sys.executable, "-m", "compliance", "evaluate", name], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 2 and f"{name}:{line}:{column}: unit.level: " in evaluated.stderr


# --------------------------------------------------------------------------------------------
# Exit codes and missing extras
# --------------------------------------------------------------------------------------------


def test_refused_records_exit_0_unless_fail_on_errors_asks_for_3(tmp_path: Path, pool: list[dict[str, Any]]) -> None:
    write_jsonl(tmp_path / "in.jsonl", [pool[0], {"visit_id": "broken"}, pool[1]])
    default = run_batch("in.jsonl", "--out", "a", "--workers", "1", cwd=tmp_path)
    assert default.returncode == 0 and tally(default.stdout)["errors"] == 1
    strict = run_batch("in.jsonl", "--out", "b", "--workers", "1", "--fail-on-errors", cwd=tmp_path)
    assert strict.returncode == 3 and tally(strict.stdout)["errors"] == 1 and manifest(tmp_path / "b")["complete"]
    write_jsonl(tmp_path / "good.jsonl", pool[:2])
    clean = run_batch("good.jsonl", "--out", "c", "--workers", "1", "--fail-on-errors", cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr


@pytest.mark.parametrize("content", [b"", b"\n\n", b"[]", b"# only a comment\n"])
def test_an_empty_input_says_there_is_no_visit_in_it(tmp_path: Path, pool: list[dict[str, Any]], content: bytes) -> None:
    name = "empty.yaml" if content.startswith(b"#") else ("empty.json" if content == b"[]" else "empty.jsonl")
    (tmp_path / name).write_bytes(content)
    write_jsonl(tmp_path / "good.jsonl", pool[:2])
    for lang, said in (("en", f"Warning: {name}: empty input: no visit in it"),
                       ("vi", f"Cảnh báo: {name}: dữ liệu đầu vào rỗng, không có lần kiểm tra nào")):
        done = run_batch(name, "good.jsonl", "--out", f"out-{lang}", "--workers", "1", "--lang", lang, cwd=tmp_path)
        assert done.returncode == 0 and done.stderr.splitlines() == [said]
    strict = run_batch(name, "--out", "strict", "--workers", "1", "--fail-on-errors", cwd=tmp_path)
    assert strict.returncode == 3
    evaluated = subprocess.run([sys.executable, "-m", "compliance", "evaluate", name], cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 2 and evaluated.stderr.splitlines() == [f"Error: {name}: empty input: no visit in it"]


_WITHOUT_PYARROW = "import sys; sys.modules['pyarrow'] = None; from compliance.cli import main; sys.exit(main())"


@pytest.mark.parametrize("use", ["--parquet", "a Parquet input"])
def test_a_missing_extra_is_said_before_the_run_starts(tmp_path: Path, pool: list[dict[str, Any]], use: str) -> None:
    write_jsonl(tmp_path / "in.jsonl", pool[:3])
    pq.write_table(pa.Table.from_pylist(pool[3:5]), tmp_path / "in.parquet")
    args = ["in.jsonl", "--parquet"] if use == "--parquet" else ["in.parquet"]
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PYARROW, "batch", *args, "--out", "out", "--workers", "1"],
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: ") and "needs the batch extra: pip install 'compliance[batch]' (pyarrow is missing)" in line
    assert not (tmp_path / "out").exists()  # nothing the next run would refuse
    again = run_batch("in.jsonl", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
