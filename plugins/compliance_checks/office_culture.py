"""Office culture (văn hóa công sở): staff card, attire, name plate, tidy rooms.

Card and attire can only be seen on someone who is at work, so they are judged for officials
present or late; a name plate is on the desk and is judged whatever the attendance.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from compliance import Check, Context, Observation, Rule, Thresholds, Visit, hookimpl
from compliance.visit import Attendance

_AT_WORK = (Attendance.present, Attendance.late)


class NoThresholds(Thresholds):
    pass


class UntidyThresholds(Thresholds):
    min_rooms: int = Field(1, ge=1, description="Untidy working rooms that make a finding.")


class OfficeCulture(Check):
    id = "office_culture"
    title = {"vi": "Văn hóa công sở", "en": "Office culture"}
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
        for official in visit.personnel:
            at_work = official.attendance in _AT_WORK
            if at_work and official.wearing_id_card is False:
                yield Observation("no_id_card", official.id)
            if at_work and official.attire_proper is False:
                yield Observation("improper_attire", official.id)
            if official.nameplate_on_desk is False:
                yield Observation("no_nameplate", official.id)
        untidy = ctx.thresholds("untidy_office")
        place = visit.workplace
        if untidy is not None and place is not None and place.rooms_untidy is not None:
            if place.rooms_untidy >= untidy.min_rooms:
                yield Observation(
                    "untidy_office",
                    visit.unit.id,
                    {"rooms_untidy": place.rooms_untidy, "rooms_inspected": place.rooms_inspected},
                )


@hookimpl
def compliance_checks() -> list[Check]:
    return [OfficeCulture()]
