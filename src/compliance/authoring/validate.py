"""`compliance rules validate`: every mistake of a ruleset directory, located, in one run.

The ruleset itself is checked by `load_ruleset`, the same function every other command uses,
so that `validate` and `evaluate` refuse a broken ruleset with the same messages. On top of
that, the example case files beside the rules (`cases/*.yaml`, and those a plugin ships for a
check the directory has none for: the files `rules test` runs) are checked: their shape, the
check and rule ids they name, what they expect (against the ruleset: rule versions, evidence,
sanctions, grades) and the visits they build, every mistake of a file in the same run.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..cases import MAX_CASE_FILE_BYTES, Case, CaseFile, find_case_files, merge
from ..check import Check
from ..errors import InputError, Problem, RulesError, hint_params
from ..observations import compose
from ..plugins import CheckInfo, installed_checks
from ..ruleset.catalogue import Catalogue, load_catalogue
from ..ruleset.loader import (
    Ruleset,
    _sorted,
    _unique,
    default_rules_dir,
    refine_problems,
)
from ..ruleset.model import SanctionCode
from ..sanctions.policy import recommendable_codes
from ..paths import path_params
from ..validation import _clean_loc, describe, problem_from_error
from ..validation import problems as validation_problems
from ..visit import Visit
from ..yamlsafe import YamlDocument, load_document, read_at_most

SANCTION_CODES = typing.get_args(SanctionCode)


@dataclass
class ValidationReport:
    directory: Path
    problems: list[Problem] = field(default_factory=list)
    ruleset: Catalogue | None = None
    """What loaded: a catalogue (the base with each province's overlay), or a single ruleset as one."""
    case_files: list[Path] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        rs = self.ruleset
        return {
            "directory": str(self.directory),
            "valid": self.valid,
            "errors": len(self.problems),
            "files_with_errors": len({p.file for p in self.problems}),
            "name": rs.name if rs else None,
            "version": rs.version if rs else None,
            "rulesets": [r.name for r in rs.rulesets] if rs else [],
            "checks": len(rs.rule_versions) if rs else 0,
            "rules": sum(len(r) for r in rs.rule_versions.values()) if rs else 0,
            "versions": sum(len(v) for r in rs.rule_versions.values() for v in r.values()) if rs else 0,
            "case_files": len(self.case_files),
            "only_case_files": bool(self.problems) and self.ruleset is not None and {p.file for p in self.problems}
            <= {str(f) for f in self.case_files},
        }


def validate_rules(
    directory: str | Path | None = None, checks: Sequence[CheckInfo | Check] | None = None, *, cases: bool = True
) -> ValidationReport:
    """Load the rules in `directory` (a catalogue: the base and every province's overlay, each
    merged and checked; or a single ruleset) and check their case files; never raises RulesError."""
    root = Path(directory) if directory is not None else default_rules_dir()
    infos = installed_checks() if checks is None else list(checks)
    check_objs = [c.check if isinstance(c, CheckInfo) else c for c in infos]
    report = ValidationReport(root)
    try:
        report.ruleset = load_catalogue(root, check_objs)
    except RulesError as exc:
        report.problems.extend(exc.problems)
    if cases and root.is_dir():
        installed = {c.id: c for c in check_objs}
        dirs = report.ruleset.case_dirs if report.ruleset is not None else _case_dirs(root)
        for path in find_case_files(dirs, check_objs):
            report.case_files.append(path)
            report.problems.extend(validate_case_file(path, installed, ruleset=report.ruleset).problems)
    return report


@dataclass
class CaseFileCheck:
    """What checking one case file found, and what of it can run.

    `spec` is None when no case of the file can run (it cannot be read, has the wrong shape
    outside its cases, or names no installed check); otherwise it holds the cases whose shape
    is right, `positions` their indices in the file. `broken` holds the cases whose own part is
    wrong, which a runner skips: their outcome would only repeat the mistake. One broken case
    never keeps the others of its file from running."""

    problems: list[Problem]
    spec: CaseFile | None = None
    doc: YamlDocument | None = None
    broken: set[int] = field(default_factory=set)
    positions: list[int] = field(default_factory=list)
    total: int = 0
    """How many cases the file lists, run or not."""
    check: str | None = None
    """The check the file names, when it names one."""

    def runnable(self) -> list[tuple[int, Case]]:
        """(index in the file, case) of each case that can run."""
        if self.spec is None:
            return []
        return [(i, case) for i, case in zip(self.positions, self.spec.cases) if i not in self.broken]

    @property
    def skipped(self) -> int:
        return self.total - len(self.runnable())


def validate_case_file(
    path: str | Path, installed: Mapping[str, Check], *, visits: bool = True, ruleset: Ruleset | Catalogue | None = None
) -> CaseFileCheck:
    """Every problem of a case file in one run, as far as the file can be read: its shape, the
    check and rule ids, what it expects (severity, version, evidence, sanctions and grade, the
    last three against `ruleset` when given) and (with `visits`) the visit each case builds."""
    path = Path(path)
    shown = str(path)
    try:
        doc = load_document(
            read_at_most(path, MAX_CASE_FILE_BYTES), shown, max_bytes=MAX_CASE_FILE_BYTES,
            collect_duplicates=True, collect_bad_dates=True,
        )
    except OSError as exc:
        return CaseFileCheck([Problem("file_unreadable", {"detail": exc.strerror or str(exc)}, file=shown)])
    except InputError as exc:
        return CaseFileCheck(list(exc.problems))
    found = _CaseProblems(doc, installed, ruleset)
    bad_dates = [p for p in doc.problems if p.code == "bad_date"]
    for problem in bad_dates:
        found.add_located(problem, _path_at(doc, problem.line, problem.column))
    for where in doc.invalid:
        _set_null(doc.data, where)  # reported once above; null lets the rest of its case be checked
    data = doc.data if doc.data is not None else {}
    listed = data.get("cases") if isinstance(data, dict) else None
    positions = list(range(len(listed))) if isinstance(listed, list) else []
    try:
        spec: CaseFile | None = CaseFile.model_validate(data)
    except ValidationError as exc:
        spec = None
        shape = validation_problems(exc, CaseFile, source=shown, doc=doc, style="arrows")
        found.problems.extend(refine_problems(exc, shape, CaseFile))
        spec, positions = _cases_that_validate(exc, data, positions, found)
    found.check_data(data if isinstance(data, dict) else {}, visits=visits)
    # A date that does not exist was read as null: what that null then breaks is the same mistake.
    dates = {(p.line, p.column) for p in bad_dates}
    problems = [p for p in doc.problems + found.problems if p.code == "bad_date" or (p.line, p.column) not in dates]
    runnable = spec is not None and found.check is not None and not found.whole_file
    return CaseFileCheck(
        _sorted(_unique(problems)),
        spec if runnable else None,
        doc if runnable else None,
        found.broken,
        positions,
        len(listed) if isinstance(listed, list) else 0,
        data.get("check") if isinstance(data, dict) and isinstance(data.get("check"), str) else None,
    )


def _cases_that_validate(
    exc: ValidationError, data: Any, positions: list[int], found: _CaseProblems
) -> tuple[CaseFile | None, list[int]]:
    """The file without the cases whose shape is wrong (marked broken), when every shape error
    lies inside a case: a misspelt severity in one case must not keep the others from running."""
    broken: set[int] = set()
    for error in exc.errors(include_url=False):
        loc = _clean_loc(error.get("loc", ()))
        if len(loc) < 2 or loc[0] != "cases" or not isinstance(loc[1], int):
            found.whole_file = True
            return None, []
        broken.add(loc[1])
    found.broken |= broken
    kept = [i for i in positions if i not in broken]
    if not kept:
        return None, []
    try:
        return CaseFile.model_validate({**data, "cases": [data["cases"][i] for i in kept]}), kept
    except ValidationError:
        return None, []  # cannot happen once the broken cases are out; reported above all the same


class _CaseProblems:
    """The problems of one case file found in its data, field by field: a value of the wrong
    type is left to the shape check, so that a mistake in one field never hides another."""

    def __init__(self, doc: YamlDocument, installed: Mapping[str, Check], ruleset: Ruleset | Catalogue | None):
        self.doc = doc
        self.installed = installed
        self.visit_model = compose(list(installed.values())).model
        rulesets = ruleset.rulesets if isinstance(ruleset, Catalogue) else (ruleset,) if ruleset is not None else ()
        self.versions = (
            ruleset.rule_versions if isinstance(ruleset, Catalogue) else ruleset.rules if ruleset is not None else None
        )
        self.problems: list[Problem] = []
        self.broken: set[int] = set()
        self.whole_file = False
        self.check: Check | None = None
        self.rule_ids = [f"{c}.{r}" for c, chk in installed.items() for r in chk.rules]
        self.sanctions = list(dict.fromkeys(c for r in rulesets for c in recommendable_codes(r.sanctions))) if rulesets else None
        self.grades = (
            list(dict.fromkeys(b.grade for r in rulesets for v in r.grading.versions for b in v.bands)) if rulesets else None
        )

    def add(self, code: str, params: dict[str, Any], where: tuple[Any, ...], *, key: bool = False) -> None:
        line, column = self.doc.locate(where, key=key)
        self.add_located(Problem(code, params, file=self.doc.source, line=line, column=column), where)

    def add_located(self, problem: Problem, where: tuple[Any, ...]) -> None:
        """Keep `problem` (found at `where`) and note which case, or the whole file, it stops."""
        if len(where) > 1 and where[0] == "cases" and isinstance(where[1], int):
            self.broken.add(where[1])
        else:
            self.whole_file = True
        self.problems.append(problem.at(**path_params(where, self.doc.data)))

    def unknown(
        self, code: str, found: Any, choices: Sequence[str] | None, where: tuple[Any, ...], *, key: bool = False, **params: Any
    ) -> None:
        """`found` must be one of `choices` (None: not known here, so not checked)."""
        if isinstance(found, str) and choices is not None and found not in choices:
            shown = describe(found) if code == "invalid_choice" else found  # its template does not quote
            params.update(found=shown, expected=", ".join(choices) or "—", **hint_params(found, choices))
            self.add(code, params, where, key=key)

    def check_data(self, data: Mapping[str, Any], *, visits: bool) -> None:
        check_id = data.get("check")
        if isinstance(check_id, str):
            self.check = self.installed.get(check_id)
            self.unknown("case_unknown_check", check_id, sorted(self.installed), ("check",))
        base = _mapping(data.get("base"))
        for i, case in enumerate(_items(data.get("cases"))):
            if not isinstance(case, dict):
                continue
            where: tuple[Any, ...] = ("cases", i)
            for j, expected in enumerate(_items(case.get("expect"))):
                if isinstance(expected, dict):
                    self.expectation(expected, where + ("expect", j))
            wanted = _mapping(case.get("sanctions"))
            for j, want in enumerate(_items(wanted.get("include"))):
                code = _mapping(want).get("code")
                self.unknown("case_unknown_sanction", code, self.sanctions, where + ("sanctions", "include", j, "code"))
            # A case may well exclude what this ruleset never recommends ("never dismissal"), but
            # not a code that does not exist: that exclusion would hold whatever the rules say.
            for j, want in enumerate(_items(wanted.get("exclude"))):
                code = _mapping(want).get("code")
                self.unknown("invalid_choice", code, SANCTION_CODES, where + ("sanctions", "exclude", j, "code"))
            for j, entry in enumerate(_items(case.get("history"))):
                self.unknown("unknown_rule_ref", _mapping(entry).get("rule"), self.rule_ids, where + ("history", j, "rule"))
            self.unknown("case_unknown_grade", case.get("grade"), self.grades, where + ("grade",))
            if visits:
                for problem, at in _visit_problems(base, _mapping(case.get("visit")), i, self.doc, self.visit_model):
                    self.add_located(problem, at)

    def expectation(self, expected: Mapping[str, Any], where: tuple[Any, ...]) -> None:
        for k, code in enumerate(_items(expected.get("sanctions"))):
            self.unknown("case_unknown_sanction", code, self.sanctions, where + ("sanctions", k))
        check, rule_id = self.check, expected.get("rule")
        if check is None or not isinstance(rule_id, str):
            return
        rule = check.rules.get(rule_id)
        if rule is None:
            self.unknown("case_unknown_rule", rule_id, list(check.rules), where + ("rule",), check=check.id)
            return
        for key in _mapping(expected.get("evidence")):
            self.unknown("case_unknown_evidence", key, rule.finding_evidence(), where + ("evidence", key), rule=rule_id, key=True)
        version = expected.get("version")
        if isinstance(version, date) and self.versions is not None and rule_id in self.versions.get(check.id, {}):
            starts = [v.effective_from.isoformat() for v in self.versions[check.id][rule_id]]
            self.unknown("case_unknown_version", version.isoformat(), starts, where + ("version",), rule=rule_id)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _case_dirs(root: Path) -> list[Path]:
    """Where case files may be when the rules do not load: the directory and its overlays'."""
    return [root, *sorted(p.parent for p in root.glob("*/*/ruleset.yaml"))]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _set_null(data: Any, where: tuple[Any, ...]) -> None:
    try:
        for step in where[:-1]:
            data = data[step]
        if where and where[-1] in (data if isinstance(data, dict) else range(len(data))):
            data[where[-1]] = None
    except (KeyError, IndexError, TypeError):
        pass  # a date used as a key: nothing to null, its problem is reported all the same


def _path_at(doc: YamlDocument, line: int | None, column: int | None) -> tuple[Any, ...]:
    """The path of the value that starts at `line`:`column` (the deepest, as a list and its
    first item start together)."""
    paths = [path for path, mark in doc.marks.items() if mark == (line, column)]
    return max(paths, key=len, default=())


def _visit_problems(
    base: Mapping[str, Any], visit: Mapping[str, Any], index: int, doc: YamlDocument, model: type[Visit]
) -> list[tuple[Problem, tuple[Any, ...]]]:
    """Problems of the visit case `index` builds, each with where it stands: in the case or in `base`."""
    try:
        model.model_validate(merge(dict(base), dict(visit)))
    except ValidationError as exc:
        out = []
        for error in exc.errors(include_url=False):
            loc = _clean_loc(error.get("loc", ()))
            if _has_path(visit, loc) or not _has_path(base, loc):
                where: tuple[Any, ...] = ("cases", index, "visit", *loc)
            else:
                where = ("base", *loc)
            line, column = doc.locate(where, key=error.get("type") == "extra_forbidden")
            out.append((problem_from_error(error, model).at(file=doc.source, line=line, column=column), where))
        return out
    return []


def _has_path(data: Any, loc: Sequence[Any]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


__all__ = ["CaseFileCheck", "ValidationReport", "validate_case_file", "validate_rules"]
