"""The visit format, composed from what the installed checks observe.

The core visit model (`compliance.visit`) holds what every check shares: the visit, the unit and
each official's identity. Everything inspectors record beyond that belongs to the check that
reads it: a check declares pydantic fragments (`Observed` models) for the places it reads, and
the engine composes them into one strict model when it loads::

    class PhoneUse(Observed):
        phone_gaming: StrictBool | None = observed("Playing games on a phone", "Chơi trò chơi trên điện thoại")

    class PhoneGaming(Check):
        observes = {"official": PhoneUse}

The places are ``official`` (each entry of ``personnel``), ``visit`` (the document's top level:
rarely fields, mostly validators that compare places) and any other name, which is a section
of its own at the top level (``workplace``, ``one_stop``, ``fire_safety``...), shared by every
check that declares a fragment for it. A field no installed check declares is still an error;
two checks may declare the same field only with the same type, values, constraints and default.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MethodType
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from .common import DESCRIPTION_VI
from .errors import InputError, PluginError, Problem
from .jsonkeys import duplicate_key, model_keys
from .validation import problems as validation_problems
from .visit import Official, Visit, nfc_bytes, nfc_data, personnel_of

if TYPE_CHECKING:
    from .check import Check
    from .plugins import CheckInfo

OFFICIAL = "official"
"""The place of each official's observations (an entry of `personnel`)."""
VISIT = "visit"
"""The document's top level."""
CORE_FIELDS: Mapping[str, frozenset[str]] = {
    OFFICIAL: frozenset(Official.model_fields),
    VISIT: frozenset(Visit.model_fields),
}
READ_BY = "x-read-by"
_SCHEMA_NOISE = frozenset({"description", "title", "examples", DESCRIPTION_VI, READ_BY})


class Observed(BaseModel):
    """Base of a check's fragment of the visit format: the fields it reads in one place.

    Every field must be optional (`None` by default): a field not observed is never a
    violation. Fields and pydantic validators are composed into the visit model; other
    methods of the fragment are not.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def observed(en: str, vi: str, **field: Any) -> Any:
    """A field of an `Observed` fragment: None (not observed) by default, described in English
    (`description`) and Vietnamese; other keywords are pydantic `Field` constraints."""
    extra = dict(field.pop("json_schema_extra", None) or {})
    extra[DESCRIPTION_VI] = vi
    return Field(None, description=en, json_schema_extra=extra, **field)


UTC_OFFSET = "utc_offset"
"""Validation context key: the jurisdiction's offset from UTC (a `tzinfo`)."""
WORKING_TIME = "working_time"
"""Validation context key: a function from the visit being validated (a `visit` fragment's
`self`) to its `WorkingTime` (working day, sessions) in its own jurisdiction's calendar, or None
when the visit cannot be placed. A fragment's validator reads both keys as
``info.context.get(...)``, and must accept their absence (a visit validated on its own)."""


