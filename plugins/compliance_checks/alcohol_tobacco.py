"""No alcohol, no smoking (rượu bia, thuốc lá), the no-smoking sign and the signed pledge."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, StrictBool

from compliance import Check, Context, Observation, Observed, Rule, Thresholds, Visit, described, hookimpl, observed


class OfficialHabits(Observed):
    drinking_alcohol: StrictBool | None = observed(
        "Drinking alcohol in working hours, the lunch break, before work or on duty.",
        "Uống rượu, bia trong giờ làm việc, giờ nghỉ trưa, trước giờ làm việc hoặc ngày trực.",
        examples=[False],
    )
    smoking: StrictBool | None = observed("Smoking on the premises.", "Hút thuốc lá tại công sở.", examples=[False])
    signed_pledge: StrictBool | None = observed(
        "Signed the no-alcohol, no-smoking commitment.",
        "Đã ký cam kết không uống rượu, bia, không hút thuốc lá.",
        examples=[True],
    )


class SignsAndPledges(Observed):
    no_smoking_signs_posted: StrictBool | None = observed(
        "“No smoking” signs are posted where they can be seen.",
        "Có treo biển “cấm hút thuốc lá” ở nơi dễ thấy.",
        examples=[True],
    )
    pledges_organized: StrictBool | None = observed(
        "The unit had its staff sign the commitment.", "Đơn vị đã tổ chức cho cán bộ ký cam kết.", examples=[True]
    )


class NoThresholds(Thresholds):
    pass


class PledgeThresholds(Thresholds):
    skip_when_unit_not_organized: bool = Field(
        True,
        **described(
            "When the unit never organised the pledge, report that once for the unit instead of once per official.",
            "Khi đơn vị chưa từng tổ chức ký cam kết, ghi nhận một lần cho đơn vị thay vì cho từng người.",
        ),
    )


class AlcoholTobacco(Check):
    id = "alcohol_tobacco"
    title = {"vi": "Không uống rượu, bia; không hút thuốc lá", "en": "No alcohol, no smoking"}
    observes = {"official": OfficialHabits, "workplace": SignsAndPledges}
    rules = {
        "alcohol_during_work": Rule(
            "official", "Drinking alcohol in working hours, breaks or on duty.", NoThresholds,
            title={"vi": "Uống rượu, bia trong giờ làm việc", "en": "Alcohol during work"},
        ),
        "smoking_at_office": Rule(
            "official", "Smoking on the premises.", NoThresholds,
            title={"vi": "Hút thuốc lá tại công sở", "en": "Smoking at the office"},
        ),
        "no_smoking_sign_missing": Rule(
            "unit", "No 'no smoking' sign posted.", NoThresholds,
            title={"vi": "Không treo biển “cấm hút thuốc lá”", "en": "No “no smoking” sign"},
        ),
        "pledges_not_organized": Rule(
            "unit", "The unit did not have staff sign the commitment.", NoThresholds,
            title={"vi": "Chưa tổ chức ký cam kết", "en": "Pledge signing not organised"},
        ),
        "pledge_not_signed": Rule(
            "official", "The official has not signed the commitment.", PledgeThresholds,
            title={"vi": "Chưa ký cam kết", "en": "Pledge not signed"},
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        place = visit.workplace  # type: ignore[attr-defined]
        not_organized = place is not None and place.pledges_organized is False
        pledge = ctx.thresholds("pledge_not_signed")
        for official in visit.personnel:  # type: ignore[attr-defined]
            if official.drinking_alcohol is True:
                yield Observation("alcohol_during_work", official.id)
            if official.smoking is True:
                yield Observation("smoking_at_office", official.id)
            if official.signed_pledge is False and pledge is not None:
                if not (not_organized and pledge.skip_when_unit_not_organized):
                    yield Observation("pledge_not_signed", official.id)
                elif ctx.tracing:
                    ctx.note("pledge_not_signed", official.id,
                             en="not signed, but the unit never organised the pledge: reported once for the unit",
                             vi="chưa ký, nhưng đơn vị chưa tổ chức ký cam kết: ghi nhận một lần cho đơn vị")
        if place is not None and place.no_smoking_signs_posted is False:
            yield Observation("no_smoking_sign_missing", visit.unit.id)
        if not_organized:
            yield Observation("pledges_not_organized", visit.unit.id)


@hookimpl
def compliance_checks() -> list[Check]:
    return [AlcoholTobacco()]
