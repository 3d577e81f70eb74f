"""HTTP caching and compression: strong ETag, 304 Not Modified, Cache-Control and gzip.

Done where the body is produced: `MsgspecResponse` holds its encoded body and the request
headers, so it validates and compresses in one step (`negotiate`) before its first send, with
no message interception. Answers built by other response classes (the docs pages, the OpenAPI
document, ``/metrics``) go through `Responder`, which the gateway's one send wrapper (or the
standalone `HttpCacheMiddleware`) puts in front of them: it holds the start of a compressible
answer only until its first body message; a complete body is validated and compressed, a
streamed one (``more_body``) passes through untouched. Server-Sent Events are not held at all,
and WebSockets never enter it.

- ``200`` answers to GET/HEAD with ``application/json`` get ``ETag: "<blake2b-128 hex of the
  body>"`` and ``Cache-Control: private, no-cache``: data is live, so clients revalidate every
  time (a match costs no body), and answers depend on who asks (ownership), so shared caches
  must not keep them: an ``X-API-Key`` or ``?token=`` request is not protected by the rule
  that keeps shared caches from storing ``Authorization`` requests. ``If-None-Match`` (lists,
  ``W/`` tags, ``*``) matching the current body answers ``304`` with the ETag and no body.
- Answers that carry ages (``age_seconds``, ``heartbeat_age_seconds``... on tickers, processes
  and views: routes that set `AGED_SCOPE_KEY`) would change on every request, so they get a
  **weak** ETag, ``W/"<hash>"``, computed over the body with every ``…age_seconds`` value left
  out: they revalidate (304) while the cached data behind them is unchanged, and get a 200 as
  soon as a stored value, or anything derived from the clock besides the ages (``stale``,
  ``missing_bars``...), changes. A client's copy then shows the ages of when it was fetched;
  the stored times it also carries (``time``, ``heartbeat``...) give the current ones.
- Bodies of at least `MINIMUM_SIZE` bytes are gzipped when the client accepts gzip. The gzip
  representation's ETag is ``"<hash>-gzip"`` (a strong ETag names one representation), and
  either form revalidates. ``Vary: Accept-Encoding`` is set on every compressible answer.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AGED_SCOPE_KEY",
    "DONE",
    "HTTP_CACHE_SCOPE_KEY",
    "WANTED",
    "HttpCacheMiddleware",
    "Responder",
    "etag_of",
    "negotiate",
    "wants_responder",
    "weak_etag_of",
]

# The caching layer in front (gateway or HttpCacheMiddleware) sets it to WANTED; a response
# that negotiated itself sets it to DONE, so no send wrapper does it twice. Absent (an app
# without the layer): responses are sent as built.
HTTP_CACHE_SCOPE_KEY = "fullon_cache_api.http_cache"
WANTED = "wanted"
DONE = "done"
# Set (True) by a route whose answers carry ages: their ETag is weak and leaves the ages out.
AGED_SCOPE_KEY = "fullon_cache_api.aged"
# Every age value in an encoded answer: msgspec writes `"...age_seconds":<number or null>`
# with no space, and a quote inside a JSON string is escaped, so text in a string never
# matches. The value runs to the next `,` or `}` (numbers and null hold neither).
_AGE_VALUES = re.compile(rb'age_seconds":[^,}]*')
MINIMUM_SIZE = 1024
# Level 1: 1000 bars (116 KB) to 23.7 KB in 0.7 ms, where level 4 took 1.36 ms for 20.7 KB
# and level 6 3.4 ms for 19.8 KB; 500 tickers (95 KB): 9.4 KB in 0.68 ms vs 8.6 KB in 0.8 ms.
# CPU is what the gateway shares with trading daemons; a few KB more is cheap on a LAN.
COMPRESSLEVEL = 1

_COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/problem+json",
        "application/javascript",
        "application/openmetrics-text",
        "image/svg+xml",
    }
)
_GZIP_SUFFIX = "-gzip"
# Compressing more than this in the event loop would stall other requests: use a thread.
_THREAD_MINIMUM = 256 * 1024
_VALIDATED_METHODS = frozenset({"GET", "HEAD"})
_VARY = b"vary"
_ACCEPT_ENCODING = b"Accept-Encoding"
_PRIVATE_NO_CACHE = (b"cache-control", b"private, no-cache")
_VARY_ACCEPT_ENCODING = (_VARY, _ACCEPT_ENCODING)
_ENTITY_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding"})


def etag_of(body: bytes) -> str:
    """The strong ETag of an identity-encoded body: a quoted 128-bit BLAKE2b hex digest."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def weak_etag_of(body: bytes) -> str:
    """The weak ETag of an answer with ages: a 128-bit digest of `body` with its ages left out.

    SHA-1 rather than BLAKE2b: leaving the ages out costs a scan of the body, and SHA-1 runs
    at about twice BLAKE2b's speed on CPUs with SHA instructions, which pays for most of it
    (500 tickers, 92 KB: 126 us against 98 for the strong tag; BLAKE2b would take 175). A
    validator needs no resistance to forged collisions: fullon's own processes write the data.
    """
    stripped = _AGE_VALUES.sub(b'age_seconds":', body)
    return 'W/"' + hashlib.sha1(stripped, usedforsecurity=False).hexdigest()[:32] + '"'


