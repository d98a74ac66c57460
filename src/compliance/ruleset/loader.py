"""Load a ruleset directory into an immutable `Ruleset`, reporting every mistake at once.

A ruleset directory holds `ruleset.yaml` (name and version), `calendar.yaml` (working days and
hours), `grading.yaml`, `sanctions.yaml` and one `<check>.yaml` per installed check. A check
installed from a plugin may ship its own file (`Check.rules_dir`), used when the directory has
none. Nothing is evaluated with a ruleset that has any error.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .. import public_holidays
from ..check import Check
from ..common import placeholders
from ..errors import InputError, Problem, RulesError, did_you_mean, hint_params
from ..paths import named_path, path_params
from ..validation import _clean_loc, field_names_at
from ..validation import problems as validation_problems
from ..yamlsafe import YamlDocument, load_document, read_at_most
from .model import (
    CalendarFile,
    CalendarPatch,
    CalendarPatchFile,
    Cover,
    LevelEnd,
    RuleOverride,
    rule_version_model,
    CalendarVersion,
    GradingFile,
    GradingVersion,
    Policy,
    RulesetMeta,
    ReportWords,
    RuleVersion,
    SanctionsFile,
    Versioned,
    check_file_model,
)

MAX_RULES_FILE_BYTES = 2 * 1024 * 1024
SHARED_FILES = ("ruleset.yaml", "calendar.yaml", "grading.yaml", "sanctions.yaml")
CASES_DIR = "cases"


def default_rules_dir() -> Path:
    """The base ruleset: $COMPLIANCE_RULES, the copy inside the wheel, or rules/ of a checkout."""
    env = os.environ.get("COMPLIANCE_RULES")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_rules"
    if (packaged / "ruleset.yaml").is_file():
        return packaged
    return package.parent.parent / "rules"


@dataclass(frozen=True)
class SourceFile:
    name: str
    path: Path
    sha256: str
    size: int


BASE_PREFIX = "base:"
"""File names of an overlay's base, in `Ruleset.files` and its digest."""


def _digest(files: Iterable[SourceFile], library: str | None = None) -> str:
    """A digest of the files' names and contents, and of the holiday library's version when the
    calendar takes public holidays from it (an upgrade may move a day off)."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        h.update(f.name.encode() + b"\0" + f.sha256.encode() + b"\n")
    if library is not None:
        h.update(b"library\0" + library.encode() + b"\n")
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class Override:
    """One departure of a province's overlay from the national base."""

    what: str
    """'check.rule', 'calendar', 'grading', 'sanctions', 'report:check' or 'title:check'."""
    kind: str
    """'add', 'replace', 'thresholds', 'disable' or 'file' (a whole file of its own)."""
    reason: Mapping[str, str] | None
    file: str
    line: int | None


@dataclass(frozen=True)
class Snapshot:
    """Everything in force on one day: rule versions by check, the calendar and the grading."""

    rules: Mapping[str, Mapping[str, RuleVersion[Any]]]
    calendar: CalendarVersion | None
    grading: GradingVersion | None


