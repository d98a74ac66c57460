"""A catalogue of rulesets: the national base, each province's overlay, and which applies to a visit.

Law that is national is written once, in the base; what a province sets (its working hours and
days off, its own requirements, thresholds and grading it chooses) lives in its overlay, which
`extends` the base and names the provinces it covers and from when to when. The catalogue
routes every visit by its unit's province and its local date, so no visit is evaluated with
another province's law: a visit no overlay covers is an input error naming the province and the
date. Provinces merged into others by a reform (Vĩnh Phúc into Phú Thọ on 2025-07-01) keep
their name only where the data says so (`unit.merged_into`).

A directory holding `catalogue.yaml` is a catalogue; one holding `ruleset.yaml` is a single
ruleset (a province's overlay, with its base, or a ruleset complete on its own), which this
module presents as a catalogue of one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from ..check import Check
from ..errors import InputError, Problem, RulesError
from .loader import CATALOGUE_FILE, Ruleset, SourceFile, _Collector, _sorted, _unique, default_rules_dir, load_ruleset
from .model import CatalogueMeta, LevelEnd, ProvinceChange, RuleVersion

_PREFIXES = ("tỉnh ", "thành phố ", "tp. ", "tp ")


@functools.lru_cache(maxsize=4096)
def province_key(name: str) -> str:
    """A province's name as routing compares it: NFC, any case, spaces collapsed, without the
    leading 'tỉnh' or 'thành phố' a system may write."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().casefold()
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):].strip()
    return text


