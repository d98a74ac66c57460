"""Where a value stands in a rules or case file, said the way the people who edit it think.

A path is the keys from the top of the file down to the value, joined by ' › '. An item of a
list of versions is named by the day it starts, `version from 2016-09-05` / `phiên bản từ
2016-09-05` (`official-explanation, version from 2007-09-01` in a list that holds the versions
of several policies), since that is how an author finds it; when that day cannot be read, by
its place (`3rd version` / `phiên bản thứ 3`). An item of any other list is named by its place
counted from 1, `#1`, as a person counts (`legal_basis › #1 › document`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from .errors import shorten

ARROW = " › "
VERSION_LISTS = frozenset({"versions", "policies", "discipline_forms"})
"""Keys whose list holds versions; so does each rule of a check file (`rules › <rule>`)."""
_GROUPED_BY = ("id", "category")
"""What tells apart the things whose versions share one list (sanction policies, discipline forms)."""
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TWIN_SCAN = 64
"""Versions a list may hold for its versions' names to be checked for a shared start; in a
longer one every name also gives the place (`version from 2016-09-05 (#70)`), so that naming
each of thousands of problems does not read the whole list again."""


Named = tuple[list[str], list[str], Any]
"""The English and Vietnamese names of a path's steps, and the value it leads to."""


def named_path(loc: Sequence[Any], data: Any = None, memo: dict[tuple[Any, ...], Named] | None = None) -> tuple[str, str]:
    """The path to `loc` in the document `data`, in English and in Vietnamese. With `memo`
    (one per document), the path of each parent is named once: thousands of problems in one
    list cost no more than they did before paths had names."""
    loc = tuple(loc)
    en, vi, node = _named(loc, data, memo)
    return ARROW.join(en), ARROW.join(vi)


def _named(loc: tuple[Any, ...], data: Any, memo: dict[tuple[Any, ...], Named] | None) -> Named:
    """The names of `loc`'s steps: its parent's (from `memo` when named before), then its own."""
    if not loc:
        return [], [], data
    if memo is not None and loc in memo:
        return memo[loc]
    en, vi, node = _named(loc[:-1], data, memo)
    part = loc[-1]
    if isinstance(part, int) and not isinstance(part, bool):
        items = node if isinstance(node, list) else None
        node = items[part] if items is not None and 0 <= part < len(items) else None
        if _holds_versions(loc[:-1], items, node):
            said_en, said_vi = _version(items or [], part, node)
        else:
            said_en = said_vi = f"#{part + 1}"
    else:
        said_en = said_vi = shorten(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    named = ([*en, said_en], [*vi, said_vi], node)
    if memo is not None:
        memo[loc] = named
    return named


def path_params(loc: Sequence[Any], data: Any = None, memo: dict[tuple[Any, ...], Named] | None = None) -> dict[str, str | None]:
    """`path` and `path_vi` of a `Problem` at `loc` (None for the top of the file)."""
    if not loc:
        return {"path": None, "path_vi": None}
    en, vi = named_path(loc, data, memo)
    return {"path": en, "path_vi": vi}


def _holds_versions(above: Sequence[Any], items: list[Any] | None, item: Any) -> bool:
    """Whether a list holds versions: by where it stands, or by its items (the one at hand, the
    first one; never a scan of all, since every problem of a long list is named)."""
    if above and isinstance(above[-1], str) and above[-1] in VERSION_LISTS:
        return True
    if len(above) == 2 and above[0] == "rules":
        return True
    return any(isinstance(one, dict) and "effective_from" in one for one in (item, *(items or ())[:1]))


def _starts(item: Any) -> str | None:
    """The day a version starts, as written, when it is one."""
    value = item.get("effective_from") if isinstance(item, dict) else None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DAY.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return None


def _group(item: Any) -> str | None:
    for key in _GROUPED_BY:
        value = item.get(key) if isinstance(item, dict) else None
        if isinstance(value, str) and value:
            return shorten(value)
    return None


def _version(items: list[Any], index: int, item: Any) -> tuple[str, str]:
    day = _starts(item)
    if day is None:
        return f"{_ordinal(index + 1)} version", f"phiên bản thứ {index + 1}"
    group = _group(item)
    en, vi = f"version from {day}", f"phiên bản từ {day}"
    twins = len(items) > TWIN_SCAN or sum(1 for other in items if _starts(other) == day and _group(other) == group) > 1
    if twins:  # two versions that start the same day: their place tells them apart
        en, vi = f"{en} (#{index + 1})", f"{vi} (#{index + 1})"
    if group is not None:
        en, vi = f"{group}, {en}", f"{group}, {vi}"
    return en, vi


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


__all__ = ["ARROW", "named_path", "path_params"]
