"""What a check plugin declares and implements.

A check is one regulation (working hours, office culture, ...). It declares its id, each rule
it can report (with the subject it concerns, the pydantic model of the thresholds its YAML may
set, and the evidence keys its messages may use) and an `evaluate` that looks at a visit and
yields observations. It also declares what it reads of a visit beyond the identities every
check shares (`observes`, pydantic fragments composed into the visit format, see
`compliance.observations`). Severity, messages, legal basis, grading and sanctions come from
the ruleset, not from the check, so policy staff change them without touching Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from .common import Severity, shown_value
from .observations import Observed
from .visit import Code, Visit

SubjectType = Literal["official", "unit"]

ADDED_OFFICIAL_EVIDENCE = ("official_name", "position", "category")
"""What the engine adds to the evidence of a finding about an official, when the visit gives it."""
OFFICIAL_EVIDENCE = ("official_id", *ADDED_OFFICIAL_EVIDENCE)
"""Placeholders every message about an official may use."""
UNIT_EVIDENCE = ("unit_id", "unit_name", "unit_level")
"""Placeholders every message may use; the result carries them at the top level."""


class Thresholds(BaseModel):
    """Base of a rule's thresholds model: unknown keys in the YAML are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


LANGS = ("vi", "en")


def bilingual(value: Any) -> bool:
    """A {vi, en} mapping with a non-blank text in each language."""
    return isinstance(value, Mapping) and all(isinstance(value.get(k), str) and value[k].strip() for k in LANGS)


@dataclass(frozen=True)
class Rule:
    """One rule of a check, as the check declares it.

    `title` is the rule's short name in reports ({"vi": ..., "en": ...}): the check names its
    own rules, so a report never needs to know a check by name.
    """

    subject: SubjectType
    summary: str
    thresholds: type[Thresholds] = Thresholds
    evidence: tuple[str, ...] = ()
    title: Mapping[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        # Raised while the plugin module is imported, so it is reported with the plugin's name.
        if self.title is not None and not bilingual(self.title):
            raise ValueError(f"Rule title must give non-empty 'vi' and 'en' text, not {self.title!r}")

    def placeholders(self) -> frozenset[str]:
        base = UNIT_EVIDENCE + (OFFICIAL_EVIDENCE if self.subject == "official" else ())
        return frozenset(base + self.evidence)

    def finding_evidence(self) -> tuple[str, ...]:
        """The keys a finding's evidence may hold, which is what a case may expect: the rule's
        own and what the engine adds; ids and unit fields stand beside the evidence, not in it."""
        return self.evidence + (ADDED_OFFICIAL_EVIDENCE if self.subject == "official" else ())


@dataclass(frozen=True, slots=True)
class Observation:
    """A rule fired for a subject, with the evidence that shows it.

    `severity` overrides the rule version's severity where the check grades by magnitude
    (for example no procedure posted at all), and only upward or as the YAML configures.
    """

    rule: str
    subject_id: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class WorkingTime:
    """Where the visit moment falls in the jurisdiction's working calendar."""

    working_day: bool
    season: str | None
    sessions: tuple[tuple[time, time], ...]
    session_index: int | None

    @property
    def in_working_hours(self) -> bool:
        return self.session_index is not None

    @property
    def session_start(self) -> time | None:
        return None if self.session_index is None else self.sessions[self.session_index][0]

    @property
    def in_morning(self) -> bool:
        return self.session_index == 0

    @property
    def in_afternoon(self) -> bool:
        return self.session_index is not None and self.session_index > 0


@dataclass(frozen=True, slots=True)
class Note:
    """Why a rule did not fire for a subject (or what it weighed), as a check says it when the
    engine traces an evaluation (`compliance explain`)."""

    rule: str
    subject_id: str
    message: Mapping[str, str]
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """What a check may know besides the visit: the date's thresholds and working time."""

    rules_date: date
    local_moment: datetime
    working: WorkingTime
    thresholds_by_rule: Mapping[str, Thresholds]
    notes: list[Note] | None = None
    """Where `note` keeps what the check says, when the evaluation is traced; None otherwise."""

    def thresholds(self, rule: str) -> Any:
        """The thresholds in force for `rule` on the rules date, or None if it is not in force."""
        return self.thresholds_by_rule.get(rule)

    def active(self, rule: str) -> bool:
        return rule in self.thresholds_by_rule

    @property
    def tracing(self) -> bool:
        """Whether the evaluation is traced: only then is a `note` kept (check before building one)."""
        return self.notes is not None

    def note(self, rule: str, subject_id: str, *, en: str, vi: str, **values: Any) -> None:
        """Say why `rule` did not fire for a subject, e.g. ``en="arrived {arrived_at}, within the
        {grace_minutes} grace minutes"``; `values` fill the {placeholders} of both texts."""
        if self.notes is not None:
            message = {lang: text.format_map({k: _shown(v, lang) for k, v in values.items()}) for lang, text in (("vi", vi), ("en", en))}
            self.notes.append(Note(rule, subject_id, message, {k: _plain(v) for k, v in values.items()}))


def _shown(value: Any, lang: str) -> str:
    if isinstance(value, Code):
        return value.word(lang)
    return value.strftime("%H:%M") if isinstance(value, time) else shown_value(value)


def _plain(value: Any) -> Any:
    """A value as JSON carries it: a code as its text, a time as "HH:MM"."""
    if isinstance(value, Code):
        return value.value
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


class Check:
    """Base class of a regulation check. Subclass, set the class attributes, implement evaluate."""

    id: ClassVar[str]
    title: ClassVar[Mapping[str, str]]
    rules: ClassVar[Mapping[str, Rule]]
    observes: ClassVar[Mapping[str, type[Observed]]] = {}
    """What the check reads of a visit, by place: ``"official"`` (each entry of `personnel`),
    ``"visit"`` (the top level) or a section name (``"workplace"``, ``"one_stop"``, one of its
    own). Each value is an `Observed` model whose fields are added to the visit format."""
    rules_dir: ClassVar[Path | None] = None
    """Where a plugin ships its own `<id>.yaml` and `cases/<id>.yaml`, used when the ruleset
    directory has no file for this check. Built-in checks keep theirs in the base ruleset."""

    def evaluate(self, visit: Visit, ctx: Context) -> Iterable[Observation]:
        raise NotImplementedError

    def rule_titles(self) -> dict[str, dict[str, str]]:
        """Each rule's name for reports, by rule id: its own title or, when it has none, the
        check's title with the rule id (the check's title alone would not tell two rules apart)."""
        own = getattr(self, "title", None)
        out: dict[str, dict[str, str]] = {}
        for rule_id, rule in self.rules.items():
            if rule.title is not None:
                out[rule_id] = {lang: rule.title[lang] for lang in LANGS}
            elif bilingual(own):
                out[rule_id] = {lang: f"{own[lang]}: {rule_id}" for lang in LANGS}
        return out

    def __repr__(self) -> str:
        return f"<check {self.id}>"


def titles_by_rule_key(checks: Iterable[Check]) -> dict[str, dict[str, str]]:
    """Every rule's name for reports across `checks`, by "check.rule"."""
    return {f"{check.id}.{rule}": title for check in checks for rule, title in check.rule_titles().items()}
