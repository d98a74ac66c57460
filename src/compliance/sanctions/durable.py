"""The one module that talks to durable-rules.

durable-rules 2.0.28 has sharp edges: its host is process-global and runs background timer
threads, it raises when no rule matches, it keeps every session's state until told otherwise
(and fails after about a thousand live sessions), an event is consumed by the first rule that
matches it, and `== None` does not match a missing field. So this wrapper

- builds bare `Ruleset` objects (no host, no timer threads) from JSON definitions, never from
  Python code, and serialises every call to the engine behind one lock;
- asserts a *fact* (which every rule sees) in a fresh session and deletes that session's state
  in a `finally`, so nothing outlives one decision;
- adds a condition every fact meets, so that some rule always matches: after "no rule
  matched" durable-rules leaves a session that deleting frees twice (the process aborts) and
  that not deleting leaks until MemoryError;
- expects callers to give every field a value (no None).

Conditions are a tiny neutral language, compiled here to durable-rules' JSON:
``("in", field, [values])``, ``(">=", field, number)``, ``("<=", field, number)``.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import durable.engine as _engine
import durable_rules_engine as _native

Clause = tuple[str, str, Any]
Fact = Mapping[str, str | int]

_ALWAYS = "always_matches"
"""The field of the condition every fact meets (see the module docstring)."""
_LOCK = threading.RLock()
_SESSIONS = itertools.count()


def _compile_clause(clause: Clause) -> dict[str, Any]:
    op, field, value = clause
    if op == "in":
        values = list(value)
        if len(values) == 1:
            return {field: values[0]}
        return {"$or": [{field: v} for v in values]}
    if op == ">=":
        return {"$gte": {field: value}}
    if op == "<=":
        return {"$lte": {field: value}}
    raise ValueError(f"unknown operator {op!r}")


def compile_condition(clauses: Sequence[Clause]) -> dict[str, Any]:
    """durable-rules JSON for the conjunction of `clauses` (at least one)."""
    if not clauses:
        raise ValueError("a condition needs at least one clause")
    parts = [_compile_clause(c) for c in clauses]
    return parts[0] if len(parts) == 1 else {"$and": parts}


class RuleNetwork:
    """Conditions compiled into one durable-rules ruleset; asks which of them a fact satisfies."""

    def __init__(self, conditions: Sequence[Sequence[Clause]]):
        self.size = len(conditions)
        self._fired: list[int] = []
        definition: dict[str, Any] = {}
        for index, clauses in enumerate(conditions):
            definition[f"c{index}"] = {
                "all": [{"m": compile_condition(clauses)}],
                "run": self._action(index),
            }
        self.definition_json = json.dumps(
            {k: {"all": v["all"]} for k, v in definition.items()}, sort_keys=True, ensure_ascii=False
        )
        definition[_ALWAYS] = {"all": [{"m": {"$gte": {_ALWAYS: 1}}}], "run": self._action(-1)}
        with _LOCK:
            self._ruleset = _engine.Ruleset(f"compliance_{id(self)}", None, definition)
        weakref.finalize(self, _delete, self._ruleset._handle)

    def _action(self, index: int) -> Any:
        fired = self._fired

        def run(_closure: Any) -> None:
            fired.append(index)

        return run

    def matching(self, fact: Fact) -> list[int]:
        """Indexes of the conditions that `fact` satisfies, ascending."""
        if any(v is None for v in fact.values()):
            raise ValueError("every fact field needs a value: durable-rules cannot match None")
        with _LOCK:
            sid = f"s{next(_SESSIONS)}"
            self._fired.clear()
            try:
                result = self._ruleset.assert_fact({**fact, _ALWAYS: 1, "sid": sid})
                errors: list[BaseException] = []
                self._ruleset.do_actions(result, lambda e, _state: errors.append(e) if e else None)
                if errors:
                    raise errors[0]
                return sorted({index for index in self._fired if index >= 0})
            finally:
                self._ruleset.delete_state(sid)
                self._fired.clear()


def _delete(handle: Any) -> None:
    with _LOCK:
        try:
            _native.delete_ruleset(handle)
        except Exception:  # noqa: BLE001 - the process may be shutting down
            pass
