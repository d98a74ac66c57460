"""Bilingual words of the authoring commands (Vietnamese first, as policy staff read them)."""

from __future__ import annotations

from typing import Any

from ..errors import Lang

WORDS: dict[str, tuple[str, str]] = {
    # validate
    "valid": (
        "✓ {dir}: bộ quy tắc hợp lệ — {name} {version}: {checks} kiểm tra, {rules} quy tắc, {versions} phiên bản, {case_files} tệp ví dụ",
        "✓ {dir}: the ruleset is valid — {name} {version}: {checks} checks, {rules} rules, {versions} versions, {case_files} case files",
    ),
    "invalid": (
        "✗ {count} lỗi trong {files} tệp — bộ quy tắc không hợp lệ; không lệnh nào đánh giá với bộ quy tắc này cho tới khi sửa xong",
        "✗ {count} error(s) in {files} file(s) — the ruleset is invalid; no command evaluates with it until they are fixed",
    ),
    "invalid_cases": (
        "✗ {count} lỗi trong {files} tệp ví dụ — các quy tắc vẫn hợp lệ và được dùng để đánh giá; 'rules test' bỏ qua các ví dụ có lỗi",
        "✗ {count} error(s) in {files} case file(s) — the rules themselves are valid and evaluate; 'rules test' skips the broken cases",
    ),
    # schema
    "schema_written": ("Đã ghi {count} lược đồ JSON vào {dir}", "Wrote {count} JSON Schemas to {dir}"),
    "schema_current": ("✓ Các lược đồ trong {dir} đã khớp với mô hình", "✓ The schemas in {dir} match the models"),
    "schema_stale": (
        "✗ Lược đồ cũ hoặc thiếu (chạy 'compliance rules schema' để tạo lại): {names}",
        "✗ Stale or missing schemas (run 'compliance rules schema' to regenerate): {names}",
    ),
    # rules test
    "case_failed": ("✗ {case}", "✗ {case}"),
    "case_passed": ("✓ {case}", "✓ {case}"),
    "findings_diff": (
        "phát hiện (− mong đợi mà không có, + có mà không mong đợi, ~ có nhưng khác chi tiết):",
        "findings (− expected but missing, + found but not expected, ~ found but differs):",
    ),
    "no_findings": ("(không có phát hiện nào)", "(no findings)"),
    "why": ("chi tiết:", "details:"),
    "summary_pass": ("✓ {total} ví dụ: tất cả đều đạt ({files} tệp)", "✓ {total} cases: all passed ({files} files)"),
    "summary_fail": ("✗ {total} ví dụ: {passed} đạt, {failed} không đạt", "✗ {total} cases: {passed} passed, {failed} failed"),
    "summary_skipped": (
        "✗ {total} ví dụ: {passed} đạt, {failed} không đạt, {skipped} bị bỏ qua do lỗi",
        "✗ {total} cases: {passed} passed, {failed} failed, {skipped} skipped because of errors",
    ),
    "no_cases": (
        "! Không có tệp ví dụ nào trong {dir}/cases — chưa kiểm thử được quy tắc nào",
        "! No case files in {dir}/cases — no rule is tested",
    ),
    "case_problems": ("Tệp ví dụ có lỗi:", "Case files with errors:"),
    "coverage": ("Độ bao phủ:", "Coverage:"),
    "coverage_complete": (
        "  ✓ mọi quy tắc và mọi phiên bản đều có ví dụ làm phát sinh phát hiện, và mọi quy tắc đều có ví dụ không phát sinh",
        "  ✓ every rule and every version is made to fire by some case, and every rule is left silent by some case",
    ),
    "never_fired": ("  quy tắc chưa có ví dụ nào làm phát sinh ({n}):", "  rules no case makes fire ({n}):"),
    "never_silent": ("  quy tắc chưa có ví dụ nào không phát sinh ({n}):", "  rules no case leaves silent ({n}):"),
    "versions_untested": ("  phiên bản chưa có ví dụ nào áp dụng ({n}):", "  versions no case exercises ({n}):"),
    "not_run": (
        "  quy tắc có ví dụ bị bỏ qua do lỗi, nên chưa biết có phát sinh hay không ({n}):",
        "  rules whose cases were skipped because of errors, so not run ({n}):",
    ),
    "from": ("từ", "from"),
}


def say(key: str, lang: Lang, **params: Any) -> str:
    vi, en = WORDS[key]
    return (vi if lang == "vi" else en).format(**params)


def yaml_value(value: Any) -> str:
    """A threshold value as policy staff write it in YAML: null, true/false, [a, b]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return str(value)
