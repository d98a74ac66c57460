"""Text as it really arrives: Vietnamese composed (NFC), decomposed (NFD) or half-composed
("Unicode tổ hợp": precomposed vowels, combining tone marks), byte-order marks, CRLF line
endings, and files that are not UTF-8 at all.

One visit gives one result whatever the form of its text, and the result is in NFC. A file
in another encoding is refused with a clear "not UTF-8" naming the file (exit 2, never a
traceback); in a JSONL file only the bad line is refused and the others are evaluated.
Square brackets in ids and names are shown as written in the terminal output, not read as markup.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner
from _authoring_support import VISIT_2018, copy_rules, replace_nth, write_jsonl
from _authoring_support import run as run_cli

from compliance import Engine, InputError, PriorFinding, default_rules_dir, parse_visit
from compliance.cli import main
from compliance.io import read_path

ENGINE = Engine.load()
TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def composite(text: str) -> str:
    """What 'Unicode tổ hợp' keyboards type: â ơ ư precomposed, the tone mark combining."""
    out = []
    for char in nfc(text):
        parts = nfd(char)
        tones = "".join(c for c in parts if c in TONES)
        out.append(nfc("".join(c for c in parts if c not in TONES)) + tones if tones else char)
    return "".join(out)


FORMS: dict[str, Callable[[str], str]] = {"nfc": nfc, "nfd": nfd, "composite": composite}


def visit(form: Callable[[str], str] = nfc) -> dict[str, Any]:
    """A visit whose ids, names and positions are all Vietnamese, in the given form."""
    return {
        "visit_id": form("VP-Hợp-Hòa-2018-01"),
        "inspected_at": "2018-06-12T08:30:00+07:00",
        "inspectors": [form("Đoàn KTCV tỉnh")],
        "unit": {
            "id": form("vp.tam-dương.hợp-hòa"),
            "name": form("UBND thị trấn Hợp Hòa"),
            "level": "commune",
            "province": form("Vĩnh Phúc"),
        },
        "personnel": [
            {"id": form("hh-ngô-01"), "name": form("Ngô Thị Hường"), "category": "civil_servant",
             "position": form("Trưởng phòng Tài nguyên"), "attendance": "absent"},
            {"id": form("hh-đỗ-02"), "name": form("Đỗ Văn Quyết"), "category": "cadre",
             "position": form("Phó Chủ tịch UBND"), "attendance": "late", "arrived_at": "08:05",
             "wearing_id_card": False, "signed_pledge": False},
        ],
        "workplace": {"rooms_inspected": 4, "no_smoking_signs_posted": False},
        "notes": form("Kiểm tra đột xuất; biên bản lập tại chỗ."),
    }


BASELINE = ENGINE.evaluate(visit()).to_json()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_baseline_is_vietnamese_and_all_nfc() -> None:
    data = orjson.loads(BASELINE)
    text = _strings(data)
    assert "vp.tam-dương.hợp-hòa" in text and any("Trưởng phòng" in s for s in text)
    assert all(unicodedata.is_normalized("NFC", s) for s in text)
    assert len(data["findings"]) >= 4
    for form in FORMS.values():  # the forms really differ, or the tests below prove nothing
        assert form is nfc or form("Trưởng phòng Hợp Hòa") != "Trưởng phòng Hợp Hòa"


def _yaml_file(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "visit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


PATHS: dict[str, Callable[[dict[str, Any], Path], Any]] = {
    "dict": lambda v, _: v,
    "json bytes": lambda v, _: json.dumps(v, ensure_ascii=False).encode("utf-8"),
    "json bytes, \\u escapes": lambda v, _: json.dumps(v).encode("ascii"),
    "json text": lambda v, _: json.dumps(v, ensure_ascii=False),
    "json text, \\u escapes": lambda v, _: json.dumps(v),
    "jsonl file": lambda v, tmp: _write(tmp / "v.jsonl", json.dumps(v, ensure_ascii=False) + "\n"),
    "jsonl file, \\u escapes": lambda v, tmp: _write(tmp / "v.jsonl", json.dumps(v) + "\n"),
    "json array file, \\u escapes": lambda v, tmp: _write(tmp / "v.json", json.dumps([v])),
    "yaml file": lambda v, tmp: _yaml_file(tmp, v),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _evaluate(data: Any) -> bytes:
    if isinstance(data, Path):
        (record,) = list(read_path(data))
        return ENGINE.evaluate(ENGINE.parse_record(record)).to_json()
    return ENGINE.evaluate(data).to_json()


@pytest.mark.parametrize(
    "path, form",
    [
        pytest.param(path, form)
        for path in PATHS
        for form in sorted(FORMS)
    ],
)
def test_every_form_through_every_path_gives_the_nfc_result(tmp_path: Path, path: str, form: str) -> None:
    assert _evaluate(PATHS[path](visit(FORMS[form]), tmp_path)) == BASELINE


def test_ids_that_differ_only_in_normal_form_are_one_official() -> None:
    data = visit()
    twin = dict(data["personnel"][0], id=nfd(data["personnel"][0]["id"]))
    data["personnel"].append(twin)
    with pytest.raises(InputError) as caught:
        parse_visit(data)
    assert "duplicate id" in caught.value.render("en") and "trùng" in caught.value.render("vi")
    assert nfc(twin["id"]) in caught.value.render("en")


def _prior(form: Callable[[str], str], number: int) -> PriorFinding:
    return PriorFinding(f"VP-old-{number}", date(2018, 3, number), form("vp.tam-dương.hợp-hòa"), "official",
                        form("hh-ngô-01"), "working_hours.absent_unexcused")


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_decomposed_unit_and_official_are_the_same_as_in_history(form: str) -> None:
    """History written in NFC (as results are) matches a visit whose ids arrive in any form."""
    result = ENGINE.evaluate(visit(FORMS[form]), history=[_prior(nfc, 1)])
    absent = next(f for f in result.findings if f.rule == "absent_unexcused")
    assert absent.repeat_of == ("VP-old-1",)


def test_decomposed_history_matches_a_composed_visit() -> None:
    result = ENGINE.evaluate(visit(nfc), history=[_prior(nfd, 1)])
    absent = next(f for f in result.findings if f.rule == "absent_unexcused")
    assert absent.repeat_of == ("VP-old-1",)


def test_the_service_envelope_normalises_like_a_bare_visit() -> None:
    from compliance.api import parse_request

    bare, _ = parse_request(visit(nfd))
    wrapped, _ = parse_request({"visit": visit(nfd), "history": []})
    assert ENGINE.evaluate(bare).to_json() == BASELINE
    assert ENGINE.evaluate(wrapped).to_json() == BASELINE


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("title", ["Trưởng phòng", "TRƯỞNG PHÒNG Tài nguyên", "Phó Chủ tịch UBND", "Chánh Văn phòng"])
def test_a_leader_title_in_any_form_is_a_leader_for_sanctions(form: str, title: str) -> None:
    assert ENGINE.policy.is_leader(FORMS[form](title), None) is True
    data = visit(FORMS[form])
    data["personnel"][0]["position"] = FORMS[form](title)
    history = [_prior(nfc, n) for n in (1, 2, 3)]
    result = ENGINE.evaluate(data, history=history)
    codes = {(s.code, s.subject_id) for s in result.sanctions}
    # a leader's persistent violation is for demotion; anyone else's for a salary downgrade
    assert ("demotion", "hh-ngô-01") in codes and ("salary_downgrade", "hh-ngô-01") not in codes
    expected = ENGINE.evaluate({**visit(), "personnel": [dict(visit()["personnel"][0], position=nfc(title))]},
                               history=history)
    assert [s.code for s in result.sanctions if s.subject_id == "hh-ngô-01"] == [
        s.code for s in expected.sanctions if s.subject_id == "hh-ngô-01"
    ]


def test_a_non_leader_in_nfd_is_not_made_a_leader() -> None:
    assert ENGINE.policy.is_leader(nfd("Chuyên viên phòng Tư pháp"), None) is False


# ------------------------------------------------------------------ BOM and line endings

BOM = b"\xef\xbb\xbf"


def _records(path: Path) -> list[Any]:
    out = []
    for record in read_path(path):
        try:
            out.append(ENGINE.evaluate(ENGINE.parse_record(record)).to_json())
        except InputError as exc:
            out.append(exc.problems)
    return out


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _second() -> dict[str, Any]:
    return {**visit(), "visit_id": "VP-2"}


@pytest.mark.parametrize(
    "name, raw",
    [
        ("bom.json", BOM + _line(visit())),
        ("bom-array.json", BOM + b"[" + _line(visit()) + b",\r\n" + _line(_second()) + b"]"),
        ("bom.jsonl", BOM + _line(visit()) + b"\n" + _line(_second()) + b"\n"),
        ("crlf.jsonl", _line(visit()) + b"\r\n" + _line(_second()) + b"\r\n"),
        ("bom-crlf.jsonl", BOM + _line(visit()) + b"\r\n\r\n" + _line(_second()) + b"\r\n"),
        ("bom.yaml", BOM + yaml.safe_dump(visit(), allow_unicode=True).encode()),
        ("crlf.yaml", yaml.safe_dump(visit(), allow_unicode=True).replace("\n", "\r\n").encode()),
        (
            "bom-crlf-multi.yaml",
            BOM + yaml.safe_dump_all([visit(), _second()], allow_unicode=True, explicit_start=True)
            .replace("\n", "\r\n").encode(),
        ),
        ("bom-nfd.jsonl", BOM + nfd(json.dumps(visit(), ensure_ascii=False)).encode() + b"\r\n"),
    ],
)
def test_bom_and_crlf_change_nothing(tmp_path: Path, name: str, raw: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    results = _records(path)
    assert results[0] == BASELINE
    assert all(isinstance(r, bytes) for r in results)
    if len(results) > 1:
        assert orjson.loads(results[1])["visit_id"] == "VP-2"


def test_a_broken_document_in_a_crlf_yaml_stream_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "visits.yaml"
    good = yaml.safe_dump(visit(), allow_unicode=True)
    path.write_bytes(f"{good}---\nvisit_id: [broken\n---\n{good}".replace("\n", "\r\n").encode())
    results = _records(path)
    assert results[0] == BASELINE and results[2] == BASELINE
    (problem,) = results[1]
    assert problem.code == "bad_yaml" and problem.file == str(path)
    assert problem.line == good.count("\n") + 2  # the broken line itself


# --------------------------------------------------------------------- other encodings


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters, combining tone marks."""
    return composite(text).encode("cp1258")


