"""Altar and incense ban in working rooms (Quy chế văn hóa công sở, Art. 15)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import model_validator

from compliance import Check, Context, Observation, Observed, Rule, Thresholds, Visit, hookimpl, observed
from compliance.visit import Count


class RoomsWithAltars(Observed):
    rooms_inspected: Count | None = observed(
        "Working rooms the team looked into.", "Số phòng làm việc đoàn đã kiểm tra.", examples=[8]
    )
    rooms_with_altar: Count | None = observed(
        "Working rooms with an altar (bàn thờ).", "Số phòng làm việc có lập bàn thờ.", examples=[1]
    )
    rooms_with_incense: Count | None = observed(
        "Working rooms with incense burning.", "Số phòng làm việc có thắp hương.", examples=[1]
    )

    @model_validator(mode="after")
    def _within_inspected(self) -> Any:
        if self.rooms_inspected is None:
            return self
        for name in ("rooms_with_altar", "rooms_with_incense"):
            value = getattr(self, name)
            if value is not None and value > self.rooms_inspected:
                raise ValueError(
                    f"inconsistent:{name} ({value}) exceeds rooms_inspected ({self.rooms_inspected})"
                    f"|{name} ({value}) lớn hơn số phòng được kiểm tra ({self.rooms_inspected})"
                )
        return self


class NoThresholds(Thresholds):
    pass


class AltarBan(Check):
    id = "altar_ban"
    title = {"vi": "Không lập bàn thờ, thắp hương nơi làm việc", "en": "No altars or incense in working rooms"}
    observes = {"workplace": RoomsWithAltars}
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
        place = visit.workplace  # type: ignore[attr-defined]
        if place is None:
            return
        if place.rooms_with_altar:
            yield Observation("altar_in_office", visit.unit.id, {"rooms_with_altar": place.rooms_with_altar})
        if place.rooms_with_incense:
            yield Observation("incense_in_office", visit.unit.id, {"rooms_with_incense": place.rooms_with_incense})


@hookimpl
def compliance_checks() -> list[Check]:
    return [AltarBan()]