@dataclass(frozen=True, eq=False)
class Ruleset:
    """A validated ruleset. Immutable; safe to share between threads."""

    meta: RulesetMeta
    directory: Path
    files: tuple[SourceFile, ...]
    calendar: CalendarFile
    grading: GradingFile
    sanctions: SanctionsFile
    rules: Mapping[str, Mapping[str, tuple[RuleVersion[Any], ...]]]
    titles: Mapping[str, Any] = field(default_factory=dict)
    words: Mapping[str, ReportWords] = field(default_factory=dict)
    """The words reports use for each check's findings (`report:` of its file)."""
    base: RulesetMeta | None = None
    """For a province's overlay, the national base it extends (its own files are in `files` too)."""
    overrides: tuple[Override, ...] = ()
    """Where the overlay departs from the base, each with its reason and where it is written."""
    sources: Mapping[tuple[int, str], str] = field(default_factory=dict, repr=False)
    """Where each value was written ("file:line"), by (id of a version, a policy..., field)."""
    _snapshots: dict[int, Snapshot] = field(default_factory=dict, repr=False)

    @property
    def covers(self) -> tuple[Cover, ...]:
        return tuple(self.meta.covers)

    @property
    def unit_levels(self) -> tuple[LevelEnd, ...]:
        return tuple((self.base or self.meta).unit_levels or self.meta.unit_levels)

    def source(self, obj: Any, name: str = "") -> str | None:
        """Where `obj` (a rule version, a calendar or grading version, a sanctions policy), or its
        field `name` ('severity', 'thresholds.grace_minutes', 'seasons', ...), was written."""
        return self.sources.get((id(obj), name)) or (self.sources.get((id(obj), "")) if name else None)

    def layer_digest(self, layer: str) -> str:
        """The digest of the base's files ("base") or of the overlay's own ("overlay")."""
        base = [f for f in self.files if f.name.startswith(BASE_PREFIX)]
        own = [f for f in self.files if not f.name.startswith(BASE_PREFIX)]
        library = public_holidays.identity() if any(v.public_holidays for v in self.calendar.versions) else None
        return _digest(base if layer == "base" else own, library if layer == "base" or self.base is None else None)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> str:
        return self.meta.version

    @cached_property
    def digest(self) -> str:
        library = public_holidays.identity() if any(v.public_holidays for v in self.calendar.versions) else None
        return _digest(self.files, library)

    @cached_property
    def _breakpoints(self) -> list[date]:
        points: set[date] = set()
        everything: list[Iterable[Versioned]] = [self.calendar.versions, self.grading.versions]
        for by_rule in self.rules.values():
            everything.extend(by_rule.values())
        for versions in everything:
            for v in versions:
                points.add(v.effective_from)
                if v.effective_to is not None:
                    points.add(v.effective_to + timedelta(days=1))
        return sorted(points)

    def in_force(self, day: date) -> Snapshot:
        """The versions in force on `day` (computed once per period between effective dates)."""
        period = bisect.bisect_right(self._breakpoints, day)
        snap = self._snapshots.get(period)
        if snap is None:
            snap = Snapshot(
                rules={
                    check: {rule: v for rule, versions in by_rule.items() for v in versions if v.covers(day)}
                    for check, by_rule in self.rules.items()
                },
                calendar=next((v for v in self.calendar.versions if v.covers(day)), None),
                grading=next((v for v in self.grading.versions if v.covers(day)), None),
            )
            self._snapshots[period] = snap
        return snap

    def versions(self) -> list[dict[str, Any]]:
        """Every rule version with its dates, for listings and the service."""
        out = []
        for check, by_rule in self.rules.items():
            for rule, versions in by_rule.items():
                for v in versions:
                    out.append(
                        {
                            "rule": f"{check}.{rule}",
                            "effective_from": v.effective_from.isoformat(),
                            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                            "severity": v.severity.value,
                            "legal_basis": [ref.document for ref in v.legal_basis],
                        }
                    )
        return out


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.files: list[SourceFile] = []

    def read(self, path: Path, name: str) -> YamlDocument | None:
        shown = str(path)
        try:
            raw = read_at_most(path, MAX_RULES_FILE_BYTES)
        except FileNotFoundError:
            self.problems.append(Problem("file_missing", file=shown))
            return None
        except OSError as exc:
            self.problems.append(Problem("file_unreadable", {"detail": exc.strerror or str(exc)}, file=shown))
            return None
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        self.files.append(SourceFile(name, path, hashlib.sha256(raw).hexdigest(), len(raw)))
        try:
            doc = load_document(
                raw, shown, max_bytes=MAX_RULES_FILE_BYTES, collect_duplicates=True, collect_bad_dates=True
            )
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        self.problems.extend(doc.problems)
        return doc

    def validate(self, doc: YamlDocument | None, model: type[BaseModel]) -> Any:
        if doc is None:
            return None
        try:
            return model.model_validate(doc.data if doc.data is not None else {})
        except ValidationError as exc:
            found = validation_problems(exc, model, source=doc.source, doc=doc, style="arrows")
            # An impossible date is reported by the YAML reader already, where it stands.
            said = {doc.marks.get(path): path for path in doc.invalid}
            self.problems.extend(
                p for p in refine_problems(exc, found, model)
                if (p.line, p.column) not in said or p.path != named_path(said[(p.line, p.column)], doc.data)[0]
            )
            return None

    def add(self, code: str, params: dict[str, Any], doc: YamlDocument | None, path: Sequence[Any], *, key: bool = False) -> None:
        line, column = doc.locate(tuple(path), key=key) if doc else (None, None)
        where = path_params(path, doc.data if doc else None)
        self.problems.append(Problem(code, params, file=doc.source if doc else None, line=line, column=column, **where))


_PLACEHOLDER_CODES = ("placeholder_bad:", "placeholder_lone_close:", "placeholder_unclosed:")


def refine_problems(exc: ValidationError, found: Sequence[Problem], model: type[BaseModel]) -> list[Problem]:
    """Say rule-file mistakes the way policy staff need them said.

    An unknown key lists the keys allowed there; a missing key is named; a version without
    legal basis says so; and the "missing" that a misspelt key causes (its correct spelling is
    then absent) is dropped, since the did-you-mean of the misspelling already says it.
    """
    errors = exc.errors(include_url=False)
    out: list[tuple[tuple[Any, ...], Problem]] = []
    suggested: set[tuple[Any, ...]] = set()
    for error, problem in zip(errors, found):
        loc = _clean_loc(error.get("loc", ()))
        kind = error.get("type", "")
        ctx = error.get("ctx") or {}
        code, params = problem.code, problem.params
        if kind == "extra_forbidden" and loc:
            allowed = field_names_at(model, loc[:-1])
            best = did_you_mean(str(loc[-1]), allowed)
            if best is not None:
                suggested.add(tuple(loc[:-1]) + (best,))
            code = "unknown_key"
            params = {"field": loc[-1], "allowed": ", ".join(allowed) or "—", **hint_params(str(loc[-1]), allowed)}
        elif loc and loc[-1] == "legal_basis" and kind in ("missing", "too_short", "list_type"):
            code, params = "legal_basis_missing", {}
        elif kind == "missing" and loc:
            code, params = "missing_key", {"field": loc[-1]}
        elif kind == "too_short":
            code = "too_few_items"
            params = {"min": ctx.get("min_length", "?"), "found": ctx.get("actual_length", "?")}
        elif kind == "too_long":
            code = "too_many_items"
            params = {"max": ctx.get("max_length", "?"), "found": ctx.get("actual_length", "?")}
        elif code == "invalid_value" and str(params.get("detail", "")).startswith(_PLACEHOLDER_CODES):
            code, _, shown = str(params["detail"]).partition(":")
            params = {"found": shown} if shown else {}
        if (code, params) != (problem.code, problem.params):
            problem = dataclasses.replace(problem, code=code, params=params)
        out.append((tuple(loc), problem))
    return [p for loc, p in out if not (p.code == "missing_key" and loc in suggested)]


