"""JSON Schemas of the rule files, generated from the same pydantic models the loader uses.

An editor with the YAML extension (yaml-language-server) reads the schema named on a file's
first line (`# yaml-language-server: $schema=schema/<name>.schema.json`) and then completes
keys, shows their descriptions and flags mistakes as policy staff type. The schemas live in
`rules/schema/`: one per kind of file (catalogue, ruleset, calendar, grading, sanctions, cases),
one per check whose rules file is in the ruleset, and for a province's overlay one for its
calendar and one per check (`*.overlay.schema.json`, where a rule may also be overridden); a
plugin check whose rules come from its own
file has its schema beside that file (`<rules_dir>/schema/<id>.schema.json`), where the same
first line points. `compliance rules schema` regenerates them; a test keeps them in sync.

Every description is in English (`description`) and Vietnamese (`x-description-vi`, as in the
visit format's schema), and both are joined in `markdownDescription`, which is what VS Code's
YAML extension shows when completing a key or hovering over it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from ..cases import CaseFile
from ..errors import ComplianceError, Problem
from ..check import Check
from ..plugins import CheckInfo
from ..common import DESCRIPTION_VI
from ..ruleset import model as rules_model
from ..ruleset.loader import SHARED_FILES

SCHEMA_DIR = "schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SHARED_MODELS: dict[str, type[BaseModel]] = {
    "ruleset": rules_model.RulesetMeta,
    "calendar": rules_model.CalendarFile,
    "grading": rules_model.GradingFile,
    "sanctions": rules_model.SanctionsFile,
}
OVERLAY_MODELS: dict[str, type[BaseModel]] = {
    "catalogue": rules_model.CatalogueMeta,
    "calendar.overlay": rules_model.CalendarPatchFile,
}
"""The catalogue's own file, and the files of a province's overlay that differ from the base's."""
TITLES: dict[str, str] = {
    "catalogue": "catalogue.yaml: the national base and the provinces' overlays / bộ cơ sở quốc gia và bộ quy tắc của các tỉnh",
    "calendar.overlay": "provinces/<name>/calendar.yaml: a province's working hours and days off / giờ làm việc và ngày nghỉ của tỉnh",
    "ruleset": "ruleset.yaml: name and version of the ruleset / tên và phiên bản bộ quy tắc",
    "calendar": "calendar.yaml: working days and hours / ngày và giờ làm việc",
    "grading": "grading.yaml: grading of a visit / xếp loại lần kiểm tra",
    "sanctions": "sanctions.yaml: sanction policy / chính sách kiến nghị xử lý",
    "cases": "cases/<check>.yaml: example cases of a check / các ví dụ kiểm thử của một kiểm tra",
}
_HHMM = r"^([01]?\d|2[0-3]):([0-5]\d)$"


class _RulesJsonSchema(GenerateJsonSchema):
    """Schemas an editor checks the way the loader does: times are 'HH:MM', month-days 'MM-DD'."""

    def time_schema(self, schema: core_schema.TimeSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": _HHMM, "examples": ["07:30"]}

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        out = super().function_before_schema(schema)
        function = schema.get("function", {}).get("function")
        if function is rules_model._month_day:
            out = {**out, "pattern": rules_model._MMDD.pattern, "examples": ["04-16"]}
        return out

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        """A model's own Vietnamese description (`__doc_vi__`, beside its docstring); never a parent's."""
        out = super().model_schema(schema)
        vi = schema["cls"].__dict__.get("__doc_vi__")
        if isinstance(vi, str) and "description" in out:
            out[DESCRIPTION_VI] = vi
        return out


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_RulesJsonSchema)
    return _bilingual({"$schema": DIALECT, "title": title, **{k: v for k, v in body.items() if k != "title"}})


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\*_[]<>#|~"})
"""What Markdown would read as emphasis, a link, HTML or a heading; `code` stays code."""


