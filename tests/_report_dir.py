"""A batch output directory for the report tests.

With `compliance batch` installed the directory is made by it; before that, the campaign is
evaluated in-process and summary.json / results.jsonl are written in the documented shape.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from compliance import Engine

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "fixtures" / "campaign-2018.jsonl"
SEVERITIES = ("minor", "moderate", "serious", "critical")
GRADES = ("good", "fair", "needs_improvement", "poor")
RANK = {s: i for i, s in enumerate(SEVERITIES)}
CLI = [sys.executable, "-c", "from compliance.cli import main; main()"]


def batch_available() -> bool:
    try:
        done = subprocess.run(
            [*CLI, "batch", "--help"],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def make_report_dir(out: Path, visits_file: Path = CAMPAIGN) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    if batch_available():
        done = subprocess.run(
            [*CLI, "batch", str(visits_file), "--out", str(out)],
            capture_output=True,
            check=False,
            timeout=600,
        )
        if done.returncode in (0, 1) and (out / "summary.json").is_file():
            return out
        raise AssertionError(f"compliance batch failed: {done.returncode}\n{done.stderr.decode(errors='replace')}")
    write_in_process(out, visits_file)
    return out


def _block() -> dict[str, Any]:
    return {
        "visits": 0,
        "units": set(),
        "subjects_by_rule": defaultdict(set),
        "findings_by_rule": Counter(),
        "findings_by_severity": Counter({s: 0 for s in SEVERITIES}),
        "sanctions_by_code": Counter(),
    }


def _add(block: dict[str, Any], result: dict[str, Any]) -> None:
    block["visits"] += 1
    block["units"].add(result["unit_id"])
    for f in result["findings"]:
        key = f"{f['check']}.{f['rule']}"
        block["subjects_by_rule"][key].add((f["subject"]["type"], result["unit_id"], f["subject"]["id"]))
        block["findings_by_rule"][key] += 1
        block["findings_by_severity"][f["severity"]] += 1
    for s in result["sanctions"]:
        block["sanctions_by_code"][s["code"]] += 1


def _final(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "visits": block["visits"],
        "units": len(block["units"]),
        "subjects_by_rule": {k: len(v) for k, v in sorted(block["subjects_by_rule"].items())},
        "findings_by_rule": dict(sorted(block["findings_by_rule"].items())),
        "findings_by_severity": {s: block["findings_by_severity"][s] for s in SEVERITIES},
        "sanctions_by_code": dict(sorted(block["sanctions_by_code"].items())),
    }


def write_in_process(out: Path, visits_file: Path = CAMPAIGN) -> None:
    engine = Engine.load()
    results: list[dict[str, Any]] = []
    plans: set[str] = set()
    for line in visits_file.read_bytes().splitlines():
        if not line.strip():
            continue
        visit = orjson.loads(line)
        if visit.get("plan_ref"):
            plans.add(visit["plan_ref"])
        results.append(engine.evaluate(visit).to_dict())
    results.sort(key=lambda r: (r["unit_id"], r["visit_date"], r["visit_id"]))

    total = _block()
    by_level: dict[str, dict[str, Any]] = defaultdict(_block)
    by_month: dict[str, dict[str, Any]] = defaultdict(_block)
    by_province: dict[str, dict[str, Any]] = defaultdict(_block)
    units_by_level: dict[str, set[str]] = defaultdict(set)
    grades: Counter[str] = Counter({g: 0 for g in GRADES})
    per_unit: dict[str, dict[str, Any]] = {}
    for r in results:
        _add(total, r)
        _add(by_level[r["unit_level"]], r)
        _add(by_month[r["visit_date"][:7]], r)
        _add(by_province[r.get("province") or ""], r)
        units_by_level[r["unit_level"]].add(r["unit_id"])
        grades[r["grade"]["code"]] += 1
        unit = per_unit.setdefault(
            r["unit_id"],
            {
                "unit_id": r["unit_id"],
                "unit_name": r.get("unit_name"),
                "unit_level": r["unit_level"],
                "province": r.get("province"),
                "visits": 0,
                "findings": 0,
                "worst_severity": None,
            },
        )
        unit["visits"] += 1
        unit["findings"] += len(r["findings"])
        for f in r["findings"]:
            worst = unit["worst_severity"]
            if worst is None or RANK[f["severity"]] > RANK[worst]:
                unit["worst_severity"] = f["severity"]
    block = _final(total)
    dates = sorted(r["visit_date"] for r in results)
    ruleset = results[0]["ruleset"] if results else {}
    summary = {
        "visits": len(results),
        "errors": 0,
        "findings": sum(block["findings_by_rule"].values()),
        "units_by_level": {k: len(v) for k, v in units_by_level.items()},
        "subjects_by_rule": block["subjects_by_rule"],
        "findings_by_rule": block["findings_by_rule"],
        "findings_by_severity": block["findings_by_severity"],
        "sanctions_by_code": block["sanctions_by_code"],
        "grades": dict(grades),
        "period": {"from": dates[0] if dates else None, "to": dates[-1] if dates else None},
        "plan_refs": sorted(plans),
        "by_level": {k: _final(v) for k, v in sorted(by_level.items())},
        "by_month": {k: _final(v) for k, v in sorted(by_month.items())},
        "by_province": {k: _final(v) for k, v in sorted(by_province.items())},
        "top_units": sorted(per_unit.values(), key=lambda u: (-u["findings"], u["unit_id"]))[:20],
        "ruleset": {k: ruleset.get(k) for k in ("name", "version", "digest")},
    }
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    with (out / "results.jsonl").open("wb") as handle:
        for r in results:
            handle.write(orjson.dumps(r) + b"\n")
    (out / "errors.jsonl").write_bytes(b"")
