"""Altar and incense ban in working rooms (Quy chế văn hóa công sở, Art. 15)."""

from __future__ import annotations

from collections.abc import Iterator

from compliance import Check, Context, Observation, Rule, Thresholds, Visit, hookimpl


class NoThresholds(Thresholds):
    pass


class AltarBan(Check):
    id = "altar_ban"
    title = {"vi": "Không lập bàn thờ, thắp hương nơi làm việc", "en": "No altars or incense in working rooms"}
    rules = {
        "altar_in_office": Rule(
            "unit", "An altar in a working room.", NoThresholds, evidence=("rooms_with_altar",),
            title={"vi": "Lập bàn thờ trong phòng làm việc", "en": "Altar in a working room"},
        ),
        "incense_in_office": Rule(
            "unit", "Incense burning in a working room.", NoThresholds, evidence=("rooms_with_incense",),
            title={"vi": "Thắp hương trong phòng làm việc", "en": "Incense in a working room"},
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        place = visit.workplace
        if place is None:
            return
        if place.rooms_with_altar:
            yield Observation("altar_in_office", visit.unit.id, {"rooms_with_altar": place.rooms_with_altar})
        if place.rooms_with_incense:
            yield Observation("incense_in_office", visit.unit.id, {"rooms_with_incense": place.rooms_with_incense})


@hookimpl
def compliance_checks() -> list[Check]:
    return [AltarBan()]
