"""The embedding API: everything another inspection system needs, typed and stable.

Load a ruleset once, then evaluate visits from any number of threads::

    >>> from compliance import Engine, evaluate_many, list_checks, ruleset_info
    >>> engine = Engine.load()                      # the base ruleset and the installed checks
    >>> visit = {
    ...     "visit_id": "VP-2018-0001",
    ...     "inspected_at": "2018-06-12T07:50:00+07:00",
    ...     "unit": {"id": "vp.hop-hoa", "level": "commune"},
    ...     "personnel": [{"id": "hh-017", "attendance": "absent", "signed_pledge": True}],
    ... }
    >>> result = engine.evaluate(visit)             # a Visit, a dict or JSON text
    >>> [(f.check, f.rule, f.subject.id) for f in result.findings]
    [('working_hours', 'absent_unexcused', 'hh-017')]
    >>> result.grade.points > 0, sorted(result.grade.label)
    (True, ['en', 'vi'])

Many visits at once, each located by its position when it is bad::

    >>> [r.visit_id for r in evaluate_many(engine, [visit, {**visit, "visit_id": "VP-2018-0002"}])]
    ['VP-2018-0001', 'VP-2018-0002']
    >>> from compliance import InputError
    >>> try:
    ...     evaluate_many(engine, [visit, {**visit, "personel": []}])
    ... except InputError as error:
    ...     print(error.problems[0].render("en"))
    #2: personel: unknown field 'personel': no installed check reads it (did you mean 'personnel'?)

What is installed, and the JSON Schemas of the exchange formats::

    >>> ("working_hours", "absent_unexcused") in {(c.check, c.rule) for c in list_checks(engine)}
    True
    >>> ruleset_info(engine).digest.startswith("sha256:")
    True
    >>> visit_schema()["title"], {"visit_id", "findings", "sanctions"} <= set(result_schema()["required"])
    ('Visit', True)

A loaded `Engine` is immutable and thread-safe: share one between threads (or a web
service's worker threads); the same visit gives the same result in any of them.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeAlias

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from .engine import Engine, checked_as_of
from .errors import InputError, Problem
from .history import History
from .observations import VisitFormat, compose, patch_schema
from .plugins import installed_checks
from .result import PriorFinding, Result
from .validation import describe
from .validation import problems as validation_problems
from .visit import Id, Visit, nfc_data

VisitInput: TypeAlias = Visit | Mapping[str, Any] | str | bytes
"""What `evaluate` accepts: a validated `Visit`, a dict in the exchange format, or JSON text."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- evaluation


def evaluate(
    engine: Engine,
    visit: VisitInput,
    *,
    history: History | Iterable[PriorFinding] = (),
    as_of: date | None = None,
) -> Result:
    """`engine.evaluate` as a function (the visit model refuses implausible times itself).

    >>> engine = Engine.load()
    >>> evaluate(engine, '{"visit_id": "v1", "inspected_at": "2018-06-12T10:00:00+07:00",'
    ...                  ' "unit": {"id": "u1", "level": "district"}}').findings
    ()
    """
    return engine.evaluate(visit, history=history, as_of=as_of)


def installed_format() -> VisitFormat:
    """The visit format of the checks installed here (an engine has its own: `Engine.visit_format`)."""
    return compose(installed_checks())


