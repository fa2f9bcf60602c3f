"""RFC 9457 problem details: every error the web door returns to an API client has this shape.

{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "...", "instance": "/v1/cases/X"}
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response with the standard title for `status` and a human-readable `detail`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