def _sorted(problems: Sequence[Problem]) -> list[Problem]:
    """Problems in file order, so that every command lists them the same way."""
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    """Each problem once: a base shared by several overlays, or a file read for two purposes,
    reports the same mistake more than once."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.code, p.file, p.line, p.column, p.path, p.message("en"))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


class _Span(BaseModel):
    """The dates of one version, read even when the rest of it is wrong."""

    model_config = ConfigDict(extra="ignore")
    effective_from: date
    effective_to: date | None = None


def _check_raw_versions(items: Any, doc: YamlDocument | None, path: Sequence[Any], out: _Collector) -> None:
    """Gaps and overlaps from the versions' dates alone, so that a mistake elsewhere in a
    version or in its file does not hide them. A list with a version whose own dates are wrong
    is left alone: that mistake is reported where it stands."""
    if not isinstance(items, list):
        return
    spans = []
    for item in items:
        try:
            span = _Span.model_validate(item)
        except ValidationError:
            return
        if span.effective_to is not None and span.effective_to < span.effective_from:
            return
        spans.append(span)
    check_versions(spans, doc, path, out)


def _check_grouped_versions(items: Any, key: str, doc: YamlDocument | None, path: Sequence[Any], out: _Collector) -> None:
    """Versions of several things kept in one list: sanction policies by id, discipline forms by category."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        name = item.get(key) if isinstance(item, dict) else None
        if isinstance(name, str):
            groups.setdefault(name, []).append(i)
    for indexes in groups.values():
        if len(indexes) > 1:
            _check_raw_versions([items[i] for i in indexes], doc, path, _Reindexed(out, indexes))


def _data(doc: YamlDocument | None) -> dict[Any, Any]:
    return doc.data if doc is not None and isinstance(doc.data, dict) else {}


def _check_shared_versions(docs: Mapping[str, YamlDocument | None], out: _Collector) -> None:
    """Versions in calendar.yaml, grading.yaml and sanctions.yaml, whether or not the rest of each file is valid."""
    for name in ("calendar.yaml", "grading.yaml"):
        _check_raw_versions(_data(docs[name]).get("versions"), docs[name], ["versions"], out)
    doc = docs["sanctions.yaml"]
    sanctions = _data(doc)
    _check_grouped_versions(sanctions.get("policies"), "id", doc, ["policies"], out)
    _check_grouped_versions(sanctions.get("discipline_forms"), "category", doc, ["discipline_forms"], out)
    fines = sanctions.get("fines")
    for i, fine in enumerate(fines if isinstance(fines, list) else []):
        if isinstance(fine, dict):
            _check_raw_versions(fine.get("versions"), doc, ["fines", i, "versions"], out)


def check_versions(
    versions: Sequence[Versioned | _Span], doc: YamlDocument | None, path: Sequence[Any], out: _Collector
) -> None:
    """Versions of one thing must follow each other with neither gap nor overlap.

    What usually needs changing is the earlier version's `effective_to` (a new version was
    added and the one before it not closed, or closed on the wrong day), so a gap or an
    overlap is reported there, with the day to set."""
    order = sorted(range(len(versions)), key=lambda i: versions[i].effective_from)
    for prev_i, next_i in zip(order, order[1:]):
        prev, nxt = versions[prev_i], versions[next_i]
        if nxt.effective_from == prev.effective_from:
            out.add("version_same_start", {"next_from": nxt.effective_from}, doc, [*path, next_i, "effective_from"], key=True)
            continue
        dates = {
            "prev_from": prev.effective_from,
            "prev_to": prev.effective_to,
            "next_from": nxt.effective_from,
            "day_before": nxt.effective_from - timedelta(days=1),
        }
        close = [*path, prev_i, "effective_to"]
        if prev.effective_to is None:
            out.add("version_open_before_next", dates, doc, close, key=True)
        elif nxt.effective_from <= prev.effective_to:
            out.add("version_overlap", dates, doc, close, key=True)
        elif nxt.effective_from != prev.effective_to + timedelta(days=1):
            out.add("version_gap", {**dates, "expected": prev.effective_to + timedelta(days=1)}, doc, close, key=True)


def _check_messages(check: Check, rules: BaseModel, doc: YamlDocument | None, out: _Collector) -> None:
    for rule_id in check.rules:
        _check_rule_messages(check, rule_id, getattr(rules, rule_id), doc, out)


def _check_rule_messages(
    check: Check, rule_id: str, versions: Sequence[RuleVersion[Any]], doc: YamlDocument | None, out: _Collector
) -> None:
    available = check.rules[rule_id].placeholders()
    for i, version in enumerate(versions):
        vi, en = version.message.names()
        path = ["rules", rule_id, i, "message"]
        if vi != en:
            out.add(
                "placeholder_mismatch",
                {
                    **_braces_or_none("vi_only", vi - en),
                    **_braces_or_none("en_only", en - vi),
                    "vi_only_or_none": _braces(vi - en) or "không chỗ điền nào thêm",
                    "en_only_or_none": _braces(en - vi) or "no extra placeholder",
                },
                doc,
                path,
            )
        for name in sorted((vi | en) - available):
            out.add(
                "placeholder_unknown",
                {"name": name, "available": ", ".join(sorted(available)), **hint_params(name, available)},
                doc,
                path + ["vi" if name in vi else "en"],
            )


def _braces_or_none(key: str, names: set[str]) -> dict[str, str]:
    if names:
        return {key: _braces(names)}
    return {f"{key}_vi": "(không có)", f"{key}_en": "(none)"}


def _braces(names: set[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names))


