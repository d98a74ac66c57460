"""Duplicate keys in JSON: the parsers keep the last value without a word, which can hide an
observation (`"smoking": true, "smoking": null`). YAML input already refuses them; this makes
JSON do the same.

The exact test (jiter, which names the key, line and column) costs more than parsing, so it
runs only when a cheap count cannot vouch for the document. Every key written as JSON encoders
write it ends in `":`, and text can hold `":` only as an escaped quote (`\\":`), which counts one
more, never one less; so in a document with no space between a key and its colon, a count of
`":` equal to the number of keys the parsed data holds proves no key was dropped. A document
that puts whitespace before a colon always gets the exact test.
"""

from __future__ import annotations

import re
from typing import Any

import jiter
from pydantic import BaseModel

from .errors import Problem

_DUPLICATE = re.compile(r'duplicate key "(?P<key>.*)" at line (?P<line>\d+) column (?P<column>\d+)', re.DOTALL)
_NESTED: dict[type[BaseModel], tuple[str, ...]] = {}
_SPACED_KEY = re.compile(rb'"[ \t\r\n]+:')


def model_keys(model: BaseModel) -> int:
    """How many keys the document held that validated into `model` (forbidding extra keys)."""
    nested = _nested_of(type(model))
    count = len(model.model_fields_set)
    for name in nested:
        value = getattr(model, name)
        if value is None:
            continue
        if type(value) is list:
            if value and not _nested_of(type(value[0])):
                count += sum(len(item.model_fields_set) for item in value)  # officials: no nesting
            else:
                for item in value:
                    count += model_keys(item)
        else:
            count += model_keys(value)
    return count


def _nested_of(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `cls` that hold models (or lists of them)."""
    nested = _NESTED.get(cls)
    if nested is None:
        nested = _NESTED[cls] = tuple(name for name, field in cls.model_fields.items() if _holds_models(field.annotation))
    return nested


def data_keys(data: Any) -> int:
    """How many keys parsed JSON holds, at every depth (iteratively: JSON may nest 1,000 deep)."""
    count = 0
    pending = [data]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            count += len(value)
            pending.extend(v for v in value.values() if type(v) in (dict, list))
        elif type(value) is list:
            pending.extend(v for v in value if type(v) in (dict, list))
    return count


def duplicate_key(raw: bytes, keys: int) -> Problem | None:
    """The first repeated key of the JSON text `raw`, whose parse kept `keys` keys; None if none."""
    if raw.count(b'":') == keys and _SPACED_KEY.search(raw) is None:
        return None
    try:
        jiter.from_json(raw, catch_duplicate_keys=True, cache_mode="none")
    except ValueError as exc:
        found = _DUPLICATE.search(str(exc))
        if found is not None:
            return Problem(
                "json_duplicate_key", {"key": found["key"]}, line=int(found["line"]), column=int(found["column"])
            )
    return None


def _holds_models(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(arg) for arg in getattr(annotation, "__args__", ()))
