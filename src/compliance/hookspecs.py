"""The hooks a compliance plugin may implement.

A plugin is any module registered under the ``compliance`` entry-point group, exactly as the
built-in checks are::

    # pyproject.toml of a third-party package
    [project.entry-points.compliance]
    fire_safety = "my_package.fire_safety"

and implements hooks with ``compliance.hookimpl``::

    from compliance import hookimpl

    @hookimpl
    def compliance_checks():
        return [FireSafety()]

The engine knows no check by name: everything it evaluates arrives through these hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .check import Check

PROJECT = "compliance"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def compliance_checks() -> Sequence[Check]:
    """Return the regulation checks this plugin provides.

    Each check declares its id, its rules (id, subject and the pydantic model of the
    thresholds its YAML may set) and its evaluation. Check ids must be unique across all
    installed plugins; a clash stops the engine from loading rather than letting one
    regulation silently replace another.
    """
    raise NotImplementedError
