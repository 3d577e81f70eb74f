"""Response classes: bodies are encoded once, by one module-level msgspec encoder."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.background import BackgroundTask
from starlette.responses import Response

from ._errors import CacheAPIError, Problem

__all__ = ["MsgspecResponse", "ProblemResponse", "encode"]

_encoder = msgspec.json.Encoder()
encode = _encoder.encode


class MsgspecResponse(Response):
    """JSON response rendered by msgspec (Structs, datetimes and ``msgspec.Raw`` included)."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, None, background)

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


class ProblemResponse(MsgspecResponse):
    """An RFC 9457 problem document."""

    media_type = "application/problem+json"

    @classmethod
    def from_error(cls, error: CacheAPIError) -> ProblemResponse:
        """The response that answers `error`."""
        problem = error.problem()
        return cls(problem, status_code=problem.status, headers=error.headers())

    @classmethod
    def from_status(
        cls, status: int, detail: str, headers: Mapping[str, str] | None
    ) -> ProblemResponse:
        """A problem for an HTTP-level error that is not one of ours (404 route, 405)."""
        title = HTTPStatus(status).phrase
        problem = Problem(
            type=f"urn:fullon-cache-api:problem:http-{status}",
            title=title,
            status=status,
            detail=detail,
        )
        return cls(problem, status_code=status, headers=headers)
