"""The original gateway's WebSocket protocol: request, reply, error and push frames.

Client frames are ``{"action", "request_id", "params"}``. Replies are
``{"request_id", "action", "success": true, "result"}`` or ``{"request_id", "action",
"success": false, "error_code", "error"}``. A stream action is confirmed with ``message`` and
``stream_key``, then pushes ``{"request_id", "action": "<x>_update", "stream_key",
"snapshot", "result"}`` frames; ``stream_status`` and ``stream_problem`` frames report an
outage or a corrupt entry. Results are the gateway's HTTP Structs.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._errors import (
    CacheAPIError,
    CacheTimeout,
    CacheUnavailable,
    CorruptEntry,
    InvalidInput,
    NotFound,
)

__all__ = [
    "ActionError",
    "Confirmation",
    "ErrorReply",
    "Push",
    "Reply",
    "Request",
    "error_reply",
]

# Error codes of the original gateway.
MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
INVALID_OPERATION = "INVALID_OPERATION"
INVALID_PARAMS = "INVALID_PARAMS"
CACHE_ERROR = "CACHE_ERROR"
INTERNAL_ERROR = "INTERNAL_ERROR"


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """A client frame: the action, an id echoed in every answer, and the parameters."""

    action: str
    request_id: str | int | None = None
    params: dict[str, Any] | None = None


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """A successful answer to a request/response action."""

    request_id: str | int | None
    action: str
    success: bool = True
    result: Any


class Confirmation(msgspec.Struct, frozen=True, kw_only=True):
    """A stream action accepted; pushes follow under `stream_key`."""

    request_id: str | int | None
    action: str
    success: bool = True
    message: str
    stream_key: str
    result: dict[str, str]


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True):
    """A failed action, with one of the original gateway's error codes."""

    request_id: str | int | None
    action: str | None
    success: bool = False
    error_code: str
    error: str


class Push(msgspec.Struct, frozen=True, kw_only=True):
    """A streamed frame: a snapshot or update, a status, or a problem."""

    request_id: str | int | None
    action: str
    stream_key: str
    snapshot: bool
    result: msgspec.Raw


class ActionError(Exception):
    """An action failed with `code` (one of the original gateway's error codes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_reply(request: Request | None, error: Exception, not_found: str) -> ErrorReply:
    """The error frame for `error`; a miss answers with the domain's `not_found` code.

    An outage is CACHE_ERROR, never a miss: the original gateway said "not found" then.
    """
    if isinstance(error, ActionError):
        code, message = error.code, error.message
    elif isinstance(error, NotFound):
        code, message = not_found, error.detail
    elif isinstance(error, InvalidInput):
        code, message = INVALID_PARAMS, error.detail
    elif isinstance(error, CacheUnavailable | CacheTimeout | CorruptEntry):
        code, message = CACHE_ERROR, error.detail
    elif isinstance(error, CacheAPIError):
        code, message = INTERNAL_ERROR, error.detail
    else:
        code, message = INTERNAL_ERROR, "the gateway failed unexpectedly"
    return ErrorReply(
        request_id=None if request is None else request.request_id,
        action=None if request is None else request.action,
        error_code=code,
        error=message,
    )