@dataclass(frozen=True)
class VisitFormat:
    """The visit model composed for a set of checks, and who reads each of its fields."""

    model: type[Visit]
    readers: Mapping[tuple[str, str], tuple[str, ...]]
    """(place, field) → the ids of the checks that declare it."""
    fragments: Mapping[str, Mapping[str, type[Observed]]]
    """check id → its declared fragments by place."""

    def parse(self, data: Any, *, source: str | None = None, context: Mapping[str, Any] | None = None) -> Visit:
        """A validated visit from a model, a dict or JSON text; InputError names every bad field.

        `context` tells validators about the jurisdiction (see `Jurisdiction`)."""
        model = self.model
        if isinstance(data, model):
            return data
        if isinstance(data, BaseModel):
            data = data.model_dump(exclude_unset=True)
        try:
            if isinstance(data, (str, bytes)):
                raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
                visit, repeated = self.from_json(raw, context=context)
                if repeated is not None:
                    raise InputError([repeated.at(file=source)])
                return visit
            return model.model_validate(nfc_data(data), context=context)
        except ValidationError as exc:
            raise InputError(validation_problems(exc, model, source=source)) from None

    def from_json(self, raw: bytes, *, context: Mapping[str, Any] | None = None) -> tuple[Visit, Problem | None]:
        """A visit validated from its JSON text (ValidationError if it is not one), and the first
        key the text gave twice, or None."""
        visit = self.model.model_validate_json(nfc_bytes(raw), context=context)
        return visit, duplicate_key(raw, model_keys(visit))

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the visit format; every observation names the checks
        that read it (`x-read-by`) and says what it is in English and Vietnamese."""
        schema = self.model.model_json_schema(mode="validation")
        patch_schema(schema.get("$defs", {}))
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return schema

    def example(self) -> dict[str, Any]:
        """A valid visit showing every observation whose declaration gives an example (those
        that would make it inconsistent with the ones before are left out)."""
        out: dict[str, Any] = {
            "visit_id": "VP-2018-0412",
            "inspected_at": "2018-06-12T07:50:00+07:00",
            "unit": {"id": "vp.tam-duong.hop-hoa", "level": "commune", "province": "Vĩnh Phúc"},
            "personnel": [{"id": "hh-003", "category": "cadre", "position": "Phó Chủ tịch UBND"}],
        }
        for place, name in self._in_model_order():
            info = self._field(place, name)
            if info is None or not info.examples:
                continue
            tried = copy.deepcopy(out)
            where = tried["personnel"][0] if place == OFFICIAL else tried if place == VISIT else tried.setdefault(place, {})
            where[name] = info.examples[0]
            try:
                self.model.model_validate(tried)
            except ValidationError:
                continue
            out = tried
        return out

    def _in_model_order(self) -> list[tuple[str, str]]:
        official = list(_official_model(self.model).model_fields)
        root = list(self.model.model_fields)
        order = {(OFFICIAL, name): (0, i) for i, name in enumerate(official)}
        order.update({(VISIT, name): (1, i) for i, name in enumerate(root)})
        return sorted(self.readers, key=lambda pair: order.get(pair, (2 + root.index(pair[0]) if pair[0] in root else 99, pair[1])))  # type: ignore[return-value]

    def _field(self, place: str, name: str) -> FieldInfo | None:
        if place == OFFICIAL:
            return _official_model(self.model).model_fields.get(name)
        if place == VISIT:
            return self.model.model_fields.get(name)
        section = _models_in(self.model.model_fields[place].annotation)
        return section[0].model_fields.get(name) if section else None


def _official_model(visit: type[Visit]) -> type[BaseModel]:
    found = _models_in(visit.model_fields["personnel"].annotation)
    return found[0] if found else Official


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


_HHMM_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"


def patch_schema(defs: dict[str, Any]) -> None:
    """Say in the schema what validation accepts where pydantic cannot tell: a wall-clock time
    ("HH:MM", a custom validator) is not JSON Schema's `time`."""
    for definition in defs.values():
        for prop in (definition.get("properties") or {}).values():
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "string" and option.get("format") == "time":
                    option.pop("format")
                    option["pattern"] = _HHMM_PATTERN


def compose(checks: Sequence[CheckInfo | Check]) -> VisitFormat:
    """The visit format of `checks`: the core model with every check's fragments added.

    PluginError names both plugins when two declare the same field differently."""
    named = [(c.plugin, type(c.check)) if hasattr(c, "plugin") else (type(c).__module__, type(c)) for c in checks]
    return _compose(tuple(sorted(named, key=lambda pair: pair[1].id)))


@functools.lru_cache(maxsize=64)
def _compose(checks: tuple[tuple[str, type[Any]], ...]) -> VisitFormat:
    places: dict[str, dict[str, tuple[FieldInfo, list[tuple[str, str]]]]] = {}
    validators: dict[str, dict[str, Any]] = {}
    fragments: dict[str, dict[str, type[Observed]]] = {}
    for plugin, check in checks:
        declared = dict(getattr(check, "observes", None) or {})
        fragments[check.id] = declared
        for place in sorted(declared, key=_place_order):
            fragment = declared[place]
            fields = places.setdefault(place, {})
            for name, info in fragment.model_fields.items():
                known = fields.get(name)
                if known is None:
                    fields[name] = (info, [(plugin, check.id)])
                    continue
                if _signature(known[0]) != _signature(info):
                    first_plugin, first_check = known[1][0]
                    raise PluginError(
                        [
                            Problem(
                                "observation_conflict",
                                {
                                    "field": _shown(place, name),
                                    "first": f"{first_check} ({first_plugin})",
                                    "second": f"{check.id} ({plugin})",
                                    "first_type": _type_text(known[0]),
                                    "second_type": _type_text(info),
                                },
                            )
                        ]
                    )
                known[1].append((plugin, check.id))
            for name, validator in _validators(fragment, check.id):
                validators.setdefault(place, {})[name] = validator
    root = places.get(VISIT, {})
    for section in places:
        if section not in (OFFICIAL, VISIT) and section in root:
            first = root[section][1][0]
            second = places[section][next(iter(places[section]))][1][0]
            raise PluginError(
                [
                    Problem(
                        "observation_conflict",
                        {
                            "field": section,
                            "first": f"{first[1]} ({first[0]})",
                            "second": f"{second[1]} ({second[0]})",
                            "first_type": _type_text(root[section][0]),
                            "second_type": "section / mục",
                        },
                    )
                ]
            )
    readers = {
        (place, name): tuple(sorted({cid for _, cid in owners}))
        for place, fields in places.items()
        for name, (_, owners) in fields.items()
    }
    official = _build("Official", Official, places.get(OFFICIAL, {}), validators.get(OFFICIAL, {}), readers, OFFICIAL)
    visit_fields: dict[str, Any] = {"personnel": (personnel_of(official), Field(default_factory=list))}
    for section in sorted(p for p in places if p not in (OFFICIAL, VISIT)):
        model = _build(_camel(section), Observed, places[section], validators.get(section, {}), readers, section)
        owners = sorted({cid for _, (_, o) in places[section].items() for _, cid in o})
        visit_fields[section] = (
            model | None,
            Field(
                None,
                description=f"Observations of '{section}', read by {', '.join(owners)}; null when not observed.",
                json_schema_extra={DESCRIPTION_VI: f"Các quan sát về '{section}'; null khi không quan sát.", READ_BY: owners},
            ),
        )
    for name, (info, _) in places.get(VISIT, {}).items():
        visit_fields[name] = (info.annotation, _with_readers(info, readers[(VISIT, name)]))
    model = create_model(  # type: ignore[call-overload]
        "Visit",
        __base__=Visit,
        __module__=Visit.__module__,
        __doc__=Visit.__doc__,
        __validators__=validators.get(VISIT, {}),
        **visit_fields,
    )
    return VisitFormat(model=model, readers=readers, fragments=fragments)