def parse_visit(data: VisitInput, *, source: str | None = None, engine: Engine | None = None) -> Visit:
    """A validated visit from a model, a dict or JSON text, in `engine`'s visit format (by
    default the format of the checks installed here); InputError names every bad field."""
    if engine is not None:
        return engine.parse_visit(data, source=source)
    return installed_format().parse(data, source=source)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One visit of a batch: its 1-based position and either a result or the problems found."""

    index: int
    result: Result | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result is not None


def iter_evaluations(
    engine: Engine,
    visits: Iterable[VisitInput],
    *,
    history: History | Iterable[PriorFinding] = (),
    as_of: date | None = None,
) -> Iterator[Outcome]:
    """Evaluate visits one by one, lazily; a bad visit gives problems and the rest go on.

    Every problem of a bad visit carries its 1-based position as `record`.

    >>> engine = Engine.load()
    >>> good = {"visit_id": "v1", "inspected_at": "2018-06-12T10:00:00+07:00",
    ...         "unit": {"id": "u1", "level": "district"}}
    >>> for outcome in iter_evaluations(engine, [good, {"visit_id": "v2"}]):
    ...     print(outcome.index, outcome.ok, [p.path for p in outcome.problems])
    1 True []
    2 False ['inspected_at', 'unit']
    """
    prior = history if isinstance(history, History) else engine.history(history)  # checked and indexed once
    for index, visit in enumerate(visits, start=1):
        try:
            result = evaluate(engine, visit, history=prior, as_of=as_of)
        except InputError as exc:
            yield Outcome(index, problems=tuple(p.at(record=index) for p in exc.problems))
        else:
            yield Outcome(index, result=result)


def evaluate_many(
    engine: Engine,
    visits: Iterable[VisitInput],
    *,
    history: History | Iterable[PriorFinding] = (),
    as_of: date | None = None,
) -> list[Result]:
    """The results of many visits, in order; InputError names every bad visit and field.

    All visits are evaluated even when some are bad, so that one error report lists every
    problem. `history` applies to each visit (earlier findings of the same subjects).
    Use `iter_evaluations` to keep the good results when some visits are bad.
    """
    results: list[Result] = []
    problems: list[Problem] = []
    for outcome in iter_evaluations(engine, visits, history=history, as_of=as_of):
        if outcome.result is not None:
            results.append(outcome.result)
        else:
            problems.extend(outcome.problems)
    if problems:
        raise InputError(problems)
    return results


# --------------------------------------------------------------------------- history from JSON


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"bad_date:{value!r}")


_Id = Id
"""History names its subjects as visits do: the same ids, refused with the same invisible characters."""


class PriorFindingIn(BaseModel):
    """A `PriorFinding` as JSON: one finding of an earlier visit, for repeat escalation."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, title="PriorFinding")

    visit_id: _Id
    date: Annotated[_dt.date, BeforeValidator(_iso_date)] = Field(
        description="The earlier visit's local date, YYYY-MM-DD."
    )
    unit_id: _Id
    subject_type: Literal["official", "unit"]
    subject_id: _Id
    rule: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$", max_length=200, description="'check.rule'")

    def to_prior(self) -> PriorFinding:
        return PriorFinding(self.visit_id, self.date, self.unit_id, self.subject_type, self.subject_id, self.rule)