def _utf16le_no_bom(text: str) -> bytes:
    return text.encode("utf-16-le")


ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "utf16": lambda t: t.encode("utf-16"),  # with BOM, little-endian here
    "utf16be": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "utf16le-nobom": _utf16le_no_bom,
    "utf32": lambda t: t.encode("utf-32"),
    "cp1258": cp1258,
    "latin1": lambda t: t.encode("latin-1"),
}


def _texts() -> dict[str, str]:
    """A visit as JSON, JSONL and YAML text, in words latin-1 can also encode (Hòa, Tân)."""
    data = {**visit(), "visit_id": "VP-Tân-Hòa", "unit": {"id": "vp.hòa", "name": "UBND xã Tân Hòa", "level": "commune"},
            "personnel": [{"id": "o1", "name": "Tú", "attendance": "absent"}], "notes": "Hòa"}
    data.pop("inspectors")
    line = json.dumps(data, ensure_ascii=False)
    return {"json": line, "jsonl": line + "\n" + line.replace("Hòa", "Tân") + "\n",
            "yaml": yaml.safe_dump(data, allow_unicode=True)}


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "compliance", "evaluate", "--format", "jsonl", *args],
        input=stdin, capture_output=True, timeout=120, check=False,
    )


def test_files_in_other_encodings_are_refused_naming_the_file(tmp_path: Path) -> None:
    paths = []
    for encoding, encode in ENCODINGS.items():
        for fmt, text in _texts().items():
            path = tmp_path / f"visits-{encoding}.{fmt}"
            path.write_bytes(encode(text))
            paths.append(path)
    done = _run(*map(str, paths))
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert done.stdout == b""  # nothing was read as if it were text
    for path in paths:
        mine = [line for line in err.splitlines() if line.startswith(f"Error: {path}")]
        assert mine, f"{path.name} is not named in:\n{err}"
        assert all("input is not UTF-8" in line for line in mine), mine
    # Vietnamese messages too
    assert "không phải UTF-8" in _run("--lang", "vi", str(paths[0])).stderr.decode("utf-8")


