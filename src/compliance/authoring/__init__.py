"""Tools for the people who write rules: validate, schema, example cases, explain, diff.

Everything here reads rule files and visits; nothing in a rules file is ever executed.
"""

from __future__ import annotations

from .validate import CaseFileCheck, ValidationReport, validate_case_file, validate_rules

__all__ = ["CaseFileCheck", "ValidationReport", "validate_case_file", "validate_rules"]
