"""Shared pytest set-up.

Hypothesis profiles: the default run keeps each property test's own small, derandomised
budget (fast enough for CI). A longer, randomised fuzz campaign multiplies those budgets:

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("long", max_examples=5_000, deadline=None, derandomize=False, print_blob=True)

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