def _expand_rule_refs(
    refs: Iterable[str], known: Mapping[str, Iterable[str]], doc: YamlDocument | None, path: Sequence[Any], out: _Collector
) -> list[str]:
    """'check.rule' and 'check.*' references, checked against the installed rules."""
    return [rule for i, ref in enumerate(refs) for rule in _expand_rule_ref(ref, known, doc, [*path, i], out)]


def _expand_rule_ref(
    ref: str, known: Mapping[str, Iterable[str]], doc: YamlDocument | None, path: Sequence[Any], out: _Collector
) -> list[str]:
    """One reference, reported at `path` itself: a fine's `rule` is a string, not a list."""
    all_ids = [f"{c}.{r}" for c, rules in known.items() for r in rules]
    check, _, rule = ref.partition(".")
    if rule == "*" and check in known:
        return [f"{check}.{r}" for r in known[check]]
    if ref in all_ids:
        return [ref]
    out.add("unknown_rule_ref", {"found": ref, **hint_params(ref, all_ids)}, doc, list(path))
    return []


CATALOGUE_FILE = "catalogue.yaml"


def load_ruleset(directory: str | Path | None, checks: Sequence[Check]) -> Ruleset:
    """Load and validate one ruleset for the installed `checks`: a directory complete on its own,
    or a province's overlay merged onto the national base it `extends`. (A catalogue of several
    is loaded by `compliance.ruleset.catalogue.load_catalogue`.)"""
    root = Path(directory) if directory is not None else default_rules_dir()
    if not root.is_dir():
        raise RulesError([Problem("file_missing", file=str(root))])
    if (root / CATALOGUE_FILE).is_file():
        raise RulesError([Problem("rules_is_catalogue", file=str(root / CATALOGUE_FILE))])
    out = _Collector()
    meta_doc = out.read(root / "ruleset.yaml", "ruleset.yaml")
    meta = out.validate(meta_doc, RulesetMeta)
    installed = {c.id: c for c in checks}
    if meta is not None and meta.extends:
        base_root = Path(os.path.normpath(root / meta.extends))
        if not (base_root / "ruleset.yaml").is_file():
            out.add("rules_base_missing", {"found": meta.extends, "path": str(base_root)}, meta_doc, ["extends"])
            raise RulesError(_sorted(out.problems))
        base_out = _Collector()
        base_meta_doc = base_out.read(base_root / "ruleset.yaml", BASE_PREFIX + "ruleset.yaml")
        base_meta = base_out.validate(base_meta_doc, RulesetMeta)
        if base_meta is not None and base_meta.extends:
            base_out.add("rules_base_extends", {}, base_meta_doc, ["extends"])
        base = _read_layer(base_root, installed, base_out, "base", BASE_PREFIX, base_meta, base_meta_doc)
        own = _read_layer(root, installed, out, "overlay", "", meta, meta_doc)
        out.problems.extend(base_out.problems)
        out.files[:0] = base_out.files
        ruleset = _merge(base, own, installed, out) if not out.problems else None
    else:
        own = _read_layer(root, installed, out, "base", "", meta, meta_doc)
        ruleset = _complete(own, own, installed, out) if not out.problems else None
    if out.problems or ruleset is None:
        raise RulesError(_sorted(out.problems))
    return ruleset


@dataclass
class _Layer:
    """One directory's files, each validated on its own."""

    root: Path
    role: str
    meta: RulesetMeta | None
    docs: dict[str, YamlDocument | None]
    calendar: Any
    grading: GradingFile | None
    sanctions: SanctionsFile | None
    rules: dict[str, Any]
    rule_docs: dict[str, YamlDocument | None]
    titles: dict[str, Any]
    words: dict[str, ReportWords]
    sources: dict[tuple[int, str], str] = field(default_factory=dict)


def _at(doc: YamlDocument | None, path: Sequence[Any]) -> str | None:
    if doc is None:
        return None
    line, _ = doc.locate(tuple(path))
    return f"{doc.source}:{line}" if line is not None else doc.source


def _note_sources(sources: dict[tuple[int, str], str], obj: Any, doc: YamlDocument | None, path: Sequence[Any],
                  fields: Iterable[str] = ()) -> None:
    where = _at(doc, path)
    if where is not None:
        sources[(id(obj), "")] = where
    raw = _data_at(doc, path)
    for name in fields:
        value = raw.get(name) if isinstance(raw, dict) else None
        if value is None:
            continue
        if isinstance(value, dict):
            for key in value:
                at = _at(doc, [*path, name, key])
                if at is not None:
                    sources[(id(obj), f"{name}.{key}")] = at
        at = _at(doc, [*path, name])
        if at is not None:
            sources[(id(obj), name)] = at


def _data_at(doc: YamlDocument | None, path: Sequence[Any]) -> Any:
    data: Any = doc.data if doc is not None else None
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


_VERSION_FIELDS = ("severity", "thresholds", "message", "legal_basis", "effective_from", "effective_to")
_CALENDAR_FIELDS = (
    "working_days", "seasons", "public_holidays", "annual_holidays", "holidays", "working_weekend_days", "not_holidays"
)