class EvaluationRequest(BaseModel):
    """A visit together with the earlier findings of its subjects (the service's envelope).

    `request_model` gives the envelope of an engine's own visit format."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="EvaluationRequest")

    visit: Visit
    history: list[PriorFindingIn] = Field(default_factory=list, max_length=100_000)

    def prior_findings(self) -> list[PriorFinding]:
        return [p.to_prior() for p in self.history]


@lru_cache(maxsize=16)
def request_model(visit_model: type[Visit]) -> type[EvaluationRequest]:
    """The envelope ``{"visit": {...}, "history": [...]}`` holding visits of `visit_model`."""
    return create_model(
        "EvaluationRequest", __base__=EvaluationRequest, __module__=__name__, __doc__=EvaluationRequest.__doc__,
        visit=(visit_model, ...),
    )


class _History(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    history: list[PriorFindingIn] = Field(max_length=100_000)


def parse_history(data: Sequence[Mapping[str, Any]] | str | bytes) -> list[PriorFinding]:
    """History entries from a list of dicts or JSON text (as `history_from` results serialise).

    >>> parse_history('[{"visit_id": "v0", "date": "2018-01-15", "unit_id": "u1",'
    ...               ' "subject_type": "official", "subject_id": "o1", "rule": "working_hours.late_arrival"}]')
    [PriorFinding(visit_id='v0', date=datetime.date(2018, 1, 15), unit_id='u1', subject_type='official', subject_id='o1', rule='working_hours.late_arrival')]
    """
    try:
        entries = orjson.loads(data) if isinstance(data, (str, bytes)) else list(data)
    except orjson.JSONDecodeError as exc:
        raise InputError([Problem("bad_json", {"detail": str(exc)}, path="history")]) from None
    try:
        parsed = _History.model_validate({"history": entries})
    except ValidationError as exc:
        raise InputError(validation_problems(exc, _History)) from None
    return [e.to_prior() for e in parsed.history]


def parse_request(data: Mapping[str, Any], engine: Engine | None = None) -> tuple[Visit, list[PriorFinding]]:
    """A visit and its history from a parsed JSON object: a bare visit or an `EvaluationRequest`.

    An object with a `visit` key is the envelope ``{"visit": {...}, "history": [...]}``;
    any other object is the visit itself. Problems name the field path within `data`.
    JSON text is held to the published schema: `inspected_at` must be a string.

    >>> visit, history = parse_request({"visit": {"visit_id": "v1", "inspected_at": 1528764600,
    ...                                           "unit": {"id": "u1", "level": "commune"}}})
    Traceback (most recent call last):
    ...
    compliance.errors.InputError: visit.inspected_at: expected an ISO 8601 time with offset, e.g. 2018-06-12T07:50:00+07:00, found 1528764600
    """
    data = nfc_data(data)
    visit_format = engine.visit_format if engine is not None else installed_format()
    if "visit" in data:
        raw_visit = data.get("visit")
        fixed, problems = _text_time(raw_visit, "visit.")
        envelope = request_model(visit_format.model)
        try:
            request = envelope.model_validate({**data, "visit": fixed} if fixed is not raw_visit else data)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, envelope))
            raise InputError(problems) from None
        if problems:
            raise InputError(problems)
        try:
            visit = request.visit
        except InputError as exc:
            raise InputError([p.at(path=f"visit.{p.path}") for p in exc.problems]) from None
        return visit, request.prior_findings()
    fixed, problems = _text_time(data, "")
    try:
        visit = visit_format.parse(fixed)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    if problems:
        raise InputError(problems)
    return visit, []


_PLACEHOLDER_TIME = "2000-01-01T00:00:00+00:00"


def _text_time(data: Any, prefix: str) -> tuple[Any, list[Problem]]:
    """pydantic reads a number as a Unix time; the exchange format wants ISO 8601 text.

    Returns the data with a placeholder time (so that every other field is still checked)
    and the problem, or the data unchanged and no problem.
    """
    if not isinstance(data, Mapping):
        return data, []
    value = data.get("inspected_at")
    if value is None or isinstance(value, str):
        return data, []
    problem = Problem(
        "wrong_type",
        {
            "expected_vi": "thời điểm ISO 8601 có múi giờ, ví dụ 2018-06-12T07:50:00+07:00",
            "expected_en": "an ISO 8601 time with offset, e.g. 2018-06-12T07:50:00+07:00",
            "found": describe(value),
        },
        path=f"{prefix}inspected_at",
    )
    return {**data, "inspected_at": _PLACEHOLDER_TIME}, [problem]


# --------------------------------------------------------------------------- what is installed


@dataclass(frozen=True, slots=True)
class RuleVersionInfo:
    """One dated version of a rule."""

    effective_from: str
    effective_to: str | None
    severity: str
    legal_basis: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One rule of an installed check, with its versions in the loaded ruleset."""

    check: str
    rule: str
    subject: str
    summary: str
    versions: tuple[RuleVersionInfo, ...]
    plugin: str
    source: str


@dataclass(frozen=True, slots=True)
class VersionSpan:
    effective_from: str
    effective_to: str | None


@dataclass(frozen=True, slots=True)
class RulesetFile:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class RulesetInfo:
    """A loaded ruleset: name, version, digest, its files and the periods of its parts."""

    name: str
    version: str
    jurisdiction: str | None
    digest: str
    files: tuple[RulesetFile, ...]
    calendar: tuple[VersionSpan, ...]
    grading: tuple[VersionSpan, ...]
    rules: tuple[RuleInfo, ...]


def _span(v: Any) -> VersionSpan:
    return VersionSpan(v.effective_from.isoformat(), v.effective_to.isoformat() if v.effective_to else None)


