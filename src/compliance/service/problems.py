"""Errors as RFC 9457 problem documents (``application/problem+json``), in Vietnamese and English.

A problem document has the RFC's members (`type`, `title`, `status`, `detail`, `instance`)
and two of ours: `request_id`, and `problems`, one entry per thing wrong, each naming its
field `path` (and `line` in a batch) with its message in both languages
(`compliance.Problem.to_dict`). `title` and `detail` follow the `lang` query parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from ..errors import Lang, Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:compliance:problem:"

# kind -> (status, title vi, title en)
KINDS: dict[str, tuple[int, str, str]] = {
    "malformed-json": (400, "JSON không hợp lệ", "Malformed JSON"),
    "not-utf8": (400, "Nội dung yêu cầu không phải UTF-8", "Body is not UTF-8"),
    "empty-body": (400, "Nội dung yêu cầu rỗng", "Empty request body"),
    "bad-request": (400, "Yêu cầu không hợp lệ", "Bad request"),
    "unauthorized": (401, "Chưa xác thực", "Authentication required"),
    "not-found": (404, "Không tìm thấy", "Not found"),
    "request-timeout": (408, "Hết thời gian chờ yêu cầu", "Request timeout"),
    "method-not-allowed": (405, "Phương thức không được hỗ trợ", "Method not allowed"),
    "body-too-large": (413, "Nội dung yêu cầu quá lớn", "Request body too large"),
    "batch-too-large": (413, "Lô quá lớn", "Batch too large"),
    "visit-too-large": (413, "Lần kiểm tra quá lớn", "Visit too large"),
    "unsupported-media-type": (415, "Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
    "invalid-visit": (422, "Lần kiểm tra không hợp lệ", "Invalid visit"),
    "invalid-parameter": (422, "Tham số không hợp lệ", "Invalid parameter"),
    "evaluation-failed": (500, "Không đánh giá được", "Evaluation failed"),
    "internal": (500, "Lỗi nội bộ máy chủ", "Internal server error"),
    "not-ready": (503, "Dịch vụ chưa sẵn sàng", "Service not ready"),
    "overloaded": (503, "Dịch vụ đang quá tải", "Service overloaded"),
}

# The kind of an input problem, by the code of its first problem.
_KIND_OF_CODE = {
    "bad_json": "malformed-json",
    "json_duplicate_key": "malformed-json",
    "not_utf8": "not-utf8",
    "empty_input": "empty-body",
}


def kind_of(problems: Sequence[Problem]) -> str:
    """The problem kind for the InputError whose problems are `problems`."""
    for problem in problems:
        kind = _KIND_OF_CODE.get(problem.code)
        if kind:
            return kind
    return "invalid-visit"


def service_problem(code: str, vi: str, en: str, **where: Any) -> Problem:
    """A problem not in the catalogue of `compliance.errors`: its text in both languages."""
    return Problem(code, {"detail_vi": vi, "detail_en": en}, **where)


class ServiceError(Exception):
    """An HTTP error the service answers with a problem document."""

    def __init__(
        self,
        kind: str,
        problems: Sequence[Problem] = (),
        *,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
    ):
        self.kind = kind
        self.problems = list(problems)
        self.headers = dict(headers or {})
        self.status = status or KINDS[kind][0]
        super().__init__(kind)


def detail(problems: Sequence[Problem], lang: Lang, *, limit: int = 3) -> str:
    shown = [p.render(lang) for p in problems[:limit]]
    more = len(problems) - limit
    if more > 0:
        shown.append(f"(và {more} lỗi khác)" if lang == "vi" else f"(and {more} more)")
    return "; ".join(shown)


def document(
    kind: str,
    problems: Sequence[Problem],
    *,
    lang: Lang,
    status: int | None = None,
    instance: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The problem document of `kind` listing `problems`."""
    default_status, title_vi, title_en = KINDS.get(kind, KINDS["internal"])
    title = title_vi if lang == "vi" else title_en
    doc: dict[str, Any] = {
        "type": TYPE_PREFIX + kind,
        "title": title,
        "status": status or default_status,
        "detail": detail(problems, lang) or title,
    }
    if instance is not None:
        doc["instance"] = instance
    if request_id is not None:
        doc["request_id"] = request_id
    doc["problems"] = [p.to_dict() for p in problems]
    return doc


def render(doc: Mapping[str, Any]) -> bytes:
    return orjson.dumps(doc)


# --- JSON Schemas of the documents, for the OpenAPI description -----------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Message(BaseModel):
    vi: str
    en: str


class ProblemDetail(_Open):
    """One thing wrong, where it is, in both languages."""

    code: str = Field(description="Stable code of the problem, e.g. unknown_field, wrong_type, bad_json.")
    path: str | None = Field(default=None, description="Field path in the document, e.g. personnel[0].attendance.")
    line: int | None = Field(default=None, description="1-based line (batch line, or JSON text line).")
    column: int | None = None
    record: int | None = None
    file: str | None = None
    message: Message


class ProblemDocument(_Open):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(title="ProblemDocument")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    problems: list[ProblemDetail] = Field(default_factory=list)


class BatchError(BaseModel):
    """A batch output line for an input line that could not be evaluated."""

    line: int = Field(description="1-based line number in the request body.")
    visit_id: str | None = Field(default=None, description="The line's visit_id, when it could be read.")
    error: ProblemDocument


__all__ = [
    "BatchError",
    "KINDS",
    "PROBLEM_MEDIA_TYPE",
    "ProblemDetail",
    "ProblemDocument",
    "ServiceError",
    "document",
    "kind_of",
    "render",
    "service_problem",
]