def _read_layer(
    root: Path,
    installed: Mapping[str, Check],
    out: _Collector,
    role: str,
    prefix: str,
    meta: RulesetMeta | None,
    meta_doc: YamlDocument | None,
) -> _Layer:
    """The files of a national base (or a ruleset complete on its own: role "base") or of a
    province's overlay ("overlay"), where an overlay's calendar, grading, sanctions and check
    files are all optional: what it has not, the base gives."""
    docs: dict[str, YamlDocument | None] = {"ruleset.yaml": meta_doc}
    for name in SHARED_FILES[1:]:
        path = root / name
        docs[name] = out.read(path, prefix + name) if role == "base" or path.is_file() else None
    calendar_model: type[BaseModel] = CalendarFile if role == "base" else CalendarPatchFile
    calendar = out.validate(docs["calendar.yaml"], calendar_model)
    grading = out.validate(docs["grading.yaml"], GradingFile)
    sanctions = out.validate(docs["sanctions.yaml"], SanctionsFile)
    _check_shared_versions(docs, out)
    known_rules = {c: list(check.rules) for c, check in installed.items()}
    if sanctions is not None:
        _check_sanctions(sanctions, docs["sanctions.yaml"], known_rules, out)
    else:
        _check_raw_sanctions(docs.get("sanctions.yaml"), known_rules, out)
    sources: dict[tuple[int, str], str] = {}
    for i, v in enumerate(calendar.versions if calendar is not None else ()):
        _note_sources(sources, v, docs["calendar.yaml"], ["versions", i], _CALENDAR_FIELDS)
    for i, v in enumerate(grading.versions if grading is not None else ()):
        _note_sources(sources, v, docs["grading.yaml"], ["versions", i])
    for i, policy in enumerate(sanctions.policies if sanctions is not None else ()):
        _note_sources(sources, policy, docs["sanctions.yaml"], ["policies", i])

    known_files = set(SHARED_FILES) | {f"{cid}.yaml" for cid in installed} | {CATALOGUE_FILE}
    for path in sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")):
        if path.name not in known_files:
            out.problems.append(
                Problem("rules_unknown_file", {"name": path.name, **hint_params(path.stem, installed)}, file=str(path))
            )

    rules: dict[str, Any] = {}
    rule_docs: dict[str, YamlDocument | None] = {}
    titles: dict[str, Any] = {}
    words: dict[str, ReportWords] = {}
    for cid in sorted(installed):
        check = installed[cid]
        path = root / f"{cid}.yaml"
        name = prefix + f"{cid}.yaml"
        if not path.is_file() and role == "base" and check.rules_dir is not None:
            path = Path(check.rules_dir) / f"{cid}.yaml"
            name = prefix + f"plugin:{cid}.yaml"
        if not path.is_file():
            if role == "base":
                out.problems.append(_no_rules(check, root))
            continue
        doc = out.read(path, name)
        file_model = check_file_model(check, role)
        parsed = out.validate(doc, file_model)
        raw_rules = _data(doc).get("rules")
        for rule_id in check.rules:
            raw = raw_rules.get(rule_id) if isinstance(raw_rules, dict) else None
            if isinstance(raw, dict) and isinstance(raw.get("replace"), list):
                _check_raw_versions(raw["replace"], doc, ["rules", rule_id, "replace"], out)
            else:
                _check_raw_versions(raw, doc, ["rules", rule_id], out)
        rule_docs[cid] = doc
        if parsed is None:
            _check_valid_rules(check, file_model, doc, out)
            continue
        titles[cid] = parsed.title
        words[cid] = parsed.report
        _check_words(check, parsed.report, installed, doc, out)
        by_rule: dict[str, Any] = {}
        for rule_id in check.rules:
            given = getattr(parsed.rules, rule_id)
            if isinstance(given, list):
                for i, version in enumerate(given):
                    _note_sources(sources, version, doc, ["rules", rule_id, i], _VERSION_FIELDS)
                given = tuple(sorted(given, key=lambda v: v.effective_from))
                _check_rule_messages(check, rule_id, given, doc, out)
            elif isinstance(given, RuleOverride):
                _note_sources(sources, given, doc, ["rules", rule_id], ("reason", "thresholds", "replace", "disable"))
            by_rule[rule_id] = given
        rules[cid] = by_rule
    return _Layer(root, role, meta, docs, calendar, grading, sanctions, rules, rule_docs, titles, words, sources)


def _complete(layer: _Layer, meta_layer: _Layer, installed: Mapping[str, Check], out: _Collector,
              *, base_meta: RulesetMeta | None = None, overrides: Sequence[Override] = ()) -> Ruleset | None:
    """The ruleset a layer (or a merged one) makes, once it is known to be whole."""
    calendar = layer.calendar
    covers = meta_layer.meta.covers if meta_layer.meta is not None else []
    if isinstance(calendar, CalendarFile):
        for i, version in enumerate(calendar.versions):
            # Only the dates whose visits this ruleset evaluates need working hours.
            needed = not covers or any(
                c.effective_from <= (version.effective_to or date.max) and version.effective_from <= (c.effective_to or date.max)
                for c in covers
            )
            if version.seasons is None and needed:
                doc = meta_layer.docs.get("calendar.yaml") or layer.docs.get("calendar.yaml")
                out.add(
                    "calendar_no_hours",
                    {"from": version.effective_from, "to": version.effective_to or "…"},
                    doc,
                    [] if doc is meta_layer.docs.get("calendar.yaml") and meta_layer is not layer else ["versions", i],
                )
    if out.problems or layer.meta is None or meta_layer.meta is None:
        return None
    rules = {
        cid: {rule: versions for rule, versions in by_rule.items() if versions}
        for cid, by_rule in layer.rules.items()
    }
    return Ruleset(
        meta=meta_layer.meta,
        directory=meta_layer.root,
        files=tuple(out.files),
        calendar=calendar,
        grading=layer.grading,  # type: ignore[arg-type]
        sanctions=layer.sanctions,  # type: ignore[arg-type]
        rules=rules,
        titles=layer.titles,
        words=layer.words,
        base=base_meta,
        overrides=tuple(overrides),
        sources=layer.sources,
    )