def list_checks(engine: Engine) -> list[RuleInfo]:
    """Every rule of every installed check, in check then rule order, with its versions in any
    ruleset of the engine (a province's own rules included)."""
    out: list[RuleInfo] = []
    for info in engine.checks:
        check = info.check
        for rule_id, rule in check.rules.items():
            versions = engine.catalogue.rule_versions.get(check.id, {}).get(rule_id, ())
            out.append(
                RuleInfo(
                    check=check.id,
                    rule=rule_id,
                    subject=rule.subject,
                    summary=rule.summary,
                    versions=tuple(
                        RuleVersionInfo(
                            effective_from=v.effective_from.isoformat(),
                            effective_to=v.effective_to.isoformat() if v.effective_to else None,
                            severity=v.severity.value,
                            legal_basis=tuple(ref.document for ref in v.legal_basis),
                        )
                        for v in versions
                    ),
                    plugin=info.plugin,
                    source=info.source,
                )
            )
    return out


def rulesets_info(engine: Engine) -> list[RulesetInfo]:
    """Every ruleset of the engine's catalogue (one per province's overlay), in date order."""
    return [ruleset_info(engine, r.name) for r in engine.rulesets]


def ruleset_info(engine: Engine, name: str | None = None) -> RulesetInfo:
    """A loaded ruleset's identity (name, version, digest) and its dated versions: the one
    named `name` (a province's), or the earliest in force."""
    ruleset = engine.catalogue.by_name[name] if name is not None else engine.ruleset
    return RulesetInfo(
        name=ruleset.name,
        version=ruleset.version,
        jurisdiction=ruleset.meta.jurisdiction,
        digest=ruleset.digest,
        files=tuple(RulesetFile(f.name, f.sha256, f.size) for f in sorted(ruleset.files, key=lambda f: f.name)),
        calendar=tuple(_span(v) for v in ruleset.calendar.versions),
        grading=tuple(_span(v) for v in ruleset.grading.versions),
        rules=tuple(list_checks(engine)),
    )


# --------------------------------------------------------------------------- JSON


def to_jsonable(value: Any) -> Any:
    """Plain JSON data (dicts, lists, strings, numbers) from results and the info objects."""
    return orjson.loads(orjson.dumps(value))


def _schema(kind: str, visit_format: VisitFormat | None) -> dict[str, Any]:
    schema: dict[str, Any]
    if kind == "result" or visit_format is None:
        schema = TypeAdapter(Result).json_schema(mode="serialization")
        schema["description"] = "The result of evaluating one visit, in the exchange contract's shape."
    elif kind == "visit":
        schema = visit_format.json_schema()
        schema["description"] = (Visit.__doc__ or "").strip()
    else:
        schema = request_model(visit_format.model).model_json_schema(mode="validation")
    patch_schema(schema.get("$defs", {}))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def visit_schema(engine: Engine | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a visit document in `engine`'s format (by default the
    checks installed here): each observation says which checks read it, in English and
    Vietnamese. A fresh copy each call."""
    return _schema("visit", engine.visit_format if engine is not None else installed_format())


def result_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one visit's result, as `Result.to_json` writes it."""
    return _schema("result", None)


def request_schema(engine: Engine | None = None) -> dict[str, Any]:
    """The JSON Schema of an `EvaluationRequest`: ``{"visit": {...}, "history": [...]}``."""
    return _schema("request", engine.visit_format if engine is not None else installed_format())


__all__ = [
    "Engine",
    "EvaluationRequest",
    "checked_as_of",
    "Outcome",
    "PriorFindingIn",
    "RuleInfo",
    "RuleVersionInfo",
    "RulesetFile",
    "RulesetInfo",
    "VersionSpan",
    "VisitInput",
    "evaluate",
    "evaluate_many",
    "iter_evaluations",
    "list_checks",
    "parse_history",
    "parse_request",
    "installed_format",
    "parse_visit",
    "request_model",
    "request_schema",
    "result_schema",
    "ruleset_info",
    "rulesets_info",
    "to_jsonable",
    "visit_schema",
]
