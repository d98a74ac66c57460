"""compliance: evaluate surprise-inspection visits into graded findings and recommended sanctions.

Embed it::

    from compliance import Engine

    engine = Engine.load()                   # installed checks + the base ruleset
    result = engine.evaluate(visit_dict)     # a Visit, a dict or JSON text
    for finding in result.findings:
        print(finding.check, finding.rule, finding.severity, finding.message["en"])

Write a check: subclass `Check`, declare what it reads of a visit (`Observed` fragments in
`observes`), its `Rule`s and `Thresholds`, yield `Observation`s from `evaluate`, and return it
from a `compliance_checks` hook marked with `hookimpl`.

The embedding API (`compliance.api`) adds evaluating many visits, listing what is installed
and the JSON Schemas of the exchange formats::

    >>> import compliance
    >>> engine = compliance.Engine.load()
    >>> result = engine.evaluate('{"visit_id": "v1", "inspected_at": "2018-06-12T07:50:00+07:00",'
    ...                          ' "unit": {"id": "u1", "level": "commune"},'
    ...                          ' "personnel": [{"id": "o1", "attendance": "absent"}]}')
    >>> [f"{f.check}.{f.rule}" for f in result.findings]
    ['working_hours.absent_unexcused']
    >>> result.to_dict()["ruleset"]["name"] == compliance.ruleset_info(engine).name
    True
    >>> compliance.visit_schema()["properties"]["unit"]["$ref"]
    '#/$defs/Unit'
"""

from .api import (
    Outcome,
    RuleInfo,
    RulesetInfo,
    RuleVersionInfo,
    VisitInput,
    evaluate_many,
    iter_evaluations,
    list_checks,
    parse_history,
    parse_visit,
    result_schema,
    ruleset_info,
    visit_schema,
)
from .check import Check, Context, Note, Observation, Rule, Thresholds, WorkingTime
from .common import LegalRef, Severity, described
from .engine import Engine
from .errors import ComplianceError, InputError, PluginError, Problem, RulesError
from .history import History
from .hookspecs import hookimpl
from .plugins import CheckInfo, installed_checks
from .result import (
    Evaluation,
    Finding,
    Grade,
    PriorFinding,
    Result,
    RulesetRef,
    Sanction,
    Subject,
    history_from,
)
from .observations import Observed, VisitFormat, observed
from .ruleset.loader import Ruleset, default_rules_dir, load_ruleset
from .trace import Trace
from .visit import Code, Official, Unit, Visit

__version__ = "0.1.0"

__all__ = [
    "Check",
    "CheckInfo",
    "Code",
    "ComplianceError",
    "Context",
    "Engine",
    "Evaluation",
    "Finding",
    "Grade",
    "History",
    "InputError",
    "LegalRef",
    "Note",
    "Observation",
    "Observed",
    "Official",
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
    "Trace",
    "Unit",
    "Visit",
    "VisitFormat",
    "WorkingTime",
    "default_rules_dir",
    "described",
    "history_from",
    "hookimpl",
    "installed_checks",
    "load_ruleset",
    "observed",
    "parse_visit",
    "__version__",
    # the embedding API (compliance.api)
    "Outcome",
    "RuleInfo",
    "RuleVersionInfo",
    "RulesetInfo",
    "VisitInput",
    "evaluate_many",
    "iter_evaluations",
    "list_checks",
    "parse_history",
    "result_schema",
    "ruleset_info",
    "visit_schema",
]
