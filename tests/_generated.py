"""Realistic visits from the repo's seeded generator (`benchmarks/generate.py`), for tests."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"


@cache
def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("_generate_visits", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_visits(count: int, seed: int = 2018) -> list[dict[str, Any]]:
    """`count` visits, the same for the same seed."""
    return list(_generator().visits(count, seed))