def _merge(base: _Layer, own: _Layer, installed: Mapping[str, Check], out: _Collector) -> Ruleset | None:
    """A province's overlay onto the national base: what the province sets, the base for the rest.

    The calendar is merged date by date (the province's working hours and its own days off onto
    the national working days and holidays); a grading or sanctions file of its own replaces the
    base's; a rule the base lacks is added, and a rule it has is changed only by an explicit
    override with its reason. Every departure is recorded (`Ruleset.overrides`)."""
    overrides: list[Override] = []
    merged_sources: dict[tuple[int, str], str] = {}

    def note(what: str, kind: str, reason: Any, doc: YamlDocument | None, path: Sequence[Any]) -> None:
        line = doc.locate(tuple(path))[0] if doc is not None else None
        shown = {"vi": reason.vi, "en": reason.en} if reason is not None else None
        overrides.append(Override(what, kind, shown, doc.source if doc is not None else str(own.root), line))

    calendar = _merge_calendar(base, own, out, note, merged_sources)
    grading = own.grading or base.grading
    if own.grading is not None:
        note("grading", "file", None, own.docs["grading.yaml"], [])
    sanctions = own.sanctions or base.sanctions
    if own.sanctions is not None:
        note("sanctions", "file", None, own.docs["sanctions.yaml"], [])
    rules: dict[str, dict[str, Any]] = {}
    for cid, check in installed.items():
        mine = own.rules.get(cid, {})
        doc = own.rule_docs.get(cid)
        merged: dict[str, Any] = {}
        for rule_id in check.rules:
            national = base.rules.get(cid, {}).get(rule_id)
            change = mine.get(rule_id)
            key = f"{cid}.{rule_id}"
            if change is None:
                merged[rule_id] = national
            elif isinstance(change, tuple):
                if national:
                    out.add("overlay_rule_in_base", {"rule": key}, doc, ["rules", rule_id], key=True)
                merged[rule_id] = change
                note(key, "add", None, doc, ["rules", rule_id])
            else:
                merged[rule_id] = _override(check, rule_id, national or (), change, doc, out, merged_sources, base.sources)
                note(key, "disable" if change.disable else "replace" if change.replace is not None else "thresholds",
                     change.reason, doc, ["rules", rule_id])
        rules[cid] = merged
    titles = {**base.titles, **{cid: t for cid, t in own.titles.items() if t is not None}}
    words = {cid: _merge_words(base.words.get(cid), own.words.get(cid)) for cid in set(base.words) | set(own.words)}
    for cid in own.words:
        if own.words[cid] != ReportWords():
            note(f"report:{cid}", "add", None, own.rule_docs.get(cid), ["report"])
    layer = _Layer(own.root, "merged", own.meta, {**base.docs, **{k: v for k, v in own.docs.items() if v is not None}},
                   calendar, grading, sanctions, rules, {**base.rule_docs, **own.rule_docs}, titles, words,
                   {**base.sources, **own.sources, **merged_sources})
    return _complete(layer, own, installed, out, base_meta=base.meta, overrides=overrides)


def _override(
    check: Check,
    rule_id: str,
    national: Sequence[RuleVersion[Any]],
    change: RuleOverride,
    doc: YamlDocument | None,
    out: _Collector,
    sources: dict[tuple[int, str], str],
    base_sources: Mapping[tuple[int, str], str],
) -> tuple[RuleVersion[Any], ...]:
    path = ["rules", rule_id]
    if change.disable:
        return ()
    model = rule_version_model(type(check), rule_id)
    if change.replace is not None:
        try:
            versions = TypeAdapter(list[model]).validate_python(change.replace)  # type: ignore[valid-type]
        except ValidationError as exc:
            out.problems.extend(validation_problems(exc, RuleOverride, source=doc.source if doc else None, doc=doc,
                                                    style="arrows", prefix=[*path, "replace"]))
            return ()
        for i, version in enumerate(versions):
            _note_sources(sources, version, doc, [*path, "replace", i], _VERSION_FIELDS)
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        _check_rule_messages(check, rule_id, ordered, doc, out)
        return ordered
    thresholds = check.rules[rule_id].thresholds
    patched = []
    for version in national:
        try:
            values = thresholds.model_validate({**version.thresholds.model_dump(), **(change.thresholds or {})})
        except ValidationError as exc:
            out.problems.extend(validation_problems(exc, thresholds, source=doc.source if doc else None, doc=doc,
                                                    style="arrows", prefix=[*path, "thresholds"]))
            return tuple(national)
        changed = version.model_copy(update={"thresholds": values})
        for (obj, name), where in base_sources.items():
            if obj == id(version):
                sources[(id(changed), name)] = where
        for key in change.thresholds or {}:
            at = _at(doc, [*path, "thresholds", key])
            if at is not None:
                sources[(id(changed), f"thresholds.{key}")] = at
        patched.append(changed)
    if not national:
        out.add("overlay_thresholds_of_nothing", {"rule": f"{check.id}.{rule_id}"}, doc, [*path, "thresholds"], key=True)
    return tuple(patched)