async def negotiate(
    scope: Scope,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    validate: bool,
    *,
    bare: bool = False,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body to send for a complete compressible answer.

    `headers` (raw, lower-case names) is extended in place; `validate` says the answer may
    carry an ETag (a 200 ``application/json`` answer whose Content-Length is its body's);
    `bare` says `headers` hold Content-Length and Content-Type only (nothing to merge with).
    """
    if_none_match = accept_encoding = None
    for name, value in scope["headers"]:  # the first of each, as Headers.get would
        if name == b"if-none-match":
            if if_none_match is None:
                if_none_match = value.decode("latin-1")
        elif name == b"accept-encoding" and accept_encoding is None:
            accept_encoding = value.decode("latin-1")
    if bare:
        headers.append(_VARY_ACCEPT_ENCODING)
    else:
        _add_vary(headers)
    gzipped = (
        accept_encoding is not None
        and len(body) >= MINIMUM_SIZE
        and _accepts_gzip(accept_encoding)
        and (bare or not any(name == b"content-encoding" for name, _ in headers))
    )
    if validate and scope["method"] in _VALIDATED_METHODS:
        tag = weak_etag_of(body) if scope.get(AGED_SCOPE_KEY) else etag_of(body)
        shown = tag[:-1] + _GZIP_SUFFIX + '"' if gzipped else tag
        headers.append((b"etag", shown.encode("latin-1")))
        if bare or not any(name == b"cache-control" for name, _ in headers):
            headers.append(_PRIVATE_NO_CACHE)
        if if_none_match and _matches(if_none_match, tag):
            headers[:] = [item for item in headers if item[0] not in _ENTITY_HEADERS]
            return 304, headers, b""
    if gzipped:
        body = await _gzip(body)
        headers[:] = [item for item in headers if item[0] != b"content-length"]
        headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    return status, headers, body


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    """``Vary: Accept-Encoding``, joined to any Vary already there (as Starlette joins it)."""
    present = [value for name, value in headers if name == _VARY]
    if not present:
        headers.append((_VARY, _ACCEPT_ENCODING))
        return
    headers[:] = [item for item in headers if item[0] != _VARY]
    headers.append((_VARY, b", ".join([*present, _ACCEPT_ENCODING])))


async def _gzip(body: bytes) -> bytes:
    # mtime=0: the same body always compresses to the same bytes.
    compress = functools.partial(gzip.compress, body, compresslevel=COMPRESSLEVEL, mtime=0)
    if len(body) < _THREAD_MINIMUM:
        return compress()
    return await anyio.to_thread.run_sync(compress)


def wants_responder(start: Message) -> bool:
    """Whether an answer that did not negotiate itself needs a `Responder` (compressible)."""
    return _compressible(Headers(raw=start.get("headers", [])))


class Responder:
    """The send of one answer that did not negotiate itself: holds the start message until
    the body shows whether it is complete."""

    __slots__ = ("downstream", "held", "passing", "scope")

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.downstream = send
        self.held: Message | None = None
        self.passing = False

    async def send(self, message: Message) -> None:
        if self.passing:
            await self.downstream(message)
        elif message["type"] == "http.response.start":
            if self.scope.get(HTTP_CACHE_SCOPE_KEY) != DONE and wants_responder(message):
                self.held = message
            else:
                self.passing = True
                await self.downstream(message)
        elif message["type"] == "http.response.body" and self.held is not None:
            await self._complete(self.held, message)
        else:  # trailers, pathsend, anything unforeseen: stop interfering
            self.passing = True
            if self.held is not None:
                await self.downstream(self.held)
            await self.downstream(message)

    async def _complete(self, start: Message, message: Message) -> None:
        self.passing = True  # whatever follows (nothing, for a complete body) goes through
        if message.get("more_body", False):  # a stream: never buffered, never compressed
            await self.downstream(start)
            await self.downstream(message)
            return
        body: bytes = message.get("body", b"")
        raw = [(bytes(name).lower(), bytes(value)) for name, value in start.get("headers", [])]
        validate = start["status"] == 200 and _validatable(MutableHeaders(raw=raw), body)
        status, raw, body = await negotiate(self.scope, start["status"], raw, body, validate)
        await self.downstream({**start, "status": status, "headers": raw})
        await self.downstream({**message, "body": body})


def _validatable(headers: MutableHeaders, body: bytes) -> bool:
    if _media_type(headers) != "application/json":
        return False
    # A HEAD answer may carry no body at all: never hash a body we were not given.
    return headers.get("content-length", str(len(body))) == str(len(body))


class HttpCacheMiddleware:
    """ETag, 304, Cache-Control and gzip for complete answers; streams pass through.

    The gateway does this in its one pass (`GatewayMiddleware`); this standalone form is for
    apps that only want the caching.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[HTTP_CACHE_SCOPE_KEY] = WANTED
        await self.app(scope, receive, Responder(scope, send).send)


def _media_type(headers: Headers | MutableHeaders) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _compressible(headers: Headers) -> bool:
    if "content-encoding" in headers:
        return False
    media_type = _media_type(headers)
    if media_type == "text/event-stream":
        return False
    return media_type.startswith("text/") or media_type in _COMPRESSIBLE


def _accepts_gzip(accept_encoding: str) -> bool:
    """True when ``gzip`` (or ``*``) is listed without ``q=0``."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in {"gzip", "x-gzip", "*"}:
            continue
        quality = params.strip().lower().removeprefix("q=")
        try:
            return not params.strip() or float(quality) > 0
        except ValueError:
            return False
    return False


def _matches(if_none_match: str, tag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): ``W/`` ignored, either representation's tag."""
    if if_none_match.strip() == "*":
        return True
    tag = tag.removeprefix("W/")
    accepted = {tag, tag[:-1] + _GZIP_SUFFIX + '"'}
    return any(
        candidate.strip().removeprefix("W/") in accepted for candidate in if_none_match.split(",")
    )
