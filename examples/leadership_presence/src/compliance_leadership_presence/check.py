"""Leadership presence (sự có mặt của lãnh đạo đơn vị) during working hours.

Two rules, both about the unit:

* ``no_leader_present``: during a working session, at least one leader of the unit was
  checked, none of the leaders checked was at the office (present or late), and no official
  designated to stand in for them (``acting_leader``) was there either. The head of a unit
  answers for the unit keeping to discipline (NĐ 157/2007/NĐ-CP, Chỉ thị 26/CT-TTg).
* ``schedule_not_posted``: the leaders' weekly work schedule is not posted where the public
  can see it (``leadership.schedule_posted: false``).

What it reads that the core does not define, it declares itself: ``acting_leader`` on each
official, and a section of its own, ``leadership``. It also reads ``attendance``, which the
built-in working-hours check declares: a shared field must be declared identically, so it is
declared here with the same type and values.

"Not observed" is never a violation: an official whose ``attendance`` is null was not checked,
and a visit where no leader was checked yields nothing. A visit outside working hours (lunch
break, evening, weekend, holiday, per the ruleset's calendar) yields nothing either.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StrictBool

from compliance import Check, Code, Context, Observation, Observed, Rule, Thresholds, Visit, described, hookimpl, observed

RULES_DIR = Path(__file__).resolve().parent / "rules"
"""Where this plugin ships ``leadership_presence.yaml`` and ``cases/leadership_presence.yaml``."""

DEFAULT_LEADER_TITLES = ["Chủ tịch", "Phó Chủ tịch", "Giám đốc", "Phó Giám đốc", "Trưởng", "Phó Trưởng"]

Title = Annotated[str, Field(min_length=1, max_length=100)]


# The same values as the built-in working-hours check's `attendance`: a shared observation must be
# declared identically (type, values, constraints, default), or loading stops naming both plugins.
class Attendance(Code):
    present = "present", "có mặt", "present"
    late = "late", "đi muộn", "late"
    absent = "absent", "vắng mặt", "absent"


class LeaderOnDuty(Observed):
    """What this check reads of each official."""

    attendance: Attendance | None = observed(
        "Present, late or absent when the team arrived; null when not checked.",
        "Có mặt, đi muộn hay vắng mặt khi đoàn kiểm tra đến; null nếu không kiểm tra.",
        examples=["late"],
    )
    acting_leader: StrictBool | None = observed(
        "Designated to run the unit while its leaders are away (được giao điều hành thay).",
        "Được giao phụ trách, điều hành thay khi lãnh đạo vắng mặt.",
        examples=[False],
    )


class Leadership(Observed):
    """A section of its own: ``leadership: {schedule_posted: ...}``."""

    schedule_posted: StrictBool | None = observed(
        "The leaders' weekly work schedule is posted where the public can see it.",
        "Lịch công tác tuần của lãnh đạo đơn vị được niêm yết công khai.",
        examples=[True],
    )


class LeaderThresholds(Thresholds):
    """Thresholds of ``no_leader_present``; each rule version in the YAML may set them."""

    __doc_vi__ = "Các ngưỡng của ``no_leader_present``; mỗi phiên bản quy tắc trong YAML có thể đặt các ngưỡng này."

    leader_titles: list[Title] = Field(
        default_factory=lambda: list(DEFAULT_LEADER_TITLES),
        min_length=1,
        **described(
            "Position titles that mark a leader when the visit does not say (`leader` is null): a position "
            "starting with one of them, ignoring case.",
            "Các chức danh cho biết người giữ chức vụ lãnh đạo khi lần kiểm tra không ghi rõ (`leader` để trống): "
            "chức vụ bắt đầu bằng một trong các chức danh này, không phân biệt hoa thường.",
        ),
    )


class NoThresholds(Thresholds):
    pass


@functools.lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    # NFC first: the same Vietnamese title may arrive composed or decomposed.
    return unicodedata.normalize("NFC", text).casefold().strip()


@functools.lru_cache(maxsize=65536)
def _has_title(position: str, titles: tuple[str, ...]) -> bool:
    folded = _fold(position)
    return any(folded.startswith(_fold(title)) for title in titles)


def is_leader(official: Any, titles: Iterable[str]) -> bool:
    """The visit's own `leader` flag when set; otherwise the position's leading title."""
    if official.leader is not None:
        return bool(official.leader)
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
    observes = {"official": LeaderOnDuty, "leadership": Leadership}
    rules = {
        "no_leader_present": Rule(
            subject="unit",
            summary="During working hours, none of the unit's leaders who were checked, nor anyone acting for them, "
            "was at the office.",
            thresholds=LeaderThresholds,
            evidence=("leaders_checked",),
            # The rule's name in reports; without it they would show the check's title and the rule id.
            title={"vi": "Không có lãnh đạo đơn vị tại trụ sở", "en": "No leader of the unit at the office"},
        ),
        "schedule_not_posted": Rule(
            subject="unit",
            summary="The leaders' weekly work schedule is not posted.",
            thresholds=NoThresholds,
            title={"vi": "Không niêm yết lịch công tác của lãnh đạo", "en": "Leaders' schedule not posted"},
        ),
    }
    rules_dir = RULES_DIR

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        section = visit.leadership  # type: ignore[attr-defined]
        if section is not None and section.schedule_posted is False:
            yield Observation("schedule_not_posted", visit.unit.id)
        limits: LeaderThresholds | None = ctx.thresholds("no_leader_present")
        if limits is None or not ctx.working.in_working_hours:
            return
        checked = [o for o in visit.personnel if o.attendance is not None]  # type: ignore[attr-defined]
        titles = tuple(limits.leader_titles)
        leaders = [o for o in checked if is_leader(o, titles)]
        if not leaders or any(o.attendance in _AT_OFFICE for o in leaders):
            return
        acting = [o.id for o in checked if o.acting_leader and o.attendance in _AT_OFFICE]
        if acting:
            if ctx.tracing:
                ctx.note(
                    "no_leader_present",
                    visit.unit.id,
                    en="no leader at the office, but {acting} stands in for them",
                    vi="không có lãnh đạo tại trụ sở nhưng {acting} được giao điều hành thay",
                    acting=", ".join(acting),
                )
            return
        yield Observation("no_leader_present", visit.unit.id, {"leaders_checked": len(leaders)})


@hookimpl
def compliance_checks() -> list[Check]:
    return [LeadershipPresence()]
