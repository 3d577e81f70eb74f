"""Credentials never reach a log line: `RedactSecrets`, a logging filter for any handler or
logger.

Our own request log never writes query strings or headers, but the servers we run under do:
uvicorn logs ``"WebSocket /ws/tickers/c1?token=<key>" [accepted]`` at INFO on
``uvicorn.error``, its access log writes SSE requests with their ``?token=``, and at DEBUG the
WebSocket handshake's headers (``authorization: Bearer …``, ``x-api-key: …``,
``sec-websocket-protocol: bearer, <token>``, ``cookie: …``). The filter rewrites, in a record's
message, its arguments and uvicorn's ``color_message``:

- the values of query parameters that carry credentials (``token``, ``access_token``,
  ``api_key``, ``apikey``, ``key``, ``password``, ``secret``);
- the values of credential headers, as ``name: value`` lines or ``(b'name', b'value')`` pairs;
- ``Bearer <anything>``, anything shaped like a JWT, and the password of a ``scheme://user:pw@``
  URL.

It is a filter, not a formatter, so it works whatever formats the line (text, JSON, a host's
loguru sink behind an intercept handler) and whichever code logs the request: `serve` and
`demo` put it on their handlers (`configure_logging`); ``fullon_cache_api.main`` (what
``uvicorn fullon_cache_api.main:app`` imports) puts it on uvicorn's own loggers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["REDACTED", "RedactSecrets", "protect_uvicorn_loggers", "redact", "suspect"]

REDACTED = "[redacted]"

# Query parameters and headers whose values are credentials (lower case).
_QUERY_WORDS: tuple[str, ...] = (
    "access_token",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "password",
    "passwd",
    "secret",
)
_HEADER_WORDS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "sec-websocket-protocol",
)
_QUERY_NAMES = "(?:" + "|".join(map(re.escape, _QUERY_WORDS)) + ")"
_HEADER_NAMES = "(?:" + "|".join(map(re.escape, _HEADER_WORDS)) + ")"
# Each pattern keeps group 1 (what names the secret) and replaces the rest.
_PATTERNS = (
    # ?token=… &api_key=… (also percent-encoded separators are left alone: values end there)
    re.compile(rf"(?i)([?&;]{_QUERY_NAMES}=)[^&;#\s\"'<>]*"),
    # "authorization: Bearer …" lines (uvicorn/websockets debug handshakes, HTTP dumps)
    re.compile(rf"(?im)((?:^|[\s<>])[<>]?\s*{_HEADER_NAMES}\s*:\s*)[^\r\n]*"),
    # (b'authorization', b'Bearer …') and ('x-api-key', '…') pairs, as reprs of header lists
    re.compile(rf"(?i)(\(b?['\"]{_HEADER_NAMES}['\"],\s*b?['\"])[^'\"]*"),
    # "authorization": "…" in a dict repr or JSON
    re.compile(rf"(?i)(['\"]{_HEADER_NAMES}['\"]\s*:\s*b?['\"])[^'\"]*"),
    # Bearer tokens anywhere else
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"),
    # JWTs anywhere (three base64url segments, the first a JSON object: "eyJ")
    re.compile(r"()\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    # scheme://user:password@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)"),
)
# A cheap test first, in lower case: a record holding none of these shows no credential the
# patterns above would find (most records, our request lines among them, hold none). Built
# from the same words as the patterns, so the two cannot drift apart.
_MARKERS = (
    *(word + "=" for word in _QUERY_WORDS),
    *_HEADER_WORDS,
    "bearer",  # Bearer tokens
    "eyj",  # JWTs
    "://",  # URLs with a password
)


def suspect(text: str) -> bool:
    """Whether `text` may show a credential (the cheap test before the patterns)."""
    lowered = text.lower()
    return any(marker in lowered for marker in _MARKERS)


def redact(text: str) -> str:
    """`text` with every credential it shows replaced by ``[redacted]``."""
    if not suspect(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda found: found.group(1) + REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record so it shows no credential; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: let the handler report it as usual
            return True
        if suspect(message):
            _rewrite(record, message)
        color = getattr(record, "color_message", None)
        if isinstance(color, str):
            record.color_message = redact(color)
        if record.exc_text:  # a traceback already formatted (handed over by a queue)
            record.exc_text = redact(record.exc_text)
        return True


def _rewrite(record: logging.LogRecord, message: str) -> None:
    """Redact each argument (formatters that read ``record.args``, as uvicorn's access
    formatter does, keep working); when a secret is only visible in the whole message (a
    header name in one argument, its value in the next), the message is replaced by its
    redacted text."""
    clean = redact(message)
    if isinstance(record.args, tuple):
        args: Any = tuple(_redact_value(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        args = {name: _redact_value(value) for name, value in record.args.items()}
    else:
        args = record.args
    msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
    try:
        rendered = str(msg) % args if args else str(msg)
    except (TypeError, ValueError, KeyError):
        rendered = None
    if rendered == clean:
        record.msg, record.args = msg, args
    else:
        record.msg, record.args = clean, None
    params = getattr(record, "params", None)  # our request records' path parameters
    if isinstance(params, dict):
        record.params = {name: _redact_value(value) for name, value in params.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):
        return redact(bytes(value).decode("latin-1")).encode("latin-1")
    return value


# uvicorn's loggers: the server and WebSocket lines, and the access log.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def protect_uvicorn_loggers() -> None:
    """Put one `RedactSecrets` on each of uvicorn's loggers (a logger's filters see the
    records logged on it, whatever handlers a log configuration gives it). Idempotent."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
