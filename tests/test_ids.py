"""Ids that look alike are alike: control, zero-width and bidi characters in an id are refused.

An official id with a zero-width space was a subject of its own, so a repeat offence did not
escalate and a repeated visit id went unnoticed. Every id a visit or a history entry carries is
refused, with the character and its position, when it holds such a character.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import Engine, InputError, parse_history

ENGINE = Engine.load()
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u202a", "\u2066", "\u200e", "\u061c",
             "\x1b", "\x00", "\x7f", "\x85", "\u2028", "\u00a0", "\u3000", "\u00ad"]


def _visit(**unit: Any) -> dict[str, Any]:
    return {
        "visit_id": "V-1",
        "inspected_at": "2018-06-12T08:00:00+07:00",
        "unit": {"id": "u-1", "level": "commune", **unit},
        "personnel": [{"id": "o-1", "attendance": "absent"}],
    }


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    where=st.sampled_from(["visit_id", "unit.id", "unit.parent_id", "personnel[0].id"]),
    char=st.sampled_from(INVISIBLE),
    prefix=st.text(alphabet="abchợp-.0123", min_size=1, max_size=6),
    suffix=st.text(alphabet="abchợp-.0123", min_size=1, max_size=6),
)
def test_an_id_with_an_invisible_character_is_refused_where_it_stands(where: str, char: str, prefix: str, suffix: str) -> None:
    visit = _visit(parent_id="p-1")
    value = prefix + char + suffix
    if where == "visit_id":
        visit["visit_id"] = value
    elif where == "personnel[0].id":
        visit["personnel"][0]["id"] = value
    else:
        visit["unit"][where.split(".")[1]] = value
    with pytest.raises(InputError) as refused:
        ENGINE.evaluate(json.dumps(visit))
    (problem,) = refused.value.problems
    assert problem.code == "invisible_character" and problem.path == where
    assert f"U+{ord(char):04X}" in problem.message("en") and f"position {len(prefix) + 1}" in problem.message("en")
    assert f"vị trí {len(prefix) + 1}" in problem.message("vi")
    assert char not in problem.render("en")  # shown escaped, never as itself


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u3000", "\x85"])
def test_spaces_around_an_id_are_removed_not_refused(space: str) -> None:
    visit = _visit()
    visit["personnel"][0]["id"] = f"{space}o-1{space}"
    assert ENGINE.evaluate(visit).findings[0].subject.id == "o-1"


def test_plain_ids_in_any_script_are_accepted() -> None:
    for value in ("hh-017", "vp.tam-duong.hợp-hòa", "Phòng Tư pháp 2", "ÔNG_Ư.01"):
        visit = _visit()
        visit["personnel"][0]["id"] = value
        assert ENGINE.evaluate(visit).findings[0].subject.id == value


def test_a_repeat_cannot_hide_behind_a_zero_width_space_in_history() -> None:
    entry = {"visit_id": "V-0", "date": "2018-03-01", "unit_id": "u-1", "subject_type": "official",
             "subject_id": "o\u200b-1", "rule": "working_hours.absent_unexcused"}
    with pytest.raises(InputError) as refused:
        parse_history([entry])
    assert refused.value.problems[0].code == "invisible_character"
    assert refused.value.problems[0].path == "history[0].subject_id"
    clean = parse_history([{**entry, "subject_id": "o-1"}])
    repeated = ENGINE.evaluate(_visit(), history=clean)
    assert repeated.findings[0].repeat_of == ("V-0",)
