"""Working hours and attendance (giờ làm việc, đi muộn, vắng mặt).

Attendance is only judged during working hours of a working day (the ruleset's calendar):
a visit in the lunch break, the evening or at the weekend yields no attendance finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time

from pydantic import Field

from compliance import Check, Context, Observation, Rule, Thresholds, Visit, hookimpl
from compliance.visit import Attendance


class NoThresholds(Thresholds):
    pass


class LateThresholds(Thresholds):
    grace_minutes: int = Field(
        0, ge=0, le=240, description="Minutes after the session start still counted as on time (0 is strict)."
    )


class AbsenceRateThresholds(Thresholds):
    min_share: float | None = Field(
        0.2, gt=0, le=1, description="Share of checked staff absent without reason that is a finding (heuristic)."
    )
    min_count: int | None = Field(
        3, ge=1, description="Number of staff absent without reason that is a finding on its own (heuristic)."
    )
    min_checked: int = Field(
        5, ge=1, description="Staff that must have been checked before the share alone can make a finding."
    )


def _started_before(sessions: tuple[tuple[time, time], ...], arrived: time) -> time | None:
    """The start of the session an arrival at `arrived` was late for: the last one begun by then.
    An official seen in the afternoon who came at 07:45 was late for the morning, not early."""
    start = None
    for begin, _ in sessions:
        if begin <= arrived:
            start = begin
    return start


def _minutes(later: object, earlier: object) -> int:
    day = datetime(2000, 1, 1)
    return int((datetime.combine(day, later) - datetime.combine(day, earlier)).total_seconds() // 60)  # type: ignore[arg-type]


class WorkingHours(Check):
    id = "working_hours"
    title = {"vi": "Giờ làm việc, chấp hành kỷ luật lao động", "en": "Working hours and attendance"}
    rules = {
        "absent_unexcused": Rule(
            subject="official",
            summary="Absent at the visit during working hours with no reason given.",
            thresholds=NoThresholds,
            evidence=("visit_time",),
            title={"vi": "Vắng mặt không có lý do", "en": "Absent with no reason given"},
        ),
        "late_arrival": Rule(
            subject="official",
            summary="Arrived more than the grace minutes after the start of the last session begun by then.",
            thresholds=LateThresholds,
            evidence=("arrived_at", "session_start", "minutes_late", "grace_minutes"),
            title={"vi": "Đi làm muộn giờ", "en": "Late arrival"},
        ),
        "high_absence_rate": Rule(
            subject="unit",
            summary="Share or number of checked staff absent without reason at or above a threshold.",
            thresholds=AbsenceRateThresholds,
            evidence=("absent", "checked", "share", "heuristic"),
            title={
                "vi": "Tỷ lệ vắng mặt không lý do cao (ngưỡng kinh nghiệm)",
                "en": "High unexcused absence (heuristic threshold)",
            },
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        if not ctx.working.in_working_hours:
            return
        start = ctx.working.session_start
        visit_time = ctx.local_moment.strftime("%H:%M")
        late = ctx.thresholds("late_arrival")
        absent = 0
        checked = 0
        for official in visit.personnel:
            if official.attendance is None:
                continue
            checked += 1
            if official.attendance == Attendance.absent and official.absence_reason is None:
                absent += 1
                yield Observation("absent_unexcused", official.id, {"visit_time": visit_time})
            elif official.attendance == Attendance.late and late is not None:
                arrived = official.arrived_at
                if arrived is None:
                    yield Observation(
                        "late_arrival",
                        official.id,
                        {"arrived_at": None, "session_start": start.strftime("%H:%M"), "minutes_late": None,
                         "grace_minutes": late.grace_minutes},
                    )
                    continue
                begun = _started_before(ctx.working.sessions, arrived)
                if begun is None:
                    continue
                minutes = _minutes(arrived, begun)
                if minutes > late.grace_minutes:
                    yield Observation(
                        "late_arrival",
                        official.id,
                        {"arrived_at": arrived.strftime("%H:%M"), "session_start": begun.strftime("%H:%M"),
                         "minutes_late": minutes, "grace_minutes": late.grace_minutes},
                    )
        rate = ctx.thresholds("high_absence_rate")
        if rate is not None and absent and checked:
            share = absent / checked
            if (rate.min_share is not None and checked >= rate.min_checked and share >= rate.min_share) or (
                rate.min_count is not None and absent >= rate.min_count
            ):
                yield Observation(
                    "high_absence_rate",
                    visit.unit.id,
                    {"absent": absent, "checked": checked, "share": round(share, 4), "heuristic": True},
                )


@hookimpl
def compliance_checks() -> list[Check]:
    return [WorkingHours()]