def _merge_calendar(
    base: _Layer, own: _Layer, out: _Collector, note: Any, sources: dict[tuple[int, str], str]
) -> CalendarFile | None:
    national: CalendarFile | None = base.calendar
    provincial: CalendarPatchFile | None = own.calendar
    if national is None:
        return None
    if provincial is None:
        return national
    note("calendar", "add", None, own.docs["calendar.yaml"], [])
    points = sorted(
        {v.effective_from for v in [*national.versions, *provincial.versions]}
        | {v.effective_to + timedelta(days=1) for v in [*national.versions, *provincial.versions] if v.effective_to}
    )
    merged: list[CalendarVersion] = []
    for start, nxt in zip(points, [*points[1:], None]):
        end = nxt - timedelta(days=1) if nxt is not None else None
        here = next((v for v in national.versions if v.covers(start)), None)
        if here is None:
            continue  # before the national calendar begins (or in a gap it reports itself)
        patch: CalendarPatch | None = next((v for v in provincial.versions if v.covers(start)), None)
        values = here.model_dump()
        values.update(effective_from=start, effective_to=end if end is not None else here.effective_to)
        if patch is not None:
            values["legal_basis"] = [*here.legal_basis, *patch.legal_basis]
            for name in patch.model_fields_set - {"effective_from", "effective_to", "legal_basis"}:
                given = getattr(patch, name)
                current = values.get(name)
                values[name] = [*current, *given] if isinstance(current, list) and name not in ("working_days", "seasons") else given
        if end is not None and here.effective_to is not None and end > here.effective_to:
            values["effective_to"] = here.effective_to
        piece = CalendarVersion.model_validate(values)
        for name in ("", *_CALENDAR_FIELDS):
            own_at = own.sources.get((id(patch), name)) if patch is not None and (not name or name in patch.model_fields_set) else None
            base_at = base.sources.get((id(here), name))
            found = " + ".join(w for w in (base_at, own_at) if w) if not name else (own_at or base_at)
            if found:
                sources[(id(piece), name)] = found
        merged.append(piece)
    # Neighbouring pieces that differ only in their dates were one version: keep them one.
    joined: list[CalendarVersion] = []
    for version in merged:
        last = joined[-1] if joined else None
        if last is not None and last.model_dump(exclude={"effective_from", "effective_to"}) == version.model_dump(
            exclude={"effective_from", "effective_to"}
        ):
            longer = last.model_copy(update={"effective_to": version.effective_to})
            for (obj, name), where in list(sources.items()):
                if obj == id(last):
                    sources[(id(longer), name)] = where
            joined[-1] = longer
        else:
            joined.append(version)
    return CalendarFile(utc_offset=national.utc_offset, versions=joined)


def _merge_words(base: ReportWords | None, own: ReportWords | None) -> ReportWords:
    """The base's report words with the overlay's added: its rules' phrases, groups and sentences."""
    if base is None:
        return own or ReportWords()
    if own is None:
        return base
    return ReportWords(
        groups={**base.groups, **own.groups},
        complied=[*base.complied, *own.complied],
        shortcomings={**base.shortcomings, **own.shortcomings},
        counted=[*base.counted, *own.counted],
        explaining={**base.explaining, **own.explaining},
    )


def _no_rules(check: Check, root: Path) -> Problem:
    """A check without a rules file, reported where its author is expected to put one: a
    plugin's own rules directory (it ships its file there), naming both places looked at."""
    local = root / f"{check.id}.yaml"
    if check.rules_dir is None:
        said = {"looked_vi": f"thư mục bộ quy tắc không có tệp {local.name}", "looked_en": f"the ruleset directory has no {local.name}"}
        return Problem("rules_no_rules_for_check", {"check": check.id, **said}, file=str(local))
    shipped = Path(check.rules_dir) / local.name
    said = {
        "looked_vi": f"không có tệp {shipped} (thư mục quy tắc của plugin, nơi plugin phải kèm tệp này), "
        f"cũng không có tệp {local} (thư mục bộ quy tắc, nơi một tỉnh đặt bản của mình)",
        "looked_en": f"neither {shipped} (the plugin's rules directory, where the plugin should ship it) "
        f"nor {local} (the ruleset directory, where a province puts its own copy) was found",
    }
    return Problem("rules_no_rules_for_check", {"check": check.id, **said}, file=str(shipped))


def _check_valid_rules(check: Check, file_model: type[BaseModel], doc: YamlDocument | None, out: _Collector) -> None:
    """When a check file has errors, still check the messages of the rules that are valid."""
    data = doc.data if doc is not None else None
    raw_rules = data.get("rules") if isinstance(data, dict) else None
    rules_model = file_model.model_fields["rules"].annotation
    if not isinstance(raw_rules, dict) or not isinstance(rules_model, type):
        return
    for rule_id in check.rules:
        field_info = rules_model.model_fields.get(rule_id)
        if field_info is None or not isinstance(raw_rules.get(rule_id), list):
            continue
        try:
            versions = TypeAdapter(field_info.annotation).validate_python(raw_rules[rule_id])
        except ValidationError:
            continue  # already reported by the whole-file validation
        _check_rule_messages(check, rule_id, versions, doc, out)


CORE_GROUPS = ("officials", "units")
"""Shortcoming groups every report has: "một số cán bộ, công chức, viên chức ..." and "một số cơ quan, đơn vị ..."."""
COUNTED_PLACEHOLDERS = frozenset({"count", "units", "what"})