def _bilingual(node: Any) -> Any:
    """Each description with a Vietnamese one gets both in `markdownDescription`, Vietnamese
    first (the editor shows it instead of `description`); their text is escaped for Markdown."""
    if isinstance(node, list):
        return [_bilingual(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _bilingual(value) for key, value in node.items()}
    en, vi = out.get("description"), out.get(DESCRIPTION_VI)
    if isinstance(en, str) and isinstance(vi, str):
        out["markdownDescription"] = f"{vi.translate(_MARKDOWN)}\n\n*{en.translate(_MARKDOWN)}*"
    return out


def _check_list(checks: Sequence[CheckInfo | Check]) -> list[Check]:
    out = [c.check if isinstance(c, CheckInfo) else c for c in checks]
    return sorted(out, key=lambda c: c.id)


def checks_of_dir(checks: Sequence[CheckInfo | Check], rules_dir: str | Path | None) -> list[Check]:
    """The checks whose rules file belongs in `rules_dir`: the built-in ones (a plugin that ships
    its own file keeps its schema beside it) and any check that has a file there."""
    shipped = {c.id for c in plugin_checks(checks, rules_dir)}
    return [check for check in _check_list(checks) if check.id not in shipped]


def plugin_checks(checks: Sequence[CheckInfo | Check], rules_dir: str | Path | None) -> list[Check]:
    """The checks whose rules come from their plugin's own file, since `rules_dir` has no copy."""
    local = Path(rules_dir) if rules_dir is not None else None
    return [
        check for check in _check_list(checks)
        if check.rules_dir is not None and not (local is not None and (local / f"{check.id}.yaml").is_file())
    ]


def schema_files(
    checks: Sequence[CheckInfo | Check], rules_dir: str | Path, out_dir: str | Path | None = None
) -> dict[Path, str]:
    """Every schema file and its text: the ruleset's (shared files, cases, its checks) in
    `<rules_dir>/schema`, and a plugin check's own beside its plugin's rules file, where that
    file's first line points; with `out_dir`, all of them there."""
    ruleset = checks_of_dir(checks, rules_dir)
    shipped = plugin_checks(checks, rules_dir)
    target = Path(out_dir) if out_dir is not None else Path(rules_dir) / SCHEMA_DIR
    files = {target / file_name(name): render(doc) for name, doc in schema_documents(ruleset).items()}
    for check in shipped:
        beside = target if out_dir is not None else Path(check.rules_dir or ".") / SCHEMA_DIR
        files[beside / file_name(check.id)] = render(_check_schema(check))
        files[beside / file_name(f"{check.id}.overlay")] = render(_check_schema(check, "overlay"))
    return files


def schema_documents(checks: Sequence[CheckInfo | Check]) -> dict[str, dict[str, Any]]:
    """Every schema by name (the file is `<name>.schema.json`)."""
    installed = _check_list(checks)
    docs = {name: _schema(model, TITLES[name]) for name, model in {**SHARED_MODELS, **OVERLAY_MODELS}.items()}
    cases = _schema(CaseFile, TITLES["cases"])
    cases["properties"]["check"] = {**cases["properties"]["check"], "enum": [c.id for c in installed]}
    docs["cases"] = cases
    for check in installed:
        docs[check.id] = _check_schema(check)
        docs[f"{check.id}.overlay"] = _check_schema(check, "overlay")
    return docs


def _check_schema(check: Check, role: str = "base") -> dict[str, Any]:
    title = check.title.get("vi", check.id) + " / " + check.title.get("en", check.id)
    where = f"provinces/<name>/{check.id}.yaml" if role == "overlay" else f"{check.id}.yaml"
    return _schema(rules_model.check_file_model(check, role), f"{where}: {title}")


def render(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def file_name(name: str) -> str:
    return f"{name}.schema.json"


_PATCHED = ("calendar",)
"""Shared files a province's overlay writes in a shape of its own (the others are the base's)."""


def header(name: str, *, case_file: bool = False, overlay: bool = False) -> str:
    """The first line a rule file carries: of the base (or a catalogue), of a province's overlay
    (`overlay`, two directories down), or a case file (`case_file`)."""
    if overlay:
        schema = f"{name}.overlay" if name in _PATCHED or name not in SHARED_MODELS else name
        return f"# yaml-language-server: $schema=../../{SCHEMA_DIR}/{file_name(schema)}"
    where = f"../{SCHEMA_DIR}" if case_file else SCHEMA_DIR
    return f"# yaml-language-server: $schema={where}/{file_name(name)}"


def expected_headers(rules_dir: Path, checks: Sequence[CheckInfo | Check]) -> dict[Path, str]:
    """The header each rule file and case file of `rules_dir` should carry."""
    out: dict[Path, str] = {}
    for name in SHARED_FILES:
        out[rules_dir / name] = header(name.removesuffix(".yaml"))
    for check in _check_list(checks):
        path = rules_dir / f"{check.id}.yaml"
        if path.is_file():
            out[path] = header(check.id)
    for path in sorted((rules_dir / "cases").glob("*.yaml")):
        out[path] = header("cases", case_file=True)
    if (rules_dir / "catalogue.yaml").is_file():
        out[rules_dir / "catalogue.yaml"] = header("catalogue")
    for path in sorted(rules_dir.glob("provinces/*/*.yaml")):
        out[path] = header(path.stem, overlay=True)
    return out


def write_schemas(out_dir: str | Path, checks: Sequence[CheckInfo | Check]) -> list[Path]:
    """The schemas of `checks` and of the shared files, all in `out_dir`."""
    out = Path(out_dir)
    return write_files({out / file_name(name): render(schema) for name, schema in schema_documents(checks).items()})


def write_files(documents: Mapping[Path, str]) -> list[Path]:
    """Write each schema that is missing or stale; a file already current is left untouched (a
    plugin installed read-only that ships its current schema needs no write)."""
    # Written into a rules directory others may write too: never through a link they planted.
    linked = [path for path in documents if path.is_symlink()]
    if linked:
        raise ComplianceError([Problem("symlink_not_written", file=str(path)) for path in linked])
    written = []
    for path, text in documents.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(out_dir: str | Path, checks: Sequence[CheckInfo | Check]) -> list[str]:
    """Names whose committed schema is missing or differs from the models."""
    out = Path(out_dir)
    return [path.name.removesuffix(".schema.json") for path in stale_files(
        {out / file_name(name): render(schema) for name, schema in schema_documents(checks).items()}
    )]


def stale_files(documents: Mapping[Path, str]) -> list[Path]:
    """The schema files that are missing or differ from the models."""
    return [path for path, text in documents.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]


__all__ = [
    "expected_headers", "header", "plugin_checks", "schema_documents", "schema_files", "stale_files", "stale_schemas",
    "write_files", "write_schemas",
]
