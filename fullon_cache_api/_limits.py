"""Request limits, enforced before routing, authentication or any Redis call.

Parameter patterns (`_params`) already bound every value a route reads; this middleware
bounds the request itself, so an oversized or malformed request costs no routing, no token
check and no Redis round trip:

==========================================================  =====
raw path longer than `max_path_bytes`                       414
query string longer than `max_query_bytes`                  414
a header longer than `max_header_bytes`, or all headers     431
over `max_headers_bytes` (or more than `max_headers`)
path or query that is not UTF-8 once percent-decoded, or    422
holds a control character (NUL included)
==========================================================  =====

WebSocket handshakes over a limit are closed with code 1008 (policy violation).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from ._errors import InvalidInput
from ._responses import ProblemResponse

__all__ = ["LimitsMiddleware"]

# C0 controls and DEL: never part of an exchange, symbol, id or token.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Refusal(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class LimitsMiddleware:
    """Refuse requests whose path, query string or headers are too large or malformed.

    The defaults leave room for the longest valid request (a 192-character process id,
    percent-encoded, under a host's mount path; a JWT in ``?token=``) with a wide margin.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_path_bytes: int = 2048,
        max_query_bytes: int = 4096,
        max_header_bytes: int = 8192,
        max_headers_bytes: int = 32768,
        max_headers: int = 100,
    ) -> None:
        self.app = app
        self.max_path_bytes = max_path_bytes
        self.max_query_bytes = max_query_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers_bytes = max_headers_bytes
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        try:
            self._check(scope)
        except _Refusal as refusal:
            await _refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
        query: bytes = scope.get("query_string", b"")
        if len(raw_path) > self.max_path_bytes:
            raise _Refusal(414, f"the path is over {self.max_path_bytes} bytes")
        if len(query) > self.max_query_bytes:
            raise _Refusal(414, f"the query string is over {self.max_query_bytes} bytes")
        self._check_headers(scope.get("headers", []))
        _check_text(raw_path, "path")
        _check_text(query.replace(b"+", b" "), "query string")

    def _check_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        if len(headers) > self.max_headers:
            raise _Refusal(431, f"more than {self.max_headers} header fields")
        sizes = [len(name) + len(value) for name, value in headers]
        if any(size > self.max_header_bytes for size in sizes):
            raise _Refusal(431, f"a header field is over {self.max_header_bytes} bytes")
        if sum(sizes) > self.max_headers_bytes:
            raise _Refusal(431, f"the header fields are over {self.max_headers_bytes} bytes")


def _check_text(raw: bytes, what: str) -> None:
    """`raw` percent-decoded must be UTF-8 without control characters (else 422)."""
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _Refusal(422, f"the {what} is not UTF-8 once percent-decoded") from None
    if _CONTROL.search(decoded):
        raise _Refusal(422, f"the {what} holds a control character")


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: _Refusal) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": refusal.detail})
        return
    if refusal.status == 422:  # the same problem type as a parameter that fails its pattern
        response = ProblemResponse.from_error(InvalidInput(refusal.detail))
    else:
        response = ProblemResponse.from_status(refusal.status, refusal.detail, None)
    await response(scope, receive, send)