def test_utf16_on_stdin_is_refused() -> None:
    done = _run("-", stdin=_texts()["jsonl"].encode("utf-16"))
    assert done.returncode == 2
    assert "<stdin>: input is not UTF-8" in done.stderr.decode("utf-8")
    assert b"Traceback" not in done.stderr


def test_one_bad_jsonl_line_is_reported_and_the_others_evaluated(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    bad = json.dumps({**visit(), "visit_id": "VP-bad"}, ensure_ascii=False)
    path.write_bytes(
        _line({**visit(), "visit_id": "VP-1"}) + b"\n" + cp1258(bad) + b"\r\n" + _line({**visit(), "visit_id": "VP-3"}) + b"\n"
    )
    done = _run(str(path))
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2 and "Traceback" not in err
    assert f"{path}:2: input is not UTF-8" in err
    assert [orjson.loads(line)["visit_id"] for line in done.stdout.splitlines()] == ["VP-1", "VP-3"]


def test_one_latin1_document_in_a_yaml_stream_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    first = yaml.safe_dump({**visit(), "visit_id": "VP-1"}, allow_unicode=True).encode()
    bad = yaml.safe_dump({"visit_id": "VP-bad", "notes": "Hòa"}, allow_unicode=True).encode("latin-1")
    third = yaml.safe_dump({**visit(), "visit_id": "VP-3"}, allow_unicode=True).encode()
    path.write_bytes(first + b"---\n" + bad + b"---\n" + third)
    results = _records(path)
    assert [orjson.loads(r)["visit_id"] for r in (results[0], results[2])] == ["VP-1", "VP-3"]
    (problem,) = results[1]
    assert problem.code == "not_utf8" and problem.file == str(path)
    assert problem.line == first.count(b"\n") + 2  # after '---', 'notes: Hòa' holds the bad byte


def test_a_json_array_with_a_non_utf8_element_stops_there_with_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "visits.json"
    path.write_bytes(b"[" + _line({**visit(), "visit_id": "VP-1"}) + b",\n" + cp1258(json.dumps(visit(), ensure_ascii=False)) + b"]")
    results = _records(path)
    assert orjson.loads(results[0])["visit_id"] == "VP-1"
    (problem,) = results[1]
    assert problem.file == str(path) and problem.record == 2
    assert problem.code in ("bad_json", "not_utf8")


# --------------------------------------------------------------------- rules saved decomposed


@pytest.mark.parametrize("form", ["nfd", "composite"])
def test_rules_saved_decomposed_are_the_same_rules(tmp_path: Path, form: str) -> None:
    """A rules directory saved decomposed: the same citations and messages in results as the NFC
    originals, and `rules diff` sees no change."""
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    for path in target.rglob("*.yaml"):
        path.write_text(FORMS[form](path.read_text(encoding="utf-8")), encoding="utf-8")
    result = orjson.loads(Engine.load(target).evaluate(visit()).to_json())
    baseline = orjson.loads(BASELINE)
    assert result["ruleset"].pop("digest") != baseline["ruleset"].pop("digest")  # the files do differ
    for layer in ("base", "overlay"):  # each layer's own digest too
        assert result["ruleset"][layer].pop("digest") != baseline["ruleset"][layer].pop("digest")
    assert result == baseline
    diff = CliRunner().invoke(main, ["rules", "diff", str(default_rules_dir()), str(target)], env={"COLUMNS": "200"})
    assert diff.exit_code == 0 and "No change in the rules." in diff.output, diff.output


# ---- square brackets, which rich reads as markup, in the terminal output


def _bracketed(tmp_path: Path) -> list[str]:
    record = copy.deepcopy(VISIT_2018)
    record["personnel"][0]["id"] = "a1 [/i]"
    return [str(write_jsonl(tmp_path / "visit.jsonl", [record]))]


def _bracketed_rules(tmp_path: Path) -> list[str]:
    rules = copy_rules(tmp_path, cases=False)
    replace_nth(rules / "catalogue.yaml", "name: vn", 'name: "vn [/b] catalogue"')
    return ["--rules", str(rules)]


@pytest.mark.parametrize(
    ("command", "make", "shown"),
    [
        (["evaluate"], _bracketed, "a1 [/i]"),
        (["evaluate", "--lang", "vi"], _bracketed, "a1 [/i]"),
        (["explain"], _bracketed, "a1 [/i]"),
        (["checks"], _bracketed_rules, "vn [/b] catalogue"),
    ],
    ids=["evaluate", "evaluate-vi", "explain", "checks"],
)
def test_square_brackets_are_shown_as_written(
    tmp_path: Path, command: list[str], make: Callable[[Path], list[str]], shown: str
) -> None:
    """An id or a ruleset name is the user's text, never rich markup (a stray '[/i]' was a traceback)."""
    done = run_cli(*command, *make(tmp_path))
    assert done.exit_code == 0, done.output
    assert shown in done.output


def test_a_json_array_cut_short_is_placed_where_its_last_record_starts(tmp_path: Path) -> None:
    """A JSON array cut short: the error names the line and column where the cut record starts."""
    path = tmp_path / "arr.json"
    path.write_text('[{"visit_id": "A", "inspected_at": "2018-06-12T08:00:00+07:00", "unit": {"id": "u", "level": "commune"}},\n {"visit_id": "B", "insp')
    records = list(read_path(path))
    problem = records[-1].problem
    assert problem is not None and problem.render("en").startswith(f"{path}:2:2: malformed JSON: ")
    assert problem.record == 2


def test_a_problem_placed_by_record_number_says_record_in_each_language() -> None:
    """A Parquet row has no line: its number must not read as one."""
    from compliance.errors import Problem

    problem = Problem("missing", file="e.parquet", record=4, path="unit.id")
    assert problem.render("en") == "e.parquet: record 4: unit.id: required field is missing"
    assert problem.render("vi") == "e.parquet: bản ghi 4: unit.id: thiếu trường bắt buộc"
