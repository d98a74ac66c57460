"""`compliance rules test`: run the example cases beside the rules and say what failed.

Cases run through `compliance.cases` (the same runner the test suite uses). A failing case is
shown with its findings as a small diff (− expected but missing, + found but not expected)
and each detail; then rule coverage: which rules and which rule versions no case exercises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cases import CaseFile, CaseOutcome, Coverage, case_files, coverage, merge, run_case
from ..engine import Engine
from ..errors import ComplianceError, Lang, Problem
from ..yamlsafe import YamlDocument
from .validate import validate_case_file
from .words import say


@dataclass
class TestReport:
    directory: Path
    files: list[Path] = field(default_factory=list)
    outcomes: list[CaseOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    coverage: Coverage | None = None
    specs: dict[str, tuple[CaseFile, YamlDocument]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Cases not run because of errors in their file, by check id: counted, never hidden."""
    engine: Engine | None = None

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> bool:
        return not self.failed and not self.problems

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        cov = self.coverage
        return {
            "directory": str(self.directory),
            "passed": self.passed,
            "total": len(self.outcomes) + sum(self.skipped.values()),
            "failed": len(self.failed),
            "skipped": sum(self.skipped.values()),
            "files": [str(f) for f in self.files],
            "problems": [p.to_dict() for p in self.problems],
            "cases": [
                {
                    "file": o.file,
                    "line": o.line,
                    "check": o.check,
                    "name": o.name,
                    "passed": o.passed,
                    "expected": o.expected,
                    "actual": o.actual,
                    "failures": [{"en": f, "vi": translate(f, "vi")} for f in o.failures],
                }
                for o in self.outcomes
            ],
            "coverage": None
            if cov is None
            else {
                "complete": cov.complete,
                "never_fired": cov.never_fired,
                "never_silent": cov.never_silent,
                "versions_untested": cov.versions_untested,
                "not_run": cov.not_run,
            },
        }


def run_rule_tests(engine: Engine, paths: Sequence[str | Path] | None = None) -> TestReport:
    """Run every case file of the engine's ruleset (or the given files)."""
    report = TestReport(engine.catalogue.directory, engine=engine)
    installed = {info.check.id: info.check for info in engine.checks}
    for path in list(paths) if paths is not None else case_files(engine):
        path = Path(path)
        report.files.append(path)
        # The cases `rules validate` finds a mistake in (their visit included) are skipped, as it says.
        checked = validate_case_file(path, installed, ruleset=engine.catalogue)
        report.problems.extend(checked.problems)
        if checked.skipped:  # their problems are reported above; running them would only repeat them
            key = checked.check or path.stem
            report.skipped[key] = report.skipped.get(key, 0) + checked.skipped
        spec, doc = checked.spec, checked.doc
        if spec is None or doc is None:
            continue
        report.specs[str(path)] = (spec, doc)
        for index, case in checked.runnable():
            line, _ = doc.locate(("cases", index))
            report.outcomes.append(run_case(engine, spec, case, file=str(path), line=line))
    report.coverage = coverage(engine, report.outcomes, not_run=report.skipped)
    return report


# ---- wording of the failures the case runner reports (English), said in Vietnamese too

_VI_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^expected sanction (.+), not recommended$"), "mong đợi kiến nghị {0} nhưng không có"),
    (re.compile(r"^expected (.+), not found$"), "mong đợi phát hiện {0} nhưng không có"),
    (re.compile(r"^(.+): severity (\S+), expected (\S+)$"), "{0}: mức độ {1}, mong đợi {2}"),
    (re.compile(r"^(.+): rule version from (\S+), expected (\S+)$"), "{0}: áp dụng phiên bản từ {1}, mong đợi phiên bản từ {2}"),
    (re.compile(r"^(.+): evidence (\w+)=(.*), expected (.*)$"), "{0}: bằng chứng {1}={2}, mong đợi {3}"),
    (re.compile(r"^(.+): sanction (\S+) expected, got (.*)$"), "{0}: mong đợi kiến nghị {1}, thực tế có {2}"),
    (re.compile(r"^unexpected (.+)$"), "có phát hiện {0} không được mong đợi"),
    (re.compile(r"^sanction (.+) recommended, expected not$"), "có kiến nghị {0} trong khi mong đợi không có"),
    (re.compile(r"^grade (\S+), expected (\S+)$"), "xếp loại {0}, mong đợi {1}"),
    (re.compile(r"^the case's visit is not valid: (.*)$", re.DOTALL), "lần kiểm tra của ví dụ không hợp lệ: {0}"),
]


