"""Office culture (văn hóa công sở): staff card, attire, name plate, tidy rooms.

Card and attire can only be seen on someone who is at work, so they are judged for officials
present or late; a name plate is on the desk and is judged whatever the attendance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, StrictBool, model_validator

from compliance import Check, Context, Observation, Observed, Rule, Thresholds, Visit, described, hookimpl, observed
from compliance.visit import Count

from .personnel import AT_WORK, Attendance, attendance_field


class OfficialConduct(Observed):
    attendance: Attendance | None = attendance_field()
    wearing_id_card: StrictBool | None = observed(
        "Wearing the staff card; not observable for an absent official.",
        "Có đeo thẻ công chức, viên chức; không quan sát được với người vắng mặt.",
        examples=[False],
    )
    attire_proper: StrictBool | None = observed(
        "Dressed neatly and politely.", "Trang phục gọn gàng, lịch sự.", examples=[True]
    )
    nameplate_on_desk: StrictBool | None = observed(
        "A name and title plate at the official's desk.", "Có biển tên, chức danh tại bàn làm việc.", examples=[True]
    )


class Rooms(Observed):
    rooms_inspected: Count | None = observed(
        "Working rooms the team looked into.", "Số phòng làm việc đoàn đã kiểm tra.", examples=[8]
    )
    rooms_untidy: Count | None = observed(
        "Working rooms found untidy.", "Số phòng làm việc chưa gọn gàng, sạch sẽ.", examples=[1]
    )

    @model_validator(mode="after")
    def _untidy_within_inspected(self) -> Any:
        if self.rooms_inspected is not None and self.rooms_untidy is not None and self.rooms_untidy > self.rooms_inspected:
            raise ValueError(
                f"inconsistent:rooms_untidy ({self.rooms_untidy}) exceeds rooms_inspected ({self.rooms_inspected})"
                f"|rooms_untidy ({self.rooms_untidy}) lớn hơn số phòng được kiểm tra ({self.rooms_inspected})"
            )
        return self


class NoThresholds(Thresholds):
    pass


class UntidyThresholds(Thresholds):
    min_rooms: int = Field(1, ge=1, **described("Untidy working rooms that make a finding.", "Số phòng làm việc chưa gọn gàng thì ghi nhận phát hiện."))


class OfficeCulture(Check):
    id = "office_culture"
    title = {"vi": "Văn hóa công sở", "en": "Office culture"}
    observes = {"official": OfficialConduct, "workplace": Rooms}
    rules = {
        "no_id_card": Rule(
            "official", "Present but not wearing the staff card.", NoThresholds,
            title={"vi": "Không đeo thẻ", "en": "Staff card not worn"},
        ),
        "improper_attire": Rule(
            "official", "Present, attire not neat and polite.", NoThresholds,
            title={"vi": "Trang phục chưa gọn gàng, lịch sự", "en": "Attire not proper"},
        ),
        "no_nameplate": Rule(
            "official", "No name and title plate at the desk.", NoThresholds,
            title={"vi": "Không có biển tên, chức danh", "en": "No name and title plate"},
        ),
        "untidy_office": Rule(
            "unit", "Working rooms untidy.", UntidyThresholds, evidence=("rooms_untidy", "rooms_inspected"),
            title={"vi": "Phòng làm việc chưa gọn gàng, sạch sẽ", "en": "Untidy working rooms"},
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        for official in visit.personnel:  # type: ignore[attr-defined]
            at_work = official.attendance in AT_WORK
            if at_work and official.wearing_id_card is False:
                yield Observation("no_id_card", official.id)
            if at_work and official.attire_proper is False:
                yield Observation("improper_attire", official.id)
            if official.nameplate_on_desk is False:
                yield Observation("no_nameplate", official.id)
            if ctx.tracing and not at_work and (official.wearing_id_card is False or official.attire_proper is False):
                for rule in ("no_id_card", "improper_attire"):
                    ctx.note(rule, official.id, en="not at work ({attendance}): card and attire are not judged",
                             vi="không có mặt làm việc ({attendance}): không đánh giá thẻ và trang phục",
                             attendance=official.attendance)
        untidy = ctx.thresholds("untidy_office")
        place = visit.workplace  # type: ignore[attr-defined]
        if untidy is not None and place is not None and place.rooms_untidy is not None:
            if place.rooms_untidy >= untidy.min_rooms:
                yield Observation(
                    "untidy_office",
                    visit.unit.id,
                    {"rooms_untidy": place.rooms_untidy, "rooms_inspected": place.rooms_inspected},
                )
            elif ctx.tracing:
                ctx.note("untidy_office", visit.unit.id, en="{untidy} untidy rooms, fewer than the {min} that make a finding",
                         vi="{untidy} phòng chưa gọn gàng, ít hơn ngưỡng {min} phòng", untidy=place.rooms_untidy,
                         min=untidy.min_rooms)


@hookimpl
def compliance_checks() -> list[Check]:
    return [OfficeCulture()]
