"""Public posting of administrative procedures (niêm yết công khai TTHC) at the one-stop desk.

Completeness is procedures posted over procedures in scope; below the threshold is a finding,
and nothing posted at all is graver. An out-of-date posting is its own finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, StrictBool, model_validator

from compliance import Check, Context, Observation, Observed, Rule, Severity, Thresholds, Visit, described, hookimpl, observed
from compliance.visit import Count


class Posting(Observed):
    procedures_in_scope: Count | None = observed(
        "Administrative procedures (TTHC) the unit must post.", "Số TTHC đơn vị phải niêm yết.", examples=[120]
    )
    procedures_posted: Count | None = observed(
        "Procedures actually posted at the one-stop desk.", "Số TTHC thực tế niêm yết tại bộ phận một cửa.",
        examples=[85],
    )
    posting_up_to_date: StrictBool | None = observed(
        "The posted procedures are current.", "TTHC niêm yết được cập nhật.", examples=[False]
    )

    @model_validator(mode="after")
    def _posted_within_scope(self) -> Any:
        if (
            self.procedures_in_scope is not None
            and self.procedures_posted is not None
            and self.procedures_posted > self.procedures_in_scope
        ):
            raise ValueError(
                f"inconsistent:procedures_posted ({self.procedures_posted}) exceeds "
                f"procedures_in_scope ({self.procedures_in_scope})"
                f"|số TTHC niêm yết ({self.procedures_posted}) lớn hơn số TTHC thuộc phạm vi "
                f"({self.procedures_in_scope})"
            )
        return self


class CompletenessThresholds(Thresholds):
    min_completeness: float = Field(
        1.0, gt=0, le=1, **described(
            "Share of in-scope procedures that must be posted (1.0: all).",
            "Tỷ lệ thủ tục hành chính thuộc phạm vi phải được niêm yết (1.0: tất cả).",
        )
    )
    severity_when_none_posted: Severity | None = Field(
        Severity.serious, **described(
            "Severity when no procedure at all is posted; null keeps the rule's.",
            "Mức độ khi không niêm yết thủ tục nào; để trống thì giữ mức độ của quy tắc.",
        )
    )


class NoThresholds(Thresholds):
    pass


class TthcPosting(Check):
    id = "tthc_posting"
    title = {"vi": "Niêm yết công khai thủ tục hành chính", "en": "Public posting of administrative procedures"}
    observes = {"one_stop": Posting}
    rules = {
        "procedures_not_posted": Rule(
            "unit",
            "Fewer procedures posted than in scope (completeness below threshold).",
            CompletenessThresholds,
            evidence=("procedures_posted", "procedures_in_scope", "completeness", "min_completeness"),
            title={
                "vi": "Không niêm yết đầy đủ thủ tục hành chính",
                "en": "Administrative procedures not fully posted",
            },
        ),
        "posting_outdated": Rule(
            "unit", "The posted procedures are out of date.", NoThresholds,
            title={"vi": "Thủ tục hành chính niêm yết không cập nhật", "en": "Posted procedures out of date"},
        ),
    }

    def evaluate(self, visit: Visit, ctx: Context) -> Iterator[Observation]:
        desk = visit.one_stop  # type: ignore[attr-defined]
        if desk is None:
            return
        unit = visit.unit.id
        limits = ctx.thresholds("procedures_not_posted")
        scope, posted = desk.procedures_in_scope, desk.procedures_posted
        if limits is not None and scope and posted is not None:
            completeness = posted / scope
            if completeness < limits.min_completeness:
                yield Observation(
                    "procedures_not_posted",
                    unit,
                    {
                        "procedures_posted": posted,
                        "procedures_in_scope": scope,
                        "completeness": round(completeness, 4),
                        "min_completeness": limits.min_completeness,
                    },
                    severity=limits.severity_when_none_posted if posted == 0 else None,
                )
            elif ctx.tracing:
                ctx.note("procedures_not_posted", unit, en="{posted} of {scope} posted: at or above {min}",
                         vi="đã niêm yết {posted}/{scope}: đạt ngưỡng {min}", posted=posted, scope=scope,
                         min=limits.min_completeness)
        if desk.posting_up_to_date is False and posted != 0:
            yield Observation("posting_outdated", unit)
        elif ctx.tracing and desk.posting_up_to_date is False:
            ctx.note("posting_outdated", unit, en="nothing is posted: reported as not posted, not as out of date",
                     vi="không niêm yết TTHC nào: ghi nhận là chưa niêm yết, không phải không cập nhật")


@hookimpl
def compliance_checks() -> list[Check]:
    return [TthcPosting()]
