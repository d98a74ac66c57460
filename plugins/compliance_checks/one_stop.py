"""One-stop desk (bộ phận một cửa): exists where required, open, full hours, shared software.

`one_stop: null` means the unit is not required to run a desk (or it was not observed).
Which unit levels must run one changes with the law (QĐ 09/2015, NĐ 61/2018, NĐ 118/2025),
so the levels are a threshold of each rule version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, StrictBool, model_validator

from compliance import Check, Code, Context, Observation, Observed, Rule, Thresholds, Visit, described, hookimpl, observed
from compliance.visit import UnitLevel


class ReceivingSchedule(Code):
    full_day = "full_day", "cả ngày", "full day"
    mornings_only = "mornings_only", "chỉ buổi sáng", "mornings only"
    afternoons_only = "afternoons_only", "chỉ buổi chiều", "afternoons only"
    closed = "closed", "đóng cửa", "closed"


class Desk(Observed):
    exists: StrictBool | None = observed(
        "The unit runs a one-stop desk.", "Đơn vị có bộ phận một cửa.", examples=[True]
    )
    open_at_visit: StrictBool | None = observed(
        "The desk was open when the team arrived.", "Bộ phận một cửa mở cửa khi đoàn đến.", examples=[True]
    )
    receiving_schedule: ReceivingSchedule | None = observed(
        "When the desk receives dossiers.", "Thời gian tiếp nhận hồ sơ.", examples=["afternoons_only"]
    )
    uses_shared_software: StrictBool | None = observed(
        "Dossiers go through the shared procedure-handling software.",
        "Sử dụng phần mềm dùng chung / hệ thống thông tin giải quyết TTHC.",
        examples=[False],
    )

    @model_validator(mode="after")
    def _open_only_if_there(self) -> Any:
        if self.exists is False and self.open_at_visit is True:
            raise ValueError(
                "inconsistent:the desk is marked open but does not exist"
                "|bộ phận một cửa không tồn tại nhưng lại ghi là đang mở"
            )
        return self


class MissingThresholds(Thresholds):
    required_levels: list[UnitLevel] = Field(
        **described(
            "Unit levels that must run their own one-stop desk on this date.",
            "Các cấp đơn vị phải có bộ phận một cửa của mình vào thời điểm này.",
        )
    )


class NoThresholds(Thresholds):
    pass


_RESTRICTED = (ReceivingSchedule.mornings_only, ReceivingSchedule.afternoons_only)


class OneStop(Check):
    id = "one_stop"
    title = {"vi": "Bộ phận một cửa", "en": "One-stop desk"}
    observes = {"one_stop": Desk}
    rules = {
        # Its message shows {unit_level}, which the engine fills in: not evidence of the rule.
        "one_stop_missing": Rule(
            "unit", "A unit that must run a one-stop desk has none.", MissingThresholds,
            title={"vi": "Không có bộ phận một cửa", "en": "No one-stop desk"},
        ),
        "one_stop_closed": Rule(
            "unit", "The desk was closed during working hours.", NoThresholds, evidence=("visit_time", "schedule"),
            title={"vi": "Bộ phận một cửa đóng cửa", "en": "One-stop desk closed"},
        ),
        "restricted_hours": Rule(
            "unit", "The desk receives dossiers only mornings or only afternoons.", NoThresholds, evidence=("schedule",),
            title={
                "vi": "Bộ phận một cửa chỉ tiếp nhận một buổi",
                "en": "One-stop desk open part of the day only",
            },
        ),
        "shared_software_not_used": Rule(
            "unit", "The shared procedure-handling software is not used.", NoThresholds,
            title={"vi": "Không sử dụng phần mềm dùng chung", "en": "Shared software not used"},
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        desk = visit.one_stop  # type: ignore[attr-defined]
        unit = visit.unit.id
        if desk is None:
            if ctx.tracing:
                for rule in self.rules:
                    ctx.note(rule, unit, en="no one-stop desk observed (one_stop is null)",
                             vi="không quan sát bộ phận một cửa (one_stop là null)")
            return
        if desk.exists is False:
            missing = ctx.thresholds("one_stop_missing")
            if missing is not None and visit.unit.level in missing.required_levels:
                yield Observation("one_stop_missing", unit)
            elif ctx.tracing and missing is not None:
                ctx.note("one_stop_missing", unit, en="a {level} need not run its own desk on this date",
                         vi="{level} không bắt buộc có bộ phận một cửa riêng vào ngày này", level=visit.unit.level)
            return
        schedule = desk.receiving_schedule
        if schedule in _RESTRICTED:
            yield Observation("restricted_hours", unit, {"schedule": schedule})
        working = ctx.working
        closed_by_schedule = schedule == ReceivingSchedule.closed
        expected_closed_now = (schedule == ReceivingSchedule.afternoons_only and working.in_morning) or (
            schedule == ReceivingSchedule.mornings_only and working.in_afternoon
        )
        closed_now = desk.open_at_visit is False and working.in_working_hours and not expected_closed_now
        if closed_by_schedule or closed_now:
            yield Observation(
                "one_stop_closed",
                unit,
                {"visit_time": ctx.local_moment.strftime("%H:%M"), "schedule": schedule},
            )
        elif ctx.tracing and desk.open_at_visit is False:
            ctx.note("one_stop_closed", unit,
                     en="closed at {time}, which its schedule ({schedule}) or the hours allow",
                     vi="đóng cửa lúc {time}, phù hợp lịch tiếp nhận ({schedule}) hoặc ngoài giờ làm việc",
                     time=ctx.local_moment.strftime("%H:%M"), schedule=schedule)
        if desk.uses_shared_software is False:
            yield Observation("shared_software_not_used", unit)


@hookimpl
def compliance_checks() -> list[Check]:
    return [OneStop()]
