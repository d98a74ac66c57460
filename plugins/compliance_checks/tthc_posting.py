"""Public posting of administrative procedures (niêm yết công khai TTHC) at the one-stop desk.

Completeness is procedures posted over procedures in scope; below the threshold is a finding,
and nothing posted at all is graver. An out-of-date posting is its own finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from compliance import Check, Context, Observation, Rule, Severity, Thresholds, Visit, hookimpl


class CompletenessThresholds(Thresholds):
    min_completeness: float = Field(
        1.0, gt=0, le=1, description="Share of in-scope procedures that must be posted (1.0: all)."
    )
    severity_when_none_posted: Severity | None = Field(
        Severity.serious, description="Severity when no procedure at all is posted; null keeps the rule's."
    )


class NoThresholds(Thresholds):
    pass


class TthcPosting(Check):
    id = "tthc_posting"
    title = {"vi": "Niêm yết công khai thủ tục hành chính", "en": "Public posting of administrative procedures"}
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
        desk = visit.one_stop
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
        if desk.posting_up_to_date is False and posted != 0:
            yield Observation("posting_outdated", unit)


@hookimpl
def compliance_checks() -> list[Check]:
    return [TthcPosting()]
