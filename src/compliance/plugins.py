"""Find the installed checks through pluggy and the ``compliance`` entry-point group.

Built-in checks are registered exactly like third-party ones: each is an entry point of an
installed distribution. A plugin that cannot be imported, or that declares a malformed check,
stops loading with its name: a regulation silently dropping out would be a compliance defect.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from .check import OFFICIAL_EVIDENCE, UNIT_EVIDENCE, Check, Rule, Thresholds
from .errors import PluginError, Problem
from .observations import CORE_FIELDS, OFFICIAL, VISIT, Observed
from .validation import describe

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
        for ep in _entry_points():
            if pm.is_blocked(ep.name):
                continue
            dist = ep.dist
            source = _source(ep)
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


def _source(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    return f"{ep.value}" + (f", {dist.metadata['Name']} {dist.version}" if dist else "")  # no words: said in either language


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The group's entry points in name order. Two under one name stop loading with both
    sources: keeping either would let install order decide which regulation is checked."""
    by_name: dict[str, list[importlib.metadata.EntryPoint]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        same = by_name.setdefault(ep.name, [])
        if not any(_source(ep) == _source(other) for other in same):
            same.append(ep)
    clashes = [
        Problem("plugin_name_clash", {"plugin": name, "first": _source(eps[0]), "second": _source(eps[1])})
        for name, eps in sorted(by_name.items())
        if len(eps) > 1
    ]
    if clashes:
        raise PluginError(clashes)
    return [eps[0] for _, eps in sorted(by_name.items())]


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
        if checks is None:
            checks = []
        elif isinstance(checks, (str, bytes, Mapping)) or not isinstance(checks, Iterable):
            raise PluginError([Problem("plugin_bad_hook", {"plugin": name, "found": describe(checks)})])
        dist = pm.distributions.get(name)
        for check in checks:
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


RESERVED_EVIDENCE = (*UNIT_EVIDENCE, *OFFICIAL_EVIDENCE)
"""Keys the engine fills in every message: a rule declaring one could show its own value instead."""


def _validate_check(check: Any, plugin: str) -> None:
    """Refuse at load what would otherwise fail, or say something wrong, in the middle of a run."""

    def bad(en: str, vi: str) -> PluginError:
        return PluginError([Problem("plugin_bad_check", {"plugin": plugin, "detail_en": en, "detail_vi": vi})])

    if not isinstance(check, Check):
        raise bad(f"{check!r} is not a compliance.Check", f"{check!r} không phải một compliance.Check")
    cid = getattr(check, "id", None)
    if not isinstance(cid, str) or not cid.isidentifier():
        raise bad(
            f"check id {cid!r} must be an identifier such as 'fire_safety'",
            f"mã kiểm tra {cid!r} phải là một định danh, ví dụ 'fire_safety'",
        )
    rules = getattr(check, "rules", None)
    if not isinstance(rules, dict) or not rules:
        raise bad(f"check '{cid}' declares no rules", f"kiểm tra '{cid}' không khai báo quy tắc nào")
    for rule_id, rule in rules.items():
        if not isinstance(rule_id, str) or not rule_id.isidentifier():
            raise bad(f"rule id {rule_id!r} of '{cid}' must be an identifier", f"mã quy tắc {rule_id!r} của '{cid}' phải là một định danh")
        name = f"{cid}.{rule_id}"
        if not isinstance(rule, Rule) or rule.subject not in ("official", "unit"):
            raise bad(
                f"rule '{name}' must be a compliance.Rule with subject 'official' or 'unit'",
                f"quy tắc '{name}' phải là một compliance.Rule với đối tượng 'official' hoặc 'unit'",
            )
        if not isinstance(rule.summary, str):
            raise bad(f"summary of '{name}' must be text, not {describe(rule.summary)}", f"mô tả của '{name}' phải là văn bản, không phải {describe(rule.summary)}")
        if not (isinstance(rule.thresholds, type) and issubclass(rule.thresholds, Thresholds)):
            raise bad(f"thresholds of '{name}' must subclass compliance.Thresholds", f"ngưỡng của '{name}' phải là lớp con của compliance.Thresholds")
        evidence = rule.evidence
        if not isinstance(evidence, tuple) or not all(isinstance(k, str) and k.isidentifier() for k in evidence):
            raise bad(
                f"evidence of '{name}' must be a tuple of identifiers such as ('minutes_late',), not {evidence!r}",
                f"bằng chứng của '{name}' phải là một tuple các định danh, ví dụ ('minutes_late',), không phải {evidence!r}",
            )
        reserved = [k for k in evidence if k in RESERVED_EVIDENCE]
        if reserved:
            keys = ", ".join(reserved)
            raise bad(
                f"evidence of '{name}' declares {keys}, which the engine fills in itself",
                f"bằng chứng của '{name}' khai báo {keys}, là khóa do engine tự điền",
            )
    _validate_observes(cid, getattr(check, "observes", None), bad)


def _validate_observes(cid: str, observes: Any, bad: Any) -> None:
    """What a check declares it reads: places it may add to, fields that are optional and new."""
    if observes is None:
        return
    if not isinstance(observes, Mapping):
        raise bad(
            f"observes of '{cid}' must map places to compliance.Observed models, not {describe(observes)}",
            f"observes của '{cid}' phải ánh xạ vị trí tới các mô hình compliance.Observed, không phải {describe(observes)}",
        )
    for place, fragment in observes.items():
        if not isinstance(place, str) or not place.isidentifier():
            raise bad(f"place {place!r} in observes of '{cid}' must be an identifier", f"vị trí {place!r} trong observes của '{cid}' phải là một định danh")
        if place not in (OFFICIAL, VISIT) and place in CORE_FIELDS[VISIT]:
            raise bad(
                f"'{cid}' cannot add a section '{place}': the visit's own field has that name "
                f"(places: '{OFFICIAL}', '{VISIT}' or a section of its own)",
                f"'{cid}' không thể thêm mục '{place}': trùng tên một trường của lần kiểm tra "
                f"(vị trí: '{OFFICIAL}', '{VISIT}' hoặc một mục riêng)",
            )
        if not (isinstance(fragment, type) and issubclass(fragment, Observed)):
            raise bad(
                f"observes['{place}'] of '{cid}' must subclass compliance.Observed, not {describe(fragment)}",
                f"observes['{place}'] của '{cid}' phải là lớp con của compliance.Observed, không phải {describe(fragment)}",
            )
        core = CORE_FIELDS.get(place, frozenset())
        for field_name, info in fragment.model_fields.items():
            where = f"{place}.{field_name}"
            if field_name in core:
                raise bad(
                    f"'{cid}' declares '{where}', a field every visit has already",
                    f"'{cid}' khai báo '{where}', là trường sẵn có của mọi lần kiểm tra",
                )
            if info.is_required() or info.default is not None:
                raise bad(
                    f"observation '{where}' of '{cid}' must default to None: a field not observed is never a violation",
                    f"trường quan sát '{where}' của '{cid}' phải có mặc định None: trường không được quan sát không bao giờ là vi phạm",
                )


def installed_checks(extra: Sequence[Any] = (), *, entry_points: bool = True) -> list[CheckInfo]:
    return discover(plugin_manager(extra, entry_points=entry_points))