def _check_words(
    check: Check, words: ReportWords, installed: Mapping[str, Check], doc: YamlDocument | None, out: _Collector
) -> None:
    """A check's report words name its own rules, groups it declares and rules that exist."""
    own = list(check.rules)
    known = {c: list(chk.rules) for c, chk in installed.items()}
    for kind in ("shortcomings", "explaining"):
        for rule in getattr(words, kind):
            if rule not in check.rules:
                out.add("unknown_rule_ref", {"found": rule, **hint_params(rule, own)}, doc, ["report", kind, rule], key=True)
    groups = [*CORE_GROUPS, *words.groups]
    for rule, item in words.shortcomings.items():
        if item.group not in groups:
            out.add(
                "invalid_choice",
                {"found": item.group, "expected": ", ".join(groups), **hint_params(item.group, groups)},
                doc,
                ["report", "shortcomings", rule, "group"],
            )
    for i, sentence in enumerate(words.complied):
        for kind in ("none", "few", "many", "found"):
            for j, ref in enumerate(getattr(sentence.when, kind)):
                expand_words_ref(ref, check.id, known, doc, ["report", "complied", i, "when", kind, j], out)
        _check_placeholders(sentence.vi, sentence.en, allowed=frozenset(), doc=doc, path=["report", "complied", i], out=out)
    for i, counted in enumerate(words.counted):
        for j, ref in enumerate(counted.rules):
            expand_words_ref(ref, check.id, known, doc, ["report", "counted", i, "rules", j], out)
        texts = [counted.vi, counted.en] + ([counted.en_one] if counted.en_one else [])
        _check_placeholders(*texts, allowed=COUNTED_PLACEHOLDERS, doc=doc, path=["report", "counted", i], out=out)


def _check_placeholders(*texts: str, allowed: frozenset[str], doc: YamlDocument | None, path: list[Any], out: _Collector) -> None:
    for text in texts:
        try:
            names = placeholders(text)
        except ValueError as exc:
            out.add("invalid_value", {"detail": str(exc)}, doc, path)
            continue
        for name in sorted(names - allowed):
            out.add(
                "placeholder_unknown",
                {"name": name, "available": ", ".join(sorted(allowed)) or "—", **hint_params(name, allowed)},
                doc,
                path,
            )


def expand_words_ref(
    ref: str,
    check_id: str,
    known: Mapping[str, Iterable[str]],
    doc: YamlDocument | None = None,
    path: Sequence[Any] = (),
    out: _Collector | None = None,
) -> list[str]:
    """A rule reference of report words as 'check.rule' keys: an own rule, '*' (all of them),
    'check.rule' or 'check.*'. A check not installed here contributes nothing (its words may
    speak of a plugin that is not installed); a misspelt rule of an installed one is a problem."""
    if "." not in ref:
        ref = f"{check_id}.{ref}" if ref != "*" else f"{check_id}.*"
    check, _, rule = ref.partition(".")
    if check not in known:
        return []
    if rule == "*":
        return [f"{check}.{r}" for r in known[check]]
    if rule in known[check]:
        return [ref]
    if out is not None:
        all_ids = [f"{c}.{r}" for c, rules in known.items() for r in rules]
        out.add("unknown_rule_ref", {"found": ref, **hint_params(ref, all_ids)}, doc, list(path))
    return []


def _check_raw_sanctions(doc: YamlDocument | None, known: Mapping[str, list[str]], out: _Collector) -> None:
    """When sanctions.yaml has errors, still check the rule ids it names and the targets of its valid policies."""
    data = doc.data if doc is not None else None
    if not isinstance(data, dict):
        return

    def check(ref: Any, path: list[Any]) -> None:
        if isinstance(ref, str):
            _expand_rule_ref(ref, known, doc, path, out)

    policies = data.get("policies")
    for i, policy in enumerate(policies if isinstance(policies, list) else []):
        when = policy.get("when") if isinstance(policy, dict) else None
        refs = when.get("rules") if isinstance(when, dict) else None
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            check(ref, ["policies", i, "when", "rules", j])
        try:
            _check_targets(i, Policy.model_validate(policy), doc, out)
        except ValidationError:
            pass  # already reported by the whole-file validation
    fines = data.get("fines")
    for i, fine in enumerate(fines if isinstance(fines, list) else []):
        if isinstance(fine, dict):
            check(fine.get("rule"), ["fines", i, "rule"])


def _check_sanctions(
    sanctions: SanctionsFile, doc: YamlDocument | None, known: Mapping[str, list[str]], out: _Collector
) -> None:
    for i, policy in enumerate(sanctions.policies):
        if policy.when.rules is not None:
            _expand_rule_refs(policy.when.rules, known, doc, ["policies", i, "when", "rules"], out)
        _check_targets(i, policy, doc, out)
    for i, fine in enumerate(sanctions.fines):
        _expand_rule_ref(fine.rule, known, doc, ["fines", i, "rule"], out)


def _check_targets(index: int, policy: Policy, doc: YamlDocument | None, out: _Collector) -> None:
    for j, rec in enumerate(policy.recommend):
        if rec.target == "official" and policy.when.subject not in (None, "official"):
            out.add(
                "invalid_value",
                {
                    "detail": f"a policy about units cannot target an official ({rec.code})",
                    "detail_vi": f"chính sách về đơn vị không thể kiến nghị xử lý một cá nhân ({rec.code})",
                },
                doc,
                ["policies", index, "recommend", j, "target"],
            )


class _Reindexed(_Collector):
    """Report positions of a subset of a list by their index in the whole list."""

    def __init__(self, inner: _Collector, indexes: Sequence[int]):
        self.inner = inner
        self.indexes = indexes

    def add(self, code: str, params: dict[str, Any], doc: YamlDocument | None, path: Sequence[Any], *, key: bool = False) -> None:
        fixed = list(path)
        for pos, part in enumerate(fixed):
            if isinstance(part, int) and pos > 0 and isinstance(fixed[pos - 1], str):
                fixed[pos] = self.indexes[part]
                break
        self.inner.add(code, params, doc, fixed, key=key)


__all__ = ["Ruleset", "Snapshot", "load_ruleset", "default_rules_dir", "placeholders"]
