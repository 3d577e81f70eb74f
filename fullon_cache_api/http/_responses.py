"""Response classes: bodies are encoded once, by one module-level msgspec encoder."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .._errors import CacheAPIError, Problem
from ._http_cache import DONE, HTTP_CACHE_SCOPE_KEY, WANTED, negotiate

__all__ = ["MsgspecResponse", "ProblemResponse", "encode"]

_encoder = msgspec.json.Encoder()
encode = _encode = _encoder.encode


class MsgspecResponse(Response):
    """JSON response rendered by msgspec (Structs, datetimes and ``msgspec.Raw`` included).

    Behind the gateway (HTTP only) it does its own caching and compression
    (`_http_cache.negotiate`: ETag, 304, gzip, Vary), since it holds both the request headers
    and the encoded body; set `negotiate` to False to send it exactly as built.
    """

    media_type = "application/json"
    negotiate = True
    _bare = False
    _content_type = b"application/json"  # media_type encoded (kept by __init_subclass__)
    _custom = False  # a subclass with its own render or no media type (__init_subclass__)

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # Response.__init__, inlined for the one case every data answer is (no headers, a
        # status with a body): its generic render and header merging are skipped.
        if headers is not None or status_code < 200 or status_code in (204, 304) or self._custom:
            super().__init__(content, status_code, headers, None, background)
            return
        self.status_code = status_code
        self.background = background
        self.body = body = _encode(content)
        self._bare = True
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", self._content_type),
        ]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass rendering or typing its body its own way takes Response's general path.
        cls._custom = cls.render is not MsgspecResponse.render or cls.media_type is None
        if cls.media_type is not None:
            cls._content_type = cls.media_type.encode("latin-1")

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        # The common case without Starlette's generic header merging: the same two headers.
        self._bare = (
            headers is None and self.status_code >= 200 and self.status_code not in (204, 304)
        )
        if not self._bare:
            super().init_headers(headers)
            return
        self.raw_headers = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", self.media_type.encode("latin-1")),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.negotiate or scope.get(HTTP_CACHE_SCOPE_KEY) != WANTED:
            await super().__call__(scope, receive, send)
            return
        scope[HTTP_CACHE_SCOPE_KEY] = DONE  # no send wrapper needs to do it again
        # Content-Length is the body's (init_headers): a 200 JSON answer may carry an ETag.
        validate = self.status_code == 200 and self.media_type == "application/json"
        # Bare: the two headers init_headers made, none added since (then nothing to merge).
        bare = self._bare and len(self.raw_headers) == 2
        body = self.body if type(self.body) is bytes else bytes(self.body)
        status, headers, body = await negotiate(
            scope, self.status_code, self.raw_headers, body, validate, bare=bare
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.background is not None:
            await self.background()


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
