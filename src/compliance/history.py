"""Earlier findings, indexed by subject, for the sanction stage's repeat escalation.

A caller evaluating many visits of a unit in date order keeps one `History` and adds each
result to it; the engine then looks up a subject's earlier findings without rescanning the
unit's whole past for every visit. Any iterable of `PriorFinding` works too, in any order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from .result import Evaluation, PriorFinding, Result

_Key = tuple[str, str, str, str]


def _nfc(text: str) -> str:
    """History from other systems may spell ids decomposed; visits are normalised to NFC."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


class History:
    """Earlier findings by (unit, subject type, subject id, rule), and by check as well.

    Each finding is filed under its rule (`check.rule`) and its check (`check`), so either
    repeat scope of the sanctions policy is one lookup.
    """

    __slots__ = ("_entries", "_count")

    def __init__(self, priors: Iterable[PriorFinding] = ()) -> None:
        self._entries: dict[_Key, list[tuple[date, str]]] = {}
        self._count = 0
        for prior in priors:
            self.add(prior)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        """How many earlier findings it holds."""
        return self._count

    def add(self, prior: PriorFinding) -> None:
        unit, subject = _nfc(prior.unit_id), _nfc(prior.subject_id)
        entry = (prior.date, prior.visit_id)
        self._count += 1
        self._file((unit, prior.subject_type, subject, prior.rule), entry)
        self._file((unit, prior.subject_type, subject, prior.rule.partition(".")[0]), entry)

    def add_result(self, result: Result) -> None:
        """Everything an evaluated visit contributes for the unit's later visits."""
        self._add_findings(
            result.unit_id,
            date.fromisoformat(result.visit_date),
            result.visit_id,
            [(f.key, f.check, f.severity, f.subject.type, f.subject.id) for f in result.findings],
        )

    def add_evaluation(self, evaluation: Evaluation) -> None:
        """`add_result` for a result as `Engine.evaluate_data` gives it."""
        data = evaluation.data
        self._add_findings(data["unit_id"], evaluation.visit_date, data["visit_id"], evaluation.findings)

    def _add_findings(self, unit_id: str, day: date, visit_id: str, findings: Sequence[tuple[str, str, Any, str, str]]) -> None:
        """Findings given as `Evaluation.findings` gives them: ('check.rule', check, severity,
        subject type, subject id)."""
        if not findings:
            return
        entry = (day, visit_id)
        unit = _nfc(unit_id)
        self._count += len(findings)
        file = self._file
        for rule, check, _, subject_type, subject_id in findings:
            file((unit, subject_type, subject_id, rule), entry)
            file((unit, subject_type, subject_id, check), entry)

    def _file(self, key: _Key, entry: tuple[date, str]) -> None:
        found = self._entries.get(key)
        if found is None:
            self._entries[key] = [entry]
        else:
            found.append(entry)

    def earlier(self, unit_id: str, subject_type: str, subject_id: str, scope: str, start: date, end: date) -> tuple[str, ...]:
        """Distinct visit ids of the subject's findings in `scope` dated in [start, end), sorted."""
        found = self._entries.get((unit_id, subject_type, subject_id, scope))
        if not found:
            return ()
        ids = {visit_id for day, visit_id in found if start <= day < end}
        return tuple(sorted(ids)) if len(ids) > 1 else tuple(ids)


__all__ = ["History"]
