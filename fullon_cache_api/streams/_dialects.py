"""How a socket reads requests and writes its frames: the original gateway's way or ours.

Three envelopes, one `Session` (see `_socket`):

- **original** (``/ws/{domain}/{connection_id}``, and ``action`` frames on ``/ws``): the
  original gateway's frames field for field. Replies ``{request_id, action, success, result}``;
  errors ``{request_id, success: false, error_code, error}`` (a miss also names the
  ``action``, as the original's did); stream confirmations ``{request_id, action, success,
  message, stream_key}``; pushes ``{request_id, action, result: {stream_key, ...}}``, one per
  result object of the event (see `_original_streams`).
- **operation** (``operation`` frames on ``/ws``): the original ``/ws`` gateway's
  ``{request_id, success, result, error, error_code, timestamp, latency_ms}`` replies and
  ``{request_id, error, error_code, timestamp, details}`` errors.
- **rich** (``/ws/v2/...``): this gateway's richer frames (`_protocol`): results are the HTTP
  Structs, pushes carry ``stream_key`` and ``snapshot`` beside ``result``.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from .._errors import NotFound
from ._calls import StreamStart
from ._events import NULL, Event, encode
from ._protocol import (
    INVALID_OPERATION,
    INVALID_PARAMS,
    MALFORMED_MESSAGE,
    Confirmation,
    ErrorReply,
    Push,
    Reply,
    Request,
    error_reply,
)

__all__ = ["MAIN", "ORIGINAL", "RICH", "Dialect", "Frames", "OriginalStart"]

MAX_FRAME = 64 * 1024  # every action fits in far less
_PUSH_ACTIONS = {"status": "stream_status", "problem": "stream_problem"}
_decode_request = msgspec.json.Decoder(Request).decode
_decode_results = msgspec.json.Decoder(list[msgspec.Raw]).decode


@dataclass(frozen=True)
class OriginalStart(StreamStart):
    """A stream in the original shapes: `absent()` is what a value not cached pushes."""

    absent: Callable[[], list[Any]] = list


@dataclass(frozen=True, eq=False)
class Stream:
    """A stream a client opened: how its pushes are named and tagged."""

    request_id: Any
    key: str
    update: str
    absent: Callable[[], list[Any]] = list


class Frames(ABC):
    """The frames of one envelope."""

    @abstractmethod
    def reply(self, request: Request, result: Any) -> bytes:
        """A successful answer."""

    @abstractmethod
    def error(self, request: Request | None, error: Exception, not_found: str) -> bytes:
        """A failed action (`not_found` is the domain's code for a miss)."""

    @abstractmethod
    def confirmation(self, request: Request, message: str, key: str) -> bytes:
        """A stream action accepted."""

    @abstractmethod
    def pushes(self, stream: Stream, event: Event) -> list[bytes]:
        """The frames carrying `event` of `stream` (possibly none)."""


class Dialect(ABC):
    """How a socket parses a client frame, and which frames answer it."""

    @abstractmethod
    def parse(self, raw: str) -> tuple[Request, Frames] | bytes:
        """The request and its frames, or the error frame to answer instead."""


# -- rich ---------------------------------------------------------------------------------
class _RichFrames(Frames):
    def reply(self, request: Request, result: Any) -> bytes:
        return encode(Reply(request_id=request.request_id, action=request.action, result=result))

    def error(self, request: Request | None, error: Exception, not_found: str) -> bytes:
        return encode(error_reply(request, error, not_found))

    def confirmation(self, request: Request, message: str, key: str) -> bytes:
        return encode(
            Confirmation(
                request_id=request.request_id,
                action=request.action,
                message=message,
                stream_key=key,
                result={"stream_key": key},
            )
        )

    def pushes(self, stream: Stream, event: Event) -> list[bytes]:
        push = Push(
            request_id=stream.request_id,
            action=_PUSH_ACTIONS.get(event.kind, stream.update),
            stream_key=stream.key,
            snapshot=event.kind == "snapshot",
            result=msgspec.Raw(event.data),
        )
        return [encode(push)]


_RICH_FRAMES = _RichFrames()


class _Rich(Dialect):
    def parse(self, raw: str) -> tuple[Request, Frames] | bytes:
        try:
            if len(raw) > MAX_FRAME:
                raise ValueError("frame too large")
            return _decode_request(raw), _RICH_FRAMES
        except (msgspec.MsgspecError, ValueError):
            return _malformed()


def _malformed() -> bytes:
    return encode(
        ErrorReply(
            request_id=None,
            action=None,
            error_code=MALFORMED_MESSAGE,
            error="Malformed JSON message",
        )
    )


# -- original: {"action", "request_id", "params"} ------------------------------------------
class _OriginalError(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    success: bool = False
    error_code: str
    error: str


class _OriginalMiss(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    action: str
    success: bool = False
    error_code: str
    error: str


class _OriginalConfirmation(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    action: str
    success: bool = True
    message: str
    stream_key: str


class _OriginalPush(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    action: str
    result: msgspec.Raw


class _OriginalFrames(_RichFrames):
    def error(self, request: Request | None, error: Exception, not_found: str) -> bytes:
        reply = error_reply(request, error, not_found)
        if isinstance(error, NotFound) and request is not None:
            return encode(
                _OriginalMiss(
                    request_id=request.request_id,
                    action=request.action,
                    error_code=reply.error_code,
                    error=reply.error,
                )
            )
        return encode(
            _OriginalError(
                request_id=reply.request_id, error_code=reply.error_code, error=reply.error
            )
        )

    def confirmation(self, request: Request, message: str, key: str) -> bytes:
        return encode(
            _OriginalConfirmation(
                request_id=request.request_id,
                action=request.action,
                message=message,
                stream_key=key,
            )
        )

    def pushes(self, stream: Stream, event: Event) -> list[bytes]:
        if event.kind not in ("snapshot", "update"):
            action = _PUSH_ACTIONS.get(event.kind, event.kind)
            return [self._push(stream, action, event.data)]
        results = encode(stream.absent()) if event.data == NULL else event.data
        return [self._push(stream, stream.update, raw) for raw in _decode_results(results)]

    @staticmethod
    def _push(stream: Stream, action: str, result: bytes) -> bytes:
        spliced = _with_stream_key(stream.key, bytes(result))
        push = _OriginalPush(request_id=stream.request_id, action=action, result=spliced)
        return encode(push)


def _with_stream_key(key: str, result: bytes) -> msgspec.Raw:
    """``{"stream_key": key, ...result}``: the original put the key inside each result."""
    head = b'{"stream_key":' + encode(key)
    body = result.strip()
    return msgspec.Raw(head + b"}" if body == b"{}" else head + b"," + body[1:])


_ORIGINAL_FRAMES = _OriginalFrames()


class _Original(Dialect):
    def parse(self, raw: str) -> tuple[Request, Frames] | bytes:
        body = _json_object(raw)
        if body is None:
            return _original_malformed()
        return _action_request(body)


def _json_object(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_FRAME:
        return None
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None


def _original_malformed() -> bytes:
    return encode(
        _OriginalError(
            request_id=None, error_code=MALFORMED_MESSAGE, error="Malformed JSON message"
        )
    )


def _action_request(body: dict[str, Any]) -> tuple[Request, Frames] | bytes:
    request_id = body.get("request_id")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        error = "params must be an object"
        return encode(_OriginalError(request_id=request_id, error_code=INVALID_PARAMS, error=error))
    action = body.get("action")
    request = Request(action=str(action), request_id=request_id, params=params)
    return request, _ORIGINAL_FRAMES


# -- operation: the original /ws envelope ---------------------------------------------------
class _CacheResponse(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    success: bool = True
    result: Any
    error: None = None
    error_code: None = None
    timestamp: float
    latency_ms: float


class _ErrorMessage(msgspec.Struct, frozen=True, kw_only=True):
    request_id: Any
    error: str
    error_code: str
    timestamp: float
    details: None = None


class _OperationFrames(_OriginalFrames):
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def reply(self, request: Request, result: Any) -> bytes:
        latency = (time.perf_counter() - self.started) * 1000
        response = _CacheResponse(
            request_id=request.request_id, result=result, timestamp=time.time(), latency_ms=latency
        )
        return encode(response)

    def error(self, request: Request | None, error: Exception, not_found: str) -> bytes:
        reply = error_reply(request, error, not_found)
        return _operation_error(reply.request_id, reply.error_code, reply.error)


def _operation_error(request_id: Any, code: str, message: str) -> bytes:
    return encode(
        _ErrorMessage(request_id=request_id, error=message, error_code=code, timestamp=time.time())
    )


class _Main(Dialect):
    """``/ws``: the original ``operation`` envelope, and ``action`` frames as on the domain
    sockets."""

    def parse(self, raw: str) -> tuple[Request, Frames] | bytes:
        body = _json_object(raw)
        if body is None:
            return _operation_error(None, MALFORMED_MESSAGE, "Malformed JSON message")
        if "action" in body and "operation" not in body:
            return _action_request(body)
        operation = body.get("operation")
        request_id = body.get("request_id")
        params = body.get("params") or {}
        if not isinstance(operation, str) or not isinstance(params, dict):
            message = "a request needs an operation (string) and params (object)"
            return _operation_error(request_id, INVALID_OPERATION, message)
        request_id = str(uuid.uuid4()) if request_id is None else request_id
        return Request(action=operation, request_id=request_id, params=params), _OperationFrames()


RICH: Dialect = _Rich()
ORIGINAL: Dialect = _Original()
MAIN: Dialect = _Main()
