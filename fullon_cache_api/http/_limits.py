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

WebSocket handshakes over a limit are accepted, then closed with code 1008 (policy violation)
and the reason: closed before accept, a server answers the handshake with a bare HTTP 403 and
the client never sees the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import InvalidInput
from ._responses import ProblemResponse

__all__ = ["Limits", "LimitsMiddleware", "Refusal", "close_refused", "refuse"]

# C0 controls and DEL: never part of an exchange, symbol, id or token.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")


class Refusal(Exception):
    """A request over a limit: the status and detail of its answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def response(self) -> ProblemResponse:
        """The problem document answering it, sent as built (no caching headers)."""
        if self.status == 422:  # the same problem type as a parameter that fails its pattern
            response = ProblemResponse.from_error(InvalidInput(self.detail))
        else:
            response = ProblemResponse.from_status(self.status, self.detail, None)
        response.negotiate = False
        return response


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of a request.

    The defaults leave room for the longest valid request (a 192-character process id,
    percent-encoded, under a host's mount path; a JWT in ``?token=``) with a wide margin.
    """

    max_path_bytes: int = 2048
    max_query_bytes: int = 4096
    max_header_bytes: int = 8192
    max_headers_bytes: int = 32768
    max_headers: int = 100

    def check(self, scope: Scope) -> Refusal | None:
        """The refusal `scope` (HTTP or WebSocket) earns, None when it is within bounds."""
        try:
            self._check(scope)
        except Refusal as refusal:
            return refusal
        return None

    def _check(self, scope: Scope) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
        query: bytes = scope.get("query_string", b"")
        if len(raw_path) > self.max_path_bytes:
            raise Refusal(414, f"the path is over {self.max_path_bytes} bytes")
        if len(query) > self.max_query_bytes:
            raise Refusal(414, f"the query string is over {self.max_query_bytes} bytes")
        self._check_headers(scope.get("headers", []))
        _check_text(raw_path, "path")
        if query:
            _check_text(query, "query string")

    def _check_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        if len(headers) > self.max_headers:
            raise Refusal(431, f"more than {self.max_headers} header fields")
        total = 0
        for name, value in headers:
            size = len(name) + len(value)
            if size > self.max_header_bytes:
                raise Refusal(431, f"a header field is over {self.max_header_bytes} bytes")
            total += size
        if total > self.max_headers_bytes:
            raise Refusal(431, f"the header fields are over {self.max_headers_bytes} bytes")


def _check_text(raw: bytes, what: str) -> None:
    """`raw` percent-decoded must be UTF-8 without control characters (else 422)."""
    if raw.isascii() and b"%" not in raw:  # nothing to decode: the bytes are the text
        if _CONTROL_BYTES.search(raw):
            raise Refusal(422, f"the {what} holds a control character")
        return
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(422, f"the {what} is not UTF-8 once percent-decoded") from None
    if _CONTROL.search(decoded):
        raise Refusal(422, f"the {what} holds a control character")


_POLICY_VIOLATION = 1008
_MAX_REASON_BYTES = 123  # a close frame's payload is at most 125 bytes, 2 of them the code


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    """Answer a refused request: a problem document, or close a WebSocket with 1008."""
    if scope["type"] == "websocket":
        await close_refused(receive, send, refusal.detail)
        return
    await refusal.response()(scope, receive, send)


async def close_refused(receive: Receive, send: Send, reason: str) -> None:
    """Refuse a WebSocket the way clients can read: accept the handshake, then close it with
    1008 and `reason`. (A close before accept becomes an HTTP 403: no code, no reason.)"""
    connect = await receive()
    if connect["type"] != "websocket.connect":  # the client left during the handshake
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": _reason(reason)})


def _reason(text: str) -> str:
    """`text` cut to what a close frame can carry, on a character boundary."""
    return text.encode("utf-8")[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


class LimitsMiddleware:
    """Refuse requests whose path, query string or headers are too large or malformed.

    The gateway checks `Limits` in its one pass (`GatewayMiddleware`); this standalone form
    is for apps that only want the limits.
    """

    def __init__(self, app: ASGIApp, **limits: int) -> None:
        self.app = app
        self.limits = Limits(**limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        refusal = self.limits.check(scope)
        if refusal is not None:
            await refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)
