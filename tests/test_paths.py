"""Where a value stands in a rules or case file: a version by the day it starts, in the reader's
language; any other list item by its place counted from 1."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from compliance.errors import Problem
from compliance.paths import named_path, path_params

D = datetime.date
RULES = {
    "rules": {
        "late_arrival": [
            {"effective_from": D(2010, 1, 1), "effective_to": D(2016, 9, 4), "legal_basis": [{"document": "A"}, {"document": "B"}]},
            {"effective_from": D(2016, 9, 5), "thresholds": {"grace_minutes": "five"}},
            {"effective_from": "2027-02-30"},  # kept as its text: no such day
            {"severity": "minor"},
        ]
    },
    "policies": [
        {"id": "official-explanation", "effective_from": D(2007, 9, 1)},
        {"id": "official-explanation", "effective_from": D(2007, 9, 1)},
        {"id": "unit-rectify", "effective_from": D(2007, 9, 1)},
    ],
    "fines": [{"rule": "x.y", "versions": [{"effective_from": "2020-11-15"}]}],
}


def test_a_version_is_named_by_the_day_it_starts_in_both_languages() -> None:
    assert named_path(("rules", "late_arrival", 1, "thresholds", "grace_minutes"), RULES) == (
        "rules › late_arrival › version from 2016-09-05 › thresholds › grace_minutes",
        "rules › late_arrival › phiên bản từ 2016-09-05 › thresholds › grace_minutes",
    )
    assert named_path(("fines", 0, "versions", 0, "min"), RULES) == (
        "fines › #1 › versions › version from 2020-11-15 › min",
        "fines › #1 › versions › phiên bản từ 2020-11-15 › min",
    )


def test_other_list_items_count_from_one() -> None:
    assert named_path(("rules", "late_arrival", 0, "legal_basis", 1, "document"), RULES)[0] == (
        "rules › late_arrival › version from 2010-01-01 › legal_basis › #2 › document"
    )
    assert named_path(("cases", 0, "expect", 2)) == ("cases › #1 › expect › #3", "cases › #1 › expect › #3")


def test_a_version_whose_start_cannot_be_read_is_named_by_its_place() -> None:
    assert named_path(("rules", "late_arrival", 2, "effective_from"), RULES) == (
        "rules › late_arrival › 3rd version › effective_from",
        "rules › late_arrival › phiên bản thứ 3 › effective_from",
    )
    assert named_path(("rules", "late_arrival", 3), RULES)[0] == "rules › late_arrival › 4th version"
    assert named_path(("versions", 10))[0] == "versions › 11th version"  # no document at hand


def test_versions_of_several_things_in_one_list_name_the_thing_and_twins_their_place() -> None:
    assert named_path(("policies", 2, "recommend"), RULES) == (
        "policies › unit-rectify, version from 2007-09-01 › recommend",
        "policies › unit-rectify, phiên bản từ 2007-09-01 › recommend",
    )
    assert named_path(("policies", 1), RULES)[0] == "policies › official-explanation, version from 2007-09-01 (#2)"


def test_a_problem_says_its_path_in_the_readers_language() -> None:
    problem = Problem("missing_key", {"field": "severity"}, file="r.yaml", line=3, column=7).at(
        **path_params(("rules", "late_arrival", 1), RULES)
    )
    assert problem.render("en") == "r.yaml:3:7: rules › late_arrival › version from 2016-09-05: required key 'severity' is missing"
    assert problem.render("vi") == "r.yaml:3:7: rules › late_arrival › phiên bản từ 2016-09-05: thiếu khóa bắt buộc 'severity'"
    data = problem.to_dict()
    assert (data["path"], data["path_vi"]) == ("rules › late_arrival › version from 2016-09-05", "rules › late_arrival › phiên bản từ 2016-09-05")
    moved = problem.at(path="elsewhere")
    assert moved.render("vi").startswith("r.yaml:3:7: elsewhere: ")  # a new path is not said with the old one's words


@given(st.lists(st.one_of(st.integers(0, 30), st.text(st.characters(blacklist_characters="›"), min_size=1, max_size=8)), max_size=6))
def test_every_step_of_a_path_is_said_and_no_list_place_is_a_bare_number(loc: list[object]) -> None:
    en, vi = named_path(loc, RULES)
    for said in (en, vi):
        parts = said.split(" › ") if loc else []
        assert len(parts) == len(loc)
        for part, step in zip(parts, loc):
            if isinstance(step, int):
                assert not part.isdigit(), said


def test_naming_every_problem_of_a_long_list_reads_it_once_not_once_per_problem(monkeypatch: Any) -> None:
    """A 2 MiB rules file holds tens of thousands of list items, each of which may be a problem
    (an impossible holiday, a version without legal basis): naming them all must not read the
    whole list for each. Counted, not timed: the days read to name N problems stay under 10·N."""
    import compliance.paths as paths
    from compliance.yamlsafe import load_document

    reads = 0
    starts = paths._starts

    def counted(item: Any) -> Any:
        nonlocal reads
        reads += 1
        return starts(item)

    monkeypatch.setattr(paths, "_starts", counted)
    n = 3000
    text = "versions:\n  - effective_from: 2016-01-01\n    holidays:\n" + "      - 2016-02-30\n" * n
    text += "rules:\n  late_arrival:\n" + "    - {effective_from: 2016-09-05}\n" * n
    doc = load_document(text, "f.yaml", collect_bad_dates=True)
    assert len(doc.problems) == n and doc.problems[-1].path == f"versions › version from 2016-01-01 › holidays › #{n}"
    assert reads < 10 * n
    reads = 0
    memo: dict[Any, Any] = {}
    named = [path_params(("rules", "late_arrival", i, "severity"), doc.data, memo)["path"] for i in range(n)]
    assert named[1] == "rules › late_arrival › version from 2016-09-05 (#2) › severity"
    assert reads < 10 * n
