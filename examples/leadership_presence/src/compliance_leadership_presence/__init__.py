"""Example compliance plugin: is any leader of the unit at the office during working hours?

The check lives in :mod:`compliance_leadership_presence.check`, which is what the
``compliance`` entry point names; its rules and cases ship in ``rules/`` beside it.
"""

from .check import RULES_DIR, LeadershipPresence, LeaderThresholds, is_leader

__all__ = ["RULES_DIR", "LeaderThresholds", "LeadershipPresence", "is_leader"]
__version__ = "0.1.0"
