"""Find the installed checks through pluggy and the ``compliance`` entry-point group.

Built-in checks are registered exactly like third-party ones: each is an entry point of an
installed distribution. A plugin that cannot be imported, or that declares a malformed check,
stops loading with its name: a regulation silently dropping out would be a compliance defect.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from .check import Check, Rule, Thresholds
from .errors import PluginError, Problem

ENTRY_POINT_GROUP = hookspecs.PROJECT


@dataclass(frozen=True)
class CheckInfo:
    """A check and where it came from (plugin name, module, distribution)."""

    check: Check
    plugin: str
    module: str
    distribution: str | None
    version: str | None

    @property
    def source(self) -> str:
        dist = f"{self.distribution} {self.version}" if self.distribution else "registered in-process"
        return f"{self.module} ({dist})"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering which distribution each entry-point plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.distributions: dict[str, tuple[str, str]] = {}


def plugin_manager(extra: Iterable[Any] = (), *, entry_points: bool = True) -> PluginManager:
    """A fresh plugin manager: installed entry points plus any plugin objects given."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    if entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            dist = ep.dist
            source = f"{ep.value}" + (f" from {dist.metadata['Name']} {dist.version}" if dist else "")
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - any failure of foreign code is reported by name
                raise PluginError(
                    [Problem("plugin_load_failed", {"plugin": ep.name, "source": source, "detail": _short(exc)})]
                ) from exc
            if dist is not None:
                pm.distributions[ep.name] = (dist.metadata["Name"], dist.version)
    for plugin in extra:
        pm.register(plugin)
    return pm


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def discover(pm: PluginManager) -> list[CheckInfo]:
    """Every check the registered plugins provide, validated, in id order."""
    found: dict[str, CheckInfo] = {}
    for impl in pm.hook.compliance_checks.get_hookimpls():
        name = pm.get_name(impl.plugin) or repr(impl.plugin)
        try:
            checks = impl.function()
        except Exception as exc:  # noqa: BLE001
            raise PluginError(
                [Problem("plugin_load_failed", {"plugin": name, "source": impl.plugin.__name__, "detail": _short(exc)})]
            ) from exc
        dist = pm.distributions.get(name)
        for check in checks or ():
            _validate_check(check, name)
            info = CheckInfo(
                check=check,
                plugin=name,
                module=type(check).__module__,
                distribution=dist[0] if dist else None,
                version=dist[1] if dist else None,
            )
            if check.id in found:
                raise PluginError(
                    [Problem("duplicate_check", {"check": check.id, "first": found[check.id].source, "second": info.source})]
                )
            found[check.id] = info
    return [found[k] for k in sorted(found)]


def _validate_check(check: Any, plugin: str) -> None:
    def bad(detail: str) -> PluginError:
        return PluginError([Problem("plugin_bad_check", {"plugin": plugin, "detail": detail})])

    if not isinstance(check, Check):
        raise bad(f"{check!r} is not a compliance.Check")
    cid = getattr(check, "id", None)
    if not isinstance(cid, str) or not cid.isidentifier():
        raise bad(f"check id {cid!r} must be an identifier such as 'fire_safety'")
    rules = getattr(check, "rules", None)
    if not isinstance(rules, dict) or not rules:
        raise bad(f"check '{cid}' declares no rules")
    for rule_id, rule in rules.items():
        if not isinstance(rule_id, str) or not rule_id.isidentifier():
            raise bad(f"rule id {rule_id!r} of '{cid}' must be an identifier")
        if not isinstance(rule, Rule) or rule.subject not in ("official", "unit"):
            raise bad(f"rule '{cid}.{rule_id}' must be a compliance.Rule with subject 'official' or 'unit'")
        if not (isinstance(rule.thresholds, type) and issubclass(rule.thresholds, Thresholds)):
            raise bad(f"thresholds of '{cid}.{rule_id}' must subclass compliance.Thresholds")


def installed_checks(extra: Sequence[Any] = (), *, entry_points: bool = True) -> list[CheckInfo]:
    return discover(plugin_manager(extra, entry_points=entry_points))
