"""`compliance rules validate`: every mistake of a ruleset directory, located, in one run.

The ruleset itself is checked by `load_ruleset`, the same function every other command uses,
so that `validate` and `evaluate` refuse a broken ruleset with the same messages. On top of
that, the example case files beside the rules (`cases/*.yaml`) are checked: their shape, the
check and rule ids they name, and the visits they build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..cases import CaseFile, merge
from ..check import Check
from ..errors import ComplianceError, InputError, Problem, RulesError, hint_params
from ..plugins import CheckInfo, installed_checks
from ..ruleset.loader import CASES_DIR, Ruleset, default_rules_dir, load_ruleset, refine_problems
from ..validation import _clean_loc, format_path, problem_from_error
from ..visit import Visit
from ..yamlsafe import YamlDocument, load_document

MAX_CASE_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class ValidationReport:
    directory: Path
    problems: list[Problem] = field(default_factory=list)
    ruleset: Ruleset | None = None
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
            "checks": len(rs.rules) if rs else 0,
            "rules": sum(len(r) for r in rs.rules.values()) if rs else 0,
            "versions": sum(len(v) for r in rs.rules.values() for v in r.values()) if rs else 0,
            "case_files": len(self.case_files),
        }


def validate_rules(
    directory: str | Path | None = None, checks: Sequence[CheckInfo | Check] | None = None, *, cases: bool = True
) -> ValidationReport:
    """Load the ruleset in `directory` and check its case files; never raises RulesError."""
    root = Path(directory) if directory is not None else default_rules_dir()
    infos = installed_checks() if checks is None else list(checks)
    check_objs = [c.check if isinstance(c, CheckInfo) else c for c in infos]
    report = ValidationReport(root)
    try:
        report.ruleset = load_ruleset(root, check_objs)
    except RulesError as exc:
        report.problems.extend(exc.problems)
    if cases and root.is_dir():
        installed = {c.id: c for c in check_objs}
        for path in sorted((root / CASES_DIR).glob("*.yaml")):
            report.case_files.append(path)
            _, problems = validate_case_file(path, installed)
            report.problems.extend(problems)
    return report


def validate_case_file(
    path: str | Path, installed: Mapping[str, Check], *, visits: bool = True
) -> tuple[tuple[CaseFile, YamlDocument] | None, list[Problem]]:
    """A case file's spec and its problems: shape, check and rule ids, and (with `visits`) the
    visit each case builds. The spec is None when the file cannot be run at all."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
        doc = load_document(raw, shown, max_bytes=MAX_CASE_FILE_BYTES, collect_duplicates=True)
    except OSError as exc:
        return None, [Problem("file_unreadable", {"detail": exc.strerror or str(exc)}, file=shown)]
    except InputError as exc:
        return None, list(exc.problems)
    problems: list[Problem] = list(doc.problems)
    try:
        spec = CaseFile.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        from ..validation import problems as validation_problems

        found = validation_problems(exc, CaseFile, source=shown, doc=doc, style="arrows")
        problems.extend(refine_problems(exc, found, CaseFile))
        return None, problems

    def add(code: str, params: dict[str, Any], where: tuple[Any, ...]) -> None:
        line, column = doc.locate(where)
        problems.append(Problem(code, params, file=shown, line=line, column=column, path=format_path(where, "arrows") or None))

    check = installed.get(spec.check)
    if check is None:
        add(
            "case_unknown_check",
            {"found": spec.check, "expected": ", ".join(sorted(installed)), **hint_params(spec.check, installed)},
            ("check",),
        )
        return None, problems
    rule_ids = list(check.rules)
    all_ids = [f"{c}.{r}" for c, chk in installed.items() for r in chk.rules]
    for i, case in enumerate(spec.cases):
        for j, expected in enumerate(case.expect):
            if expected.rule not in check.rules:
                add(
                    "case_unknown_rule",
                    {"check": spec.check, "found": expected.rule, "expected": ", ".join(rule_ids), **hint_params(expected.rule, rule_ids)},
                    ("cases", i, "expect", j, "rule"),
                )
        for j, entry in enumerate(case.history):
            if entry.rule not in all_ids:
                add("unknown_rule_ref", {"found": entry.rule, **hint_params(entry.rule, all_ids)}, ("cases", i, "history", j, "rule"))
        if visits:
            problems.extend(_visit_problems(spec, i, doc))
    return (spec, doc), _unique(problems)


def _visit_problems(spec: CaseFile, index: int, doc: YamlDocument) -> list[Problem]:
    """Problems of the visit case `index` builds, located in the case or in `base`."""
    case = spec.cases[index]
    visit = merge(spec.base, case.visit)
    try:
        Visit.model_validate(visit)
    except ValidationError as exc:
        out = []
        for error in exc.errors(include_url=False):
            loc = _clean_loc(error.get("loc", ()))
            if _has_path(case.visit, loc) or not _has_path(spec.base, loc):
                where: tuple[Any, ...] = ("cases", index, "visit", *loc)
            else:
                where = ("base", *loc)
            line, column = doc.locate(where, key=error.get("type") == "extra_forbidden")
            problem = problem_from_error(error, Visit)
            out.append(problem.at(file=doc.source, line=line, column=column, path=format_path(where, "arrows")))
        return out
    except ComplianceError as exc:  # pragma: no cover - model validation raises ValidationError
        return list(exc.problems)
    return []


def _has_path(data: Any, loc: Sequence[Any]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.code, p.file, p.line, p.column, p.path, p.message("en"))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


__all__ = ["ValidationReport", "validate_case_file", "validate_rules"]
