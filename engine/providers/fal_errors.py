"""fal's error answers as engine errors, read in the shapes fal documents.

fal documents two shapes (https://docs.fal.ai/errors and
https://fal.ai/docs/documentation/model-apis/request-errors):

- a model error: ``{"detail": [{"loc": [...], "msg": "...", "type": "...", "url": "...",
  "ctx": {...}}]}``; a content refusal is HTTP 422 with an item of type
  ``content_policy_violation``. ``type`` is the machine-readable part ("use this for
  conditional logic"); ``msg`` is prose that "client code should not parse".
- a request (infrastructure) error: ``{"detail": "...", "error_type": "..."}``, the same
  value in the ``X-Fal-Error-Type`` header.

fal-client reads only the second (``error_type``), so a documented content refusal
reached it as an anonymous 422: it is told apart here, from the response itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from engine.errors import (
    ContentRejectedError,
    EngineError,
    PermanentError,
    ProviderError,
    TransientError,
)

CONTENT_POLICY = "content_policy_violation"


def error_for(response: httpx.Response) -> EngineError:
    """The engine error for one of fal's non-2xx answers (never carrying its text)."""
    code = response.status_code
    if code == 429 or code >= 500 or code == 408:
        return TransientError(f"fal answered {code}", retry_after=_retry_after(response.headers))
    if code in {401, 403}:
        return PermanentError("fal refused the API key")
    kinds = _error_types(response)
    if CONTENT_POLICY in kinds:
        return ContentRejectedError(f"fal refused the content ({CONTENT_POLICY})")
    named = f" ({', '.join(sorted(kinds))})" if kinds else ""
    return ProviderError(f"fal answered {code}{named}")


def _error_types(response: httpx.Response) -> set[str]:
    """The machine-readable error types of an answer, in either documented shape."""
    kinds: set[str] = set()
    if header := response.headers.get("x-fal-error-type"):
        kinds.add(header)
    try:
        body = response.json()
    except ValueError:
        return kinds
    if not isinstance(body, dict):
        return kinds
    detail = body.get("detail")
    if isinstance(detail, list):
        kinds |= {str(item["type"]) for item in detail if isinstance(item, dict) and "type" in item}
    if isinstance(body.get("error_type"), str):
        kinds.add(body["error_type"])
    return kinds


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