def _place_order(place: str) -> tuple[int, str]:
    return ({VISIT: 0, OFFICIAL: 1}.get(place, 2), place)


def _build(
    name: str,
    base: type[BaseModel],
    fields: Mapping[str, tuple[FieldInfo, list[tuple[str, str]]]],
    validators: Mapping[str, Any],
    readers: Mapping[tuple[str, str], tuple[str, ...]],
    place: str,
) -> Any:
    definitions = {
        field: (info.annotation, _with_readers(info, readers[(place, field)])) for field, (info, _) in fields.items()
    }
    return create_model(  # type: ignore[call-overload]
        name, __base__=base, __module__=Visit.__module__, __validators__=dict(validators), **definitions
    )


def _with_readers(info: FieldInfo, checks: Sequence[str]) -> FieldInfo:
    out = copy.copy(info)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    out.json_schema_extra = {**extra, READ_BY: list(checks)}
    return out


def _validators(fragment: type[Observed], check_id: str) -> Iterable[tuple[str, Any]]:
    """The fragment's pydantic validators, re-declared under names of their own: composed by
    inheritance, two checks' validators of one name would silently replace each other."""
    decorators = fragment.__pydantic_decorators__
    for name, dec in decorators.model_validators.items():
        yield f"_{check_id}__{name}", model_validator(mode=dec.info.mode)(_function(dec.func))
    for name, dec in decorators.field_validators.items():
        info = dec.info
        yield (
            f"_{check_id}__{name}",
            field_validator(*info.fields, mode=info.mode, check_fields=False)(_function(dec.func)),  # type: ignore[call-overload]
        )


def _function(func: Any) -> Any:
    return func.__func__ if isinstance(func, MethodType) else func


def _signature(info: FieldInfo) -> bytes:
    """What must be identical for two checks to share a field: the JSON Schema of its type,
    values, constraints and default, without the words that describe it."""
    probe = create_model("Probe", field=(info.annotation, _bare(info)))
    schema = probe.model_json_schema(mode="validation")
    return orjson.dumps(_without_noise(schema), option=orjson.OPT_SORT_KEYS)


def _bare(info: FieldInfo) -> FieldInfo:
    out = copy.copy(info)
    out.description = None
    out.title = None
    out.examples = None
    out.json_schema_extra = None
    return out


def _without_noise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_noise(v) for k, v in value.items() if k not in _SCHEMA_NOISE}
    if isinstance(value, list):
        return [_without_noise(v) for v in value]
    return value


def _type_text(info: FieldInfo) -> str:
    return re.sub(r"\b(typing|pydantic|compliance[\w.]*|[\w.]*_checks?\.[\w.]*)\.", "", repr(info.annotation))


def _shown(place: str, name: str) -> str:
    if place == OFFICIAL:
        return f"personnel[].{name}"
    return name if place == VISIT else f"{place}.{name}"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", name) if part)


__all__ = ["OFFICIAL", "UTC_OFFSET", "VISIT", "WORKING_TIME", "Observed", "VisitFormat", "compose", "observed", "patch_schema"]
