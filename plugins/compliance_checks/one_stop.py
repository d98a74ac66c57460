"""One-stop desk (bộ phận một cửa): exists where required, open, full hours, shared software.

`one_stop: null` means the unit is not required to run a desk (or it was not observed).
Which unit levels must run one changes with the law (QĐ 09/2015, NĐ 61/2018, NĐ 118/2025),
so the levels are a threshold of each rule version.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from compliance import Check, Context, Observation, Rule, Thresholds, Visit, hookimpl
from compliance.visit import ReceivingSchedule, UnitLevel


class MissingThresholds(Thresholds):
    required_levels: list[UnitLevel] = Field(
        description="Unit levels that must run their own one-stop desk on this date."
    )


class NoThresholds(Thresholds):
    pass


_RESTRICTED = (ReceivingSchedule.mornings_only, ReceivingSchedule.afternoons_only)


class OneStop(Check):
    id = "one_stop"
    title = {"vi": "Bộ phận một cửa", "en": "One-stop desk"}
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
        desk = visit.one_stop
        if desk is None:
            return
        unit = visit.unit.id
        if desk.exists is False:
            missing = ctx.thresholds("one_stop_missing")
            if missing is not None and visit.unit.level in missing.required_levels:
                yield Observation("one_stop_missing", unit)
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
        if desk.uses_shared_software is False:
            yield Observation("shared_software_not_used", unit)


@hookimpl
def compliance_checks() -> list[Check]:
    return [OneStop()]
