"""Working hours and attendance (giờ làm việc, đi muộn, vắng mặt).

Attendance is only judged during working hours of a working day (the ruleset's calendar):
a visit in the lunch break, the evening or at the weekend yields no attendance finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

from pydantic import Field, ValidationInfo, model_validator

from compliance import Check, Code, Context, Observation, Observed, Rule, Thresholds, Visit, described, hookimpl, observed
from compliance.observations import UTC_OFFSET, WORKING_TIME
from compliance.visit import LocalTime

from .personnel import Attendance, attendance_field


class AbsenceReason(Code):
    leave = "leave", "nghỉ phép", "on leave"
    business_trip = "business_trip", "đi công tác", "on a business trip"
    sick = "sick", "nghỉ ốm", "sick"
    training = "training", "đi học", "in training"
    approved_other = "approved_other", "được phép", "approved"


class OfficialAttendance(Observed):
    attendance: Attendance | None = attendance_field()
    arrived_at: LocalTime | None = observed(
        "Local wall-clock time HH:MM the official arrived, set when attendance is late.",
        "Giờ đến (HH:MM, giờ địa phương), ghi khi đi muộn.",
        examples=["08:25"],
    )
    absence_reason: AbsenceReason | None = observed(
        "Why an absent official is away; null with absent means no reason was given.",
        "Lý do vắng mặt; null khi vắng mặt nghĩa là không có lý do.",
        examples=["business_trip"],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Any:
        if self.absence_reason is not None and self.attendance not in (Attendance.absent, None):
            raise ValueError(
                "inconsistent:absence_reason is set but attendance is not 'absent'"
                "|có lý do vắng mặt nhưng attendance không phải 'absent'"
            )
        if self.arrived_at is not None and self.attendance == Attendance.absent:
            raise ValueError(
                "inconsistent:arrived_at is set for an absent official"
                "|có giờ đến (arrived_at) cho người vắng mặt"
            )
        return self


class ArrivalDuringVisit(Observed):
    """An arrival the team recorded happened while it was there. The team may wait and note a
    late arrival (the exchange format's own example: 08:25 on a 07:50 visit), but not past the
    end of the working session in progress or next to begin that day (an arrival at 16:00 on an
    08:00 visit is a typing mistake, not a finding of 150 minutes); with no session left that
    day, not past the visit itself. Only the whole visit knows both times, and only the
    jurisdiction's calendar the sessions: a visit validated without it is not checked here."""

    @model_validator(mode="after")
    def _arrived_while_the_team_was_there(self, info: ValidationInfo) -> Any:
        context = info.context or {}
        offset, calendar = context.get(UTC_OFFSET), context.get(WORKING_TIME)
        working = calendar(self) if calendar is not None else None
        if working is None or not working.sessions:  # no calendar to measure against
            return self
        moment = self.local_moment(offset)  # type: ignore[attr-defined]  # a method of the composed Visit
        now = moment.time().replace(tzinfo=None)
        sessions = working.sessions
        latest = next((end for _, end in sessions if end > now), now)
        for index, official in enumerate(self.personnel):  # type: ignore[attr-defined]
            arrived = official.arrived_at
            if arrived is not None and arrived > latest:
                raise ValueError(
                    f"inconsistent:personnel[{index}].arrived_at ({arrived:%H:%M}) is later than a team arriving at "
                    f"{now:%H:%M} could have seen (the session ends {latest:%H:%M})"
                    f"|personnel[{index}].arrived_at ({arrived:%H:%M}) muộn hơn thời điểm đoàn kiểm tra đến lúc "
                    f"{now:%H:%M} có thể ghi nhận (ca làm việc kết thúc lúc {latest:%H:%M})"
                )
        return self


class NoThresholds(Thresholds):
    pass


class LateThresholds(Thresholds):
    grace_minutes: int = Field(
        0, ge=0, le=240, **described(
            "Minutes after the session start still counted as on time (0 is strict).",
            "Số phút sau giờ bắt đầu ca vẫn được tính là đúng giờ (0 là nghiêm ngặt).",
        )
    )


class AbsenceRateThresholds(Thresholds):
    min_share: float | None = Field(
        0.2, gt=0, le=1, **described(
            "Share of checked staff absent without reason that is a finding (heuristic).",
            "Tỷ lệ người được kiểm tra vắng mặt không lý do thì ghi nhận phát hiện (ngưỡng kinh nghiệm).",
        )
    )
    min_count: int | None = Field(
        3, ge=1, **described(
            "Number of staff absent without reason that is a finding on its own (heuristic).",
            "Số người vắng mặt không lý do tự nó đủ ghi nhận phát hiện (ngưỡng kinh nghiệm).",
        )
    )
    min_checked: int = Field(
        5, ge=1, **described(
            "Staff that must have been checked before the share alone can make a finding.",
            "Số người phải được kiểm tra thì tỷ lệ mới đủ để ghi nhận phát hiện.",
        )
    )


def _started_before(sessions: tuple[tuple[time, time], ...], arrived: time) -> time | None:
    """The start of the session an arrival at `arrived` was late for: the last one begun by then.
    An official seen in the afternoon who came at 07:45 was late for the morning, not early."""
    start = None
    for begin, _ in sessions:
        if begin <= arrived:
            start = begin
    return start


def _minutes(later: time, earlier: time) -> int:
    day = datetime(2000, 1, 1)
    return int((datetime.combine(day, later) - datetime.combine(day, earlier)).total_seconds() // 60)


class WorkingHours(Check):
    id = "working_hours"
    title = {"vi": "Giờ làm việc, chấp hành kỷ luật lao động", "en": "Working hours and attendance"}
    observes = {"official": OfficialAttendance, "visit": ArrivalDuringVisit}
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
                "vi": "Tỷ lệ vắng mặt không lý do cao (ngưỡng tham khảo)",
                "en": "High unexcused absence (heuristic threshold)",
            },
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        if not ctx.working.in_working_hours:
            if ctx.tracing:
                for rule in self.rules:
                    ctx.note(
                        rule,
                        visit.unit.id,
                        en="the visit at {time} is outside working hours: attendance is not judged",
                        vi="lần kiểm tra lúc {time} ngoài giờ làm việc: không đánh giá việc chấp hành giờ giấc",
                        time=ctx.local_moment.strftime("%H:%M"),
                    )
            return
        start = ctx.working.session_start
        visit_time = ctx.local_moment.strftime("%H:%M")
        late = ctx.thresholds("late_arrival")
        absent = 0
        checked = 0
        for official in visit.personnel:  # type: ignore[attr-defined]
            if official.attendance is None:
                continue
            checked += 1
            if official.attendance == Attendance.absent:
                if official.absence_reason is None:
                    absent += 1
                    yield Observation("absent_unexcused", official.id, {"visit_time": visit_time})
                elif ctx.tracing:
                    ctx.note(
                        "absent_unexcused",
                        official.id,
                        en="absent with a reason given ({reason})",
                        vi="vắng mặt có lý do ({reason})",
                        reason=official.absence_reason,
                    )
            elif official.attendance == Attendance.late and late is not None:
                arrived = official.arrived_at
                if arrived is None:
                    yield Observation(
                        "late_arrival",
                        official.id,
                        {"arrived_at": None, "session_start": start.strftime("%H:%M") if start else None,
                         "minutes_late": None, "grace_minutes": late.grace_minutes},
                    )
                    continue
                begun = _started_before(ctx.working.sessions, arrived)
                if begun is None:
                    if ctx.tracing:
                        ctx.note("late_arrival", official.id, en="arrived {arrived}, before any session began",
                                 vi="đến lúc {arrived}, trước khi ca làm việc nào bắt đầu", arrived=arrived)
                    continue
                minutes = _minutes(arrived, begun)
                if minutes > late.grace_minutes:
                    yield Observation(
                        "late_arrival",
                        official.id,
                        {"arrived_at": arrived.strftime("%H:%M"), "session_start": begun.strftime("%H:%M"),
                         "minutes_late": minutes, "grace_minutes": late.grace_minutes},
                    )
                elif ctx.tracing:
                    ctx.note(
                        "late_arrival",
                        official.id,
                        en="arrived {arrived}, within the {grace} grace minutes after {start}",
                        vi="đến lúc {arrived}, trong {grace} phút cho phép sau {start}",
                        arrived=arrived, grace=late.grace_minutes, start=begun,
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
            elif ctx.tracing:
                ctx.note(
                    "high_absence_rate",
                    visit.unit.id,
                    en="{absent} of {checked} checked absent with no reason: below the thresholds",
                    vi="{absent}/{checked} người được kiểm tra vắng mặt không lý do: chưa tới ngưỡng",
                    absent=absent, checked=checked,
                )


@hookimpl
def compliance_checks() -> list[Check]:
    return [WorkingHours()]