@dataclass(frozen=True)
class Route:
    """The ruleset a visit is evaluated with, and the province it was routed as."""

    ruleset: Ruleset
    province: str | None


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The rulesets a deployment evaluates with, and the routing of visits to them. Immutable."""

    directory: Path
    rulesets: tuple[Ruleset, ...]
    meta: CatalogueMeta | None = None
    files: tuple[SourceFile, ...] = ()
    _covers: dict[str, list[tuple[date, date | None, Ruleset]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for ruleset in self.rulesets:
            for cover in ruleset.covers:
                self._covers.setdefault(province_key(cover.province), []).append(
                    (cover.effective_from, cover.effective_to, ruleset)
                )
        for spans in self._covers.values():
            spans.sort(key=lambda s: s[0])

    @property
    def name(self) -> str:
        return self.meta.name if self.meta is not None else self.rulesets[0].name

    @property
    def version(self) -> str:
        return self.meta.version if self.meta is not None else self.rulesets[0].version

    @cached_property
    def digest(self) -> str:
        if self.meta is None:
            return self.rulesets[0].digest
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.name):
            h.update(f.name.encode() + b"\0" + f.sha256.encode() + b"\n")
        for ruleset in sorted(self.rulesets, key=lambda r: r.name):
            h.update(ruleset.name.encode() + b"\0" + ruleset.digest.encode() + b"\n")
        return "sha256:" + h.hexdigest()

    @property
    def primary(self) -> Ruleset:
        """The ruleset in force earliest (a catalogue of one: that one)."""
        return self.rulesets[0]

    @cached_property
    def utc_offset(self) -> str:
        return self.primary.calendar.utc_offset

    @cached_property
    def _changes(self) -> dict[str, ProvinceChange]:
        return {province_key(c.name): c for c in (self.meta.provinces if self.meta else ())}

    @cached_property
    def by_name(self) -> dict[str, Ruleset]:
        return {r.name: r for r in self.rulesets}

    def route(self, province: str | None, day: date, merged_into: str | None = None) -> Route:
        """The ruleset for a visit to a unit of `province` on its local date `day`; InputError
        (at unit.province) when none may evaluate it."""
        if not province or not province.strip():
            home = next((h for h in (self.meta.home if self.meta else ()) if h.covers(day)), None)
            if home is not None:
                return self.route(home.province, day)
            catch_all = self._catch_all(day, uncovered_only=False)
            if catch_all is not None:
                return Route(catch_all, None)
            raise InputError([Problem("province_missing", {"date": day.isoformat(), **self._known()}, path="unit.province")])
        key = province_key(province)
        change = self._changes.get(key)
        if change is not None and day > change.effective_to:
            target = province_key(change.merged_into)
            if merged_into is not None and province_key(merged_into) == target:
                return self.route(change.merged_into, day)
            params = {"province": province, "date": day.isoformat(), "merged_into": change.merged_into,
                      "since": (change.effective_to.toordinal() + 1), "basis": change.legal_basis[0].document}
            params["since"] = date.fromordinal(params["since"]).isoformat()
            if merged_into is not None:
                raise InputError([Problem("merged_into_wrong", {"found": merged_into, **params}, path="unit.merged_into")])
            raise InputError([Problem("province_merged", params, path="unit.province")])
        for start, end, ruleset in self._covers.get(key, ()):
            if start <= day and (end is None or day <= end):
                return Route(ruleset, province)
        catch_all = self._catch_all(day, uncovered_only=True)
        if catch_all is not None:
            return Route(catch_all, province)
        raise InputError(
            [Problem("province_not_covered", {"province": province, "date": day.isoformat(), **self._known()}, path="unit.province")]
        )

    def _catch_all(self, day: date, *, uncovered_only: bool) -> Ruleset | None:
        """A ruleset that names no province evaluates any visit (a ruleset complete on its own,
        as a province keeps it); a lone overlay evaluates visits that name no province."""
        for ruleset in self.rulesets:
            if not ruleset.covers:
                return ruleset
        if not uncovered_only and len(self.rulesets) == 1 and self.meta is None:
            return self.rulesets[0]
        return None

    def _known(self) -> dict[str, str]:
        spans = []
        for ruleset in self.rulesets:
            for c in ruleset.covers:
                span = f"{c.effective_from.isoformat()}…{c.effective_to.isoformat() if c.effective_to else ''}"
                spans.append(f"{c.province} {span}")
        if not spans:
            return {}
        listed = "; ".join(spans)
        return {"known_vi": f" (các bộ quy tắc hiện có: {listed})", "known_en": f" (rulesets here: {listed})"}

    def level_problem(self, ruleset: Ruleset, level: str, day: date) -> Problem | None:
        """A visit to a unit of a level the law abolished before `day`."""
        end: LevelEnd | None = next((e for e in ruleset.unit_levels if e.level.value == level), None)
        if end is None or day <= end.effective_to:
            return None
        return Problem(
            "level_abolished",
            {"level": level, "date": day.isoformat(), "until": end.effective_to.isoformat(),
             "reform_vi": end.reform.vi, "reform_en": end.reform.en},
            path="unit.level",
        )

    @cached_property
    def rule_versions(self) -> dict[str, dict[str, tuple[RuleVersion[Any], ...]]]:
        """Every rule's versions in any of the rulesets (the same version once), for listings
        and coverage over the whole catalogue."""
        out: dict[str, dict[str, dict[tuple[Any, ...], RuleVersion[Any]]]] = {}
        for ruleset in self.rulesets:
            for check, by_rule in ruleset.rules.items():
                for rule, versions in by_rule.items():
                    for v in versions:
                        out.setdefault(check, {}).setdefault(rule, {}).setdefault(
                            (v.effective_from, v.effective_to, v.model_dump_json()), v
                        )
        return {
            check: {rule: tuple(sorted(vs.values(), key=lambda v: v.effective_from)) for rule, vs in by_rule.items()}
            for check, by_rule in out.items()
        }

    @cached_property
    def level_periods(self) -> tuple[str, ...]:
        """The first days after unit levels were abolished (ISO): the periods whose units a
        summary counts by level apart."""
        return tuple(sorted({date.fromordinal(e.effective_to.toordinal() + 1).isoformat()
                             for r in self.rulesets for e in r.unit_levels}))

    @property
    def case_dirs(self) -> list[Path]:
        """Where example cases live: the catalogue's own `cases/`, then each ruleset's."""
        dirs = [self.directory]
        dirs.extend(r.directory for r in self.rulesets if r.directory != self.directory)
        return dirs


def is_catalogue(directory: Path) -> bool:
    return (directory / CATALOGUE_FILE).is_file()


def load_catalogue(directory: str | Path | None, checks: Sequence[Check]) -> Catalogue:
    """The catalogue in `directory` (every province's overlay merged onto the base and
    validated, every mistake of every file at once), or a single ruleset as a catalogue of one."""
    root = Path(directory) if directory is not None else default_rules_dir()
    if not is_catalogue(root):
        return Catalogue(root, (load_ruleset(root, checks),))
    out = _Collector()
    doc = out.read(root / CATALOGUE_FILE, CATALOGUE_FILE)
    meta = out.validate(doc, CatalogueMeta)
    rulesets: list[Ruleset] = []
    problems: list[Problem] = list(out.problems)
    if meta is not None:
        overlays = sorted(p.parent for p in (root / meta.overlays).glob("*/ruleset.yaml"))
        if not overlays:
            problems.append(Problem("rules_no_overlay", {"dir": str(root / meta.overlays)}, file=str(root / CATALOGUE_FILE)))
        for overlay in overlays:
            try:
                rulesets.append(load_ruleset(overlay, checks))
            except RulesError as exc:
                problems.extend(exc.problems)
        problems.extend(_check_covers(rulesets, meta, doc, out))
    if problems:
        raise RulesError(_sorted(_unique(problems)))
    assert meta is not None
    rulesets.sort(key=lambda r: (min((c.effective_from for c in r.covers), default=date.min), r.name))
    offsets = {r.calendar.utc_offset for r in rulesets}
    if len(offsets) > 1:
        raise RulesError([Problem("catalogue_offsets", {"found": ", ".join(sorted(offsets))}, file=str(root / CATALOGUE_FILE))])
    return Catalogue(root, tuple(rulesets), meta, tuple(out.files))


def _check_covers(rulesets: Iterable[Ruleset], meta: CatalogueMeta, doc: Any, out: _Collector) -> list[Problem]:
    """Two overlays may not cover one province on one day: which law applies must not depend on
    the order directories are read in."""
    problems = []
    seen: dict[str, list[tuple[date, date | None, str]]] = {}
    for ruleset in rulesets:
        for cover in ruleset.covers:
            key = province_key(cover.province)
            for start, end, other in seen.get(key, []):
                if cover.effective_from <= (end or date.max) and start <= (cover.effective_to or date.max):
                    problems.append(
                        Problem(
                            "covers_overlap",
                            {"province": cover.province, "first": other, "second": ruleset.name},
                            file=str(ruleset.directory / "ruleset.yaml"),
                        )
                    )
            seen.setdefault(key, []).append((cover.effective_from, cover.effective_to, ruleset.name))
    return problems


__all__ = ["Catalogue", "Route", "is_catalogue", "load_catalogue", "province_key"]
