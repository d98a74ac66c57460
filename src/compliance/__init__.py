"""compliance: evaluate surprise-inspection visits into graded findings and recommended sanctions.

Embed it::

    from compliance import Engine

    engine = Engine.load()                   # installed checks + the base ruleset
    result = engine.evaluate(visit_dict)     # a Visit, a dict or JSON text
    for finding in result.findings:
        print(finding.check, finding.rule, finding.severity, finding.message["en"])

Write a check: subclass `Check`, declare its `Rule`s and `Thresholds`, yield `Observation`s
from `evaluate`, and return it from a `compliance_checks` hook marked with `hookimpl`.
"""

from .check import Check, Context, Observation, Rule, Thresholds, WorkingTime
from .common import LegalRef, Severity
from .engine import Engine, parse_visit
from .errors import ComplianceError, InputError, PluginError, Problem, RulesError
from .hookspecs import hookimpl
from .plugins import CheckInfo, installed_checks
from .result import Finding, Grade, PriorFinding, Result, RulesetRef, Sanction, Subject, history_from
from .ruleset.loader import Ruleset, default_rules_dir, load_ruleset
from .visit import Official, OneStop, Unit, Visit, Workplace

__version__ = "0.1.0"

__all__ = [
    "Check",
    "CheckInfo",
    "ComplianceError",
    "Context",
    "Engine",
    "Finding",
    "Grade",
    "InputError",
    "LegalRef",
    "Observation",
    "Official",
    "OneStop",
    "PluginError",
    "PriorFinding",
    "Problem",
    "Result",
    "Rule",
    "Ruleset",
    "RulesetRef",
    "RulesError",
    "Sanction",
    "Severity",
    "Subject",
    "Thresholds",
    "Unit",
    "Visit",
    "WorkingTime",
    "Workplace",
    "default_rules_dir",
    "history_from",
    "hookimpl",
    "installed_checks",
    "load_ruleset",
    "parse_visit",
    "__version__",
]
