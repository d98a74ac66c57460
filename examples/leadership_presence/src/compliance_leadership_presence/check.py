"""Leadership presence (sự có mặt của lãnh đạo đơn vị) during working hours.

Rule ``no_leader_present`` (subject: the unit): during a working session, at least one leader
of the unit was checked and none of the leaders checked was at the office (present or late).
The head of a unit answers for the unit keeping to discipline (NĐ 157/2007/NĐ-CP, Chỉ thị
26/CT-TTg); a unit found with all of its checked leaders away is a shortcoming of the unit.

"Not observed" is never a violation: an official whose ``attendance`` is null was not checked,
and a visit where no leader was checked yields nothing. A visit outside working hours (lunch
break, evening, weekend, holiday, per the ruleset's calendar) yields nothing either.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

from pydantic import Field

from compliance import Check, Context, Observation, Official, Rule, Thresholds, Visit, hookimpl
from compliance.visit import Attendance

RULES_DIR = Path(__file__).resolve().parent / "rules"
"""Where this plugin ships ``leadership_presence.yaml`` and ``cases/leadership_presence.yaml``."""

DEFAULT_LEADER_TITLES = ["Chủ tịch", "Phó Chủ tịch", "Giám đốc", "Phó Giám đốc", "Trưởng", "Phó Trưởng"]

Title = Annotated[str, Field(min_length=1, max_length=100)]


class LeaderThresholds(Thresholds):
    """Thresholds of ``no_leader_present``; each rule version in the YAML may set them."""

    leader_titles: list[Title] = Field(
        default_factory=lambda: list(DEFAULT_LEADER_TITLES),
        min_length=1,
        description="Position titles that mark a leader when the visit does not say "
        "(`leader` is null): a position starting with one of them, ignoring case.",
    )


@functools.lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    # NFC first: the same Vietnamese title may arrive composed or decomposed.
    return unicodedata.normalize("NFC", text).casefold().strip()


@functools.lru_cache(maxsize=65536)
def _has_title(position: str, titles: tuple[str, ...]) -> bool:
    folded = _fold(position)
    return any(folded.startswith(_fold(title)) for title in titles)


def is_leader(official: Official, titles: Iterable[str]) -> bool:
    """The visit's own `leader` flag when set; otherwise the position's leading title."""
    if official.leader is not None:
        return official.leader
    if not official.position:
        return False
    return _has_title(official.position, titles if isinstance(titles, tuple) else tuple(titles))


_AT_OFFICE = (Attendance.present, Attendance.late)


class LeadershipPresence(Check):
    id = "leadership_presence"
    title = {
        "vi": "Lãnh đạo đơn vị có mặt trong giờ làm việc",
        "en": "A leader of the unit at the office during working hours",
    }
    rules = {
        "no_leader_present": Rule(
            subject="unit",
            summary="During working hours, none of the unit's leaders who were checked was at the office.",
            thresholds=LeaderThresholds,
            evidence=("leaders_checked",),
            # The rule's name in reports; without it they would show the check's title and the rule id.
            title={"vi": "Không có lãnh đạo đơn vị tại trụ sở", "en": "No leader of the unit at the office"},
        ),
    }
    rules_dir = RULES_DIR

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        limits: LeaderThresholds | None = ctx.thresholds("no_leader_present")
        if limits is None or not ctx.working.in_working_hours:
            return
        checked = [o for o in visit.personnel if o.attendance is not None]
        if not checked:
            return
        titles = tuple(limits.leader_titles)
        leaders = [o for o in checked if is_leader(o, titles)]
        if leaders and not any(o.attendance in _AT_OFFICE for o in leaders):
            yield Observation("no_leader_present", visit.unit.id, {"leaders_checked": len(leaders)})


@hookimpl
def compliance_checks() -> list[Check]:
    return [LeadershipPresence()]
