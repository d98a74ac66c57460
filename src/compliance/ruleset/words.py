"""The words reports use for findings, gathered from every check's `report:` into one document.

Each check's rules file says how reports speak of its findings (see `ReportWords`). A batch
writes them, with every rule reference spelt out as 'check.rule', into `summary.json`
(`report_words`), so that a report made where a plugin is not installed still speaks of its
findings in the plugin's own words. A report reads them back through `ReportVocabulary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, ValidationError

from ..visit import UnitLevel
from .loader import CORE_GROUPS, expand_words_ref
from .model import Order, Phrase, ReportWords, Strict, Variants, Words


class FlatCondition(Strict):
    none: list[str] = Field(default_factory=list)
    few: list[str] = Field(default_factory=list)
    many: list[str] = Field(default_factory=list)
    found: list[str] = Field(default_factory=list)
    levels: list[UnitLevel] | None = None


class FlatComplied(Words):
    when: FlatCondition
    order: Order = 100


class FlatShortcoming(Words):
    group: str
    order: Order = 100
    by_evidence: Variants | None = None


class FlatCounted(Words):
    rules: list[str]
    order: Order = 100
    en_one: Phrase | None = None
    metric: str


class FlatGroup(Strict):
    order: Order = 100
    lead: Words
    tail: Words | None = None


class FlatExplaining(Words):
    order: Order = 100


class ReportVocabulary(Strict):
    """Every check's report words, rule references spelt 'check.rule' (summary.json's `report_words`)."""

    groups: dict[str, FlatGroup] = Field(default_factory=dict)
    complied: list[FlatComplied] = Field(default_factory=list)
    shortcomings: dict[str, FlatShortcoming] = Field(default_factory=dict)
    counted: list[FlatCounted] = Field(default_factory=list)
    explaining: dict[str, FlatExplaining] = Field(default_factory=dict)

    @classmethod
    def read(cls, data: Any) -> ReportVocabulary | None:
        """The vocabulary a summary holds, or None when it has none or it is not one."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


def catalogue_words(rulesets: Iterable[Any]) -> dict[str, ReportWords]:
    """Every check's report words across the rulesets of a catalogue (a province's own rules
    bring theirs); the first ruleset that speaks of a rule names it, and a sentence two of them
    share is said once."""
    out: dict[str, ReportWords] = {}
    for ruleset in rulesets:
        for check, words in ruleset.words.items():
            out[check] = words if check not in out else out[check].union(words)
    return out


def vocabulary(words: Mapping[str, ReportWords], rules: Mapping[str, Iterable[str]]) -> ReportVocabulary:
    """One vocabulary from the checks' words; `rules` are every installed check's rule ids."""
    known = {check: list(ids) for check, ids in rules.items()}
    out: dict[str, Any] = {"groups": {}, "complied": [], "shortcomings": {}, "counted": [], "explaining": {}}
    for check in sorted(words):
        own = words[check]

        def keys(refs: Iterable[str], check: str = check) -> list[str]:
            return [key for ref in refs for key in expand_words_ref(ref, check, known)]

        for name, group in own.groups.items():
            out["groups"][f"{check}.{name}"] = group.model_dump()
        for sentence in own.complied:
            when = sentence.when
            out["complied"].append(
                {
                    "vi": sentence.vi,
                    "en": sentence.en,
                    "order": sentence.order,
                    "when": {
                        "none": keys(when.none),
                        "few": keys(when.few),
                        "many": keys(when.many),
                        "found": keys(when.found),
                        "levels": when.levels,
                    },
                }
            )
        for rule, item in own.shortcomings.items():
            group = item.group if item.group in CORE_GROUPS else f"{check}.{item.group}"
            out["shortcomings"][f"{check}.{rule}"] = {**item.model_dump(), "group": group}
        for counted in own.counted:
            covered = keys(counted.rules)
            metric = covered[0] if len(covered) == 1 else check
            out["counted"].append({**counted.model_dump(), "rules": covered, "metric": metric})
        for rule, item in own.explaining.items():
            out["explaining"][f"{check}.{rule}"] = item.model_dump()
    return ReportVocabulary.model_validate(out)


__all__ = ["ReportVocabulary", "catalogue_words", "vocabulary"]
