"""`compliance rules show`: the rules in force for one province on one date, each value with
the file and line it came from (as `eslint --print-config` or `kustomize build` show theirs).

What a province's overlay sets and what the national base gives are merged exactly as
evaluation merges them (the same `Ruleset`), so what this prints is what a visit of that
province on that date is evaluated with; every departure of the overlay from the base is
listed with its reason.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from .. import public_holidays
from ..calendar import year_exceptions
from ..errors import Lang
from ..ruleset.catalogue import Catalogue
from .words import yaml_value

W: dict[str, tuple[str, str]] = {
    "title": ("Quy tắc có hiệu lực đối với tỉnh {province} ngày {date}", "Rules in force for {province} on {date}"),
    "no_province": ("(tỉnh không ghi)", "(no province given)"),
    "ruleset": ("Bộ quy tắc", "Ruleset"),
    "extends": ("kế thừa bộ cơ sở", "extends the base"),
    "calendar": ("Lịch làm việc", "Working calendar"),
    "working_days": ("ngày làm việc", "working days"),
    "seasons": ("giờ làm việc theo mùa", "working hours by season"),
    "holidays": ("ngày nghỉ bộ quy tắc ghi thêm năm {year}", "days off the rules add in {year}"),
    "weekend_work": ("ngày làm bù bộ quy tắc ghi năm {year}", "make-up working days the rules add in {year}"),
    "year_off": ("ngày nghỉ năm {year}, tính cả ngày lễ của thư viện", "days off in {year}, the library's holidays included"),
    "year_worked": ("ngày làm việc ngoài ngày thường năm {year}", "days worked outside the working week in {year}"),
    "not_covered": ("thư viện ngày lễ không có năm này: không có ngày làm việc", "the holiday library does not cover this year: no working day"),
    "grading": ("Thang xếp loại", "Grading"),
    "rules": ("Quy tắc", "Rules"),
    "not_in_force": ("không có hiệu lực vào ngày này", "not in force on this date"),
    "version": ("phiên bản", "version"),
    "severity": ("mức độ", "severity"),
    "thresholds": ("ngưỡng", "thresholds"),
    "basis": ("căn cứ", "legal basis"),
    "policies": ("Chính sách kiến nghị có hiệu lực", "Sanction policies in force"),
    "overrides": ("Tỉnh quy định khác bộ cơ sở", "Where the province departs from the base"),
    "none": ("(không có)", "(none)"),
    "reason": ("lý do", "reason"),
    "kind_add": ("bổ sung", "added"),
    "kind_replace": ("thay thế các phiên bản", "versions replaced"),
    "kind_thresholds": ("đổi ngưỡng", "thresholds changed"),
    "kind_disable": ("không áp dụng", "disabled"),
    "kind_file": ("tệp riêng thay tệp của bộ cơ sở", "a file of its own instead of the base's"),
}


def w(key: str, lang: Lang, **params: Any) -> str:
    vi, en = W[key]
    text = vi if lang == "vi" else en
    return text.format(**params) if params else text


def effective(catalogue: Catalogue, province: str | None, day: date, *, root: Path | None = None) -> dict[str, Any]:
    """The rules a visit of `province` on `day` is evaluated with, as plain data, each value
    with its source ("file:line"). InputError when no ruleset covers the province then."""
    route = catalogue.route(province, day)
    ruleset = route.ruleset
    snapshot = ruleset.in_force(day)
    where = _Relative(root or catalogue.directory)
    calendar = snapshot.calendar
    data: dict[str, Any] = {
        "province": route.province,
        "date": day.isoformat(),
        "ruleset": {
            "name": ruleset.name,
            "version": ruleset.version,
            "digest": ruleset.digest,
            "directory": where(str(ruleset.directory)),
            "base": {"name": ruleset.base.name, "version": ruleset.base.version, "digest": ruleset.layer_digest("base")}
            if ruleset.base is not None
            else None,
        },
        "calendar": None,
        "grading": None,
        "rules": [],
        "policies": [],
        "overrides": [
            {"what": o.what, "kind": o.kind, "reason": o.reason, "source": where(f"{o.file}:{o.line}" if o.line else o.file)}
            for o in ruleset.overrides
        ],
    }
    if calendar is not None:
        year = day.year
        data["calendar"] = {
            "version": _span(calendar),
            "source": where(ruleset.source(calendar)),
            "utc_offset": ruleset.calendar.utc_offset,
            "working_days": {"value": [d.value for d in calendar.working_days], "source": where(ruleset.source(calendar, "working_days"))},
            "seasons": {
                "value": [
                    {"name": s.name, "from": s.from_, "to": s.to, "sessions": [f"{x.start:%H:%M}-{x.end:%H:%M}" for x in s.sessions]}
                    for s in calendar.seasons or ()
                ],
                "source": where(ruleset.source(calendar, "seasons")),
            },
            "holidays": {
                "value": [d.isoformat() for d in calendar.holidays if d.year == year] + [f"{md} (every year)" for md in calendar.annual_holidays],
                "source": where(ruleset.source(calendar, "holidays")),
            },
            "working_weekend_days": {
                "value": [d.isoformat() for d in calendar.working_weekend_days if d.year == year],
                "source": where(ruleset.source(calendar, "working_weekend_days")),
            },
        }
        # What the year comes to, the library's public holidays and the ruleset's own days
        # together: the lists above hold only what the YAML adds.
        exceptions = year_exceptions(calendar, year)
        library = calendar.public_holidays
        data["calendar"]["year"] = {
            "days_off": None if exceptions is None else [d.isoformat() for d in exceptions[0]],
            "days_worked": None if exceptions is None else [d.isoformat() for d in exceptions[1]],
            "source": None if library is None else f"{public_holidays.SOURCE} {public_holidays.library_version()} ({library.country})",
        }
    grading = snapshot.grading
    if grading is not None:
        data["grading"] = {
            "version": _span(grading),
            "source": where(ruleset.source(grading)),
            "points": {s.value: p for s, p in grading.points.items()},
            "bands": [b.grade for b in grading.bands],
        }
    overridden = {o.what: o for o in ruleset.overrides}
    for check, by_rule in sorted(ruleset.rules.items()):
        in_force = snapshot.rules.get(check, {})
        for rule in sorted(by_rule):
            key = f"{check}.{rule}"
            version = in_force.get(rule)
            entry: dict[str, Any] = {"rule": key, "in_force": version is not None}
            if version is not None:
                entry.update(
                    version=_span(version),
                    source=where(ruleset.source(version)),
                    severity={"value": version.severity.value, "source": where(ruleset.source(version, "severity"))},
                    thresholds={
                        k: {"value": v, "source": where(ruleset.source(version, f"thresholds.{k}"))}
                        for k, v in version.thresholds.model_dump(mode="json").items()
                    },
                    legal_basis=[ref.document for ref in version.legal_basis],
                )
            if key in overridden:
                o = overridden[key]
                entry["override"] = {"kind": o.kind, "reason": o.reason, "source": where(f"{o.file}:{o.line}" if o.line else o.file)}
            data["rules"].append(entry)
    for policy in ruleset.sanctions.policies:
        if policy.covers(day):
            data["policies"].append({"id": policy.id, "source": where(ruleset.source(policy)),
                                     "recommend": [f"{r.code}→{r.target}" for r in policy.recommend]})
    return data


def _span(v: Any) -> str:
    return f"{v.effective_from.isoformat()} → {v.effective_to.isoformat() if v.effective_to else '…'}"


class _Relative:
    """Sources shown relative to the directory the user named, as editors open them."""

    def __init__(self, root: Path):
        self.root = str(root.resolve())

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        parts = []
        for piece in text.split(" + "):
            path = str(Path(piece.rsplit(":", 1)[0]).resolve()) if ":" in piece else piece
            rest = piece[len(piece.rsplit(":", 1)[0]):] if ":" in piece else ""
            parts.append((path[len(self.root) + 1:] if path.startswith(self.root + "/") else path) + rest)
        return " + ".join(parts)


def render_text(data: dict[str, Any], lang: Lang) -> str:
    """The effective rules as an annotated listing: value, then `# file:line`."""
    lines: list[str] = []
    province = data["province"] or w("no_province", lang)
    lines.append("# " + w("title", lang, province=province, date=data["date"]))
    rs = data["ruleset"]
    head = f"{w('ruleset', lang)}: {rs['name']} {rs['version']} ({rs['digest']})"
    if rs["base"]:
        head += f"; {w('extends', lang)} {rs['base']['name']} {rs['base']['version']}"
    lines.append(head)

    def row(label: str, value: str, source: str | None, indent: int = 2) -> None:
        text = " " * indent + f"{label}: {value}"
        lines.append(f"{text:<70}  # {source}" if source else text)

    cal = data["calendar"]
    if cal is not None:
        lines.append("")
        row(w("calendar", lang), cal["version"], cal["source"], 0)
        row(w("working_days", lang), ", ".join(cal["working_days"]["value"]), cal["working_days"]["source"])
        seasons = "; ".join(f"{s['name']} {s['from']}…{s['to']} {', '.join(s['sessions'])}" for s in cal["seasons"]["value"])
        row(w("seasons", lang), seasons or w("none", lang), cal["seasons"]["source"])
        year = data["date"][:4]
        row(w("holidays", lang, year=year), ", ".join(cal["holidays"]["value"]) or w("none", lang), cal["holidays"]["source"])
        if cal["working_weekend_days"]["value"]:
            row(w("weekend_work", lang, year=year), ", ".join(cal["working_weekend_days"]["value"]), cal["working_weekend_days"]["source"])
        whole = cal["year"]
        source = " + ".join(s for s in (whole["source"], cal["holidays"]["source"]) if s)
        if whole["days_off"] is None:
            row(w("year_off", lang, year=year), w("not_covered", lang), whole["source"])
        else:
            row(w("year_off", lang, year=year), ", ".join(whole["days_off"]) or w("none", lang), source)
            if whole["days_worked"]:
                row(w("year_worked", lang, year=year), ", ".join(whole["days_worked"]), source)
    grading = data["grading"]
    if grading is not None:
        row(w("grading", lang), f"{grading['version']}: {', '.join(grading['bands'])}", grading["source"], 0)
    lines.append("")
    lines.append(w("rules", lang) + ":")
    for entry in data["rules"]:
        if not entry["in_force"]:
            mark = f"  {entry['rule']}: {w('not_in_force', lang)}"
            override = entry.get("override")
            lines.append(f"{mark:<70}  # {override['source']}" if override else mark)
            continue
        row(entry["rule"], f"{w('version', lang)} {entry['version']}", entry["source"])
        row(w("severity", lang), entry["severity"]["value"], entry["severity"]["source"], 4)
        for key, item in entry["thresholds"].items():
            row(f"{w('thresholds', lang)}.{key}", yaml_value(item["value"]), item["source"], 4)
        row(w("basis", lang), "; ".join(entry["legal_basis"]), None, 4)
        override = entry.get("override")
        if override:
            reason = f" — {w('reason', lang)}: {override['reason'][lang]}" if override["reason"] else ""
            row("override", w("kind_" + override["kind"], lang) + reason, override["source"], 4)
    lines.append("")
    lines.append(w("policies", lang) + ":")
    for policy in data["policies"]:
        row(policy["id"], ", ".join(policy["recommend"]), policy["source"])
    lines.append("")
    lines.append(w("overrides", lang) + ":")
    if not data["overrides"]:
        lines.append("  " + w("none", lang))
    for o in data["overrides"]:
        reason = f" — {w('reason', lang)}: {o['reason'][lang]}" if o["reason"] else ""
        row(o["what"], w("kind_" + o["kind"], lang) + reason, o["source"])
    return "\n".join(lines)


__all__ = ["effective", "render_text"]