def translate(failure: str, lang: Lang) -> str:
    if lang == "en":
        return failure
    for pattern, template in _VI_PATTERNS:
        match = pattern.match(failure)
        if match:
            return template.format(*match.groups())
    return failure


# ---- rendering


def _finding_lines(expected: Sequence[str], actual: Sequence[str]) -> list[tuple[str, str]]:
    """(mark, label) lines: '  ' matched, '−' expected but missing, '+' found but not expected.

    An expectation without a subject ('check.rule') matches a finding of that rule for anyone.
    """
    remaining = list(actual)
    matched: list[str] = []
    missing: list[str] = []
    for label in sorted(expected, key=lambda e: "@" not in e):  # exact subjects first
        hit = next((a for a in remaining if a == label or ("@" not in label and a.split("@")[0] == label)), None)
        if hit is None:
            missing.append(label)
        else:
            remaining.remove(hit)
            matched.append(hit)
    lines = [("  ", m) for m in matched] + [("−", m) for m in missing] + [("+", a) for a in remaining]
    return sorted(lines, key=lambda x: (x[1], x[0]))


def render_text(report: TestReport, lang: Lang, *, verbose: bool = False) -> list[tuple[str, str | None]]:
    """Lines with a colour name (or None)."""
    out: list[tuple[str, str | None]] = []
    if report.problems:
        out.append((say("case_problems", lang), "red"))
        out.extend((p.render(lang), "red") for p in report.problems)
        out.append(("", None))
    for o in report.outcomes:
        where = f"{o.file}:{o.line}" if o.line else o.file
        if o.passed:
            if verbose:
                out.append((say("case_passed", lang, case=f"{o.id}  ({where})"), "green"))
            continue
        out.append((say("case_failed", lang, case=f"{o.id}  ({where})"), "red"))
        out.append(("    " + say("findings_diff", lang), None))
        lines = _finding_lines(o.expected, o.actual)
        if not lines:
            out.append(("        " + say("no_findings", lang), None))
        differing = {f.split(": ", 1)[0] for f in o.failures if ": " in f and not f.startswith("the case's")}
        for mark, label in lines:
            if mark == "  " and (label in differing or label.split("@")[0] in differing):
                mark = "~"
            colour = {"−": "red", "+": "green", "~": "yellow"}.get(mark)
            out.append((f"      {mark} {label}", colour))
        out.append(("    " + say("why", lang), None))
        for failure in o.failures:
            text = _visit_failure(report, o, lang) if failure.startswith("the case's visit is not valid") else None
            out.append(("      • " + (text or translate(failure, lang)), None))
    failed, skipped = len(report.failed), sum(report.skipped.values())
    total = len(report.outcomes) + skipped
    if out:
        out.append(("", None))
    if not report.files:
        out.append((say("no_cases", lang, dir=report.directory), "yellow"))
    elif skipped:
        out.append((say("summary_skipped", lang, total=total, passed=total - failed - skipped, failed=failed, skipped=skipped), "red"))
    elif failed or report.problems:
        out.append((say("summary_fail", lang, total=total, passed=total - failed, failed=failed), "red"))
    else:
        out.append((say("summary_pass", lang, total=total, files=len(report.files)), "green"))
    cov = report.coverage
    if cov is not None:
        out.append((say("coverage", lang), "bold"))
        if cov.complete:
            out.append((say("coverage_complete", lang), "green"))
        for key, items in (
            ("never_fired", cov.never_fired),
            ("versions_untested", cov.versions_untested),
            ("never_silent", cov.never_silent),
            ("not_run", cov.not_run),
        ):
            if items:
                out.append((say(key, lang, n=len(items)), "yellow"))
                for item in items:
                    out.append(("      " + item.replace("(from ", f"({say('from', lang)} "), None))
    return out


def _visit_failure(report: TestReport, outcome: CaseOutcome, lang: Lang) -> str | None:
    """The case's visit problems in the reader's language (the runner says them in English)."""
    loaded = report.specs.get(outcome.file)
    if loaded is None or report.engine is None:
        return None
    spec, _ = loaded
    case = next((c for c in spec.cases if c.name == outcome.name), None)
    if case is None:
        return None
    try:
        report.engine.parse_visit(merge(spec.base, case.visit))
    except ComplianceError as exc:
        head = translate("the case's visit is not valid: ", lang)
        return head + "; ".join(p.render(lang) for p in exc.problems)
    return None


__all__ = ["TestReport", "render_text", "run_rule_tests", "translate"]
