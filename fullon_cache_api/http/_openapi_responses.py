"""The OpenAPI document's responses: each operation's statuses, the problem documents, the
304, and the events of a Server-Sent Events stream (see `_openapi`)."""

from __future__ import annotations

import inspect
from http import HTTPStatus
from typing import Any

from starlette.routing import Route

from .._errors import (
    CacheAPIError,
    CacheTimeout,
    CacheUnavailable,
    CorruptEntry,
    InvalidInput,
    NotFound,
    Problem,
    TooManyStreams,
    Unauthenticated,
)
from ..structs.streams import StreamClosed, StreamStatus
from ._limits import Limits

__all__ = ["REF", "STREAM_EVENTS", "component_responses", "is_stream", "responses"]

REF = "#/components/schemas/{name}"
_PROBLEM = "application/problem+json"
_EVENT_STREAM = "text/event-stream"

# The problem documents an operation may answer with, in the order they are listed.
_ERRORS: tuple[type[CacheAPIError], ...] = (
    Unauthenticated,
    NotFound,
    InvalidInput,
    TooManyStreams,
    CorruptEntry,
    CacheUnavailable,
    CacheTimeout,
)

_LIMITS = Limits()  # the defaults; an app built with other limits refuses at its own sizes

# Answers of the gateway's own pass, not of any route (``status -> (component, description)``):
# the request limits refuse before routing, and an unexpected error is a 500 problem.
_GATEWAY_PROBLEMS: dict[str, tuple[str, str]] = {
    "414": (
        "UriTooLong",
        f"{HTTPStatus(414).phrase}: the path is over {_LIMITS.max_path_bytes} bytes or the "
        f"query string over {_LIMITS.max_query_bytes} bytes (refused before authentication "
        "or Redis).",
    ),
    "431": (
        "HeadersTooLarge",
        f"{HTTPStatus(431).phrase}: a header over {_LIMITS.max_header_bytes} bytes, all "
        f"headers over {_LIMITS.max_headers_bytes} bytes, or more than {_LIMITS.max_headers} "
        "headers (refused before authentication or Redis).",
    ),
    "500": (
        "InternalError",
        f"{HTTPStatus(500).phrase}: the gateway failed unexpectedly (a bug, logged with its "
        "traceback).",
    ),
}
_ANY_OPERATION = {status: name for status, (name, _) in _GATEWAY_PROBLEMS.items()}

# Besides a failed parameter pattern or bound, the limits answer 422 on any route.
_INVALID_INPUT_NOTE = (
    " Also a path or query string that is not UTF-8 once percent-decoded, or holds a control "
    "character (any route, before authentication)."
)

_NOT_MODIFIED: dict[str, Any] = {
    "description": "Not Modified: `If-None-Match` names the current body's ETag (either the "
    "identity or the gzip form); no body.",
    "headers": {
        "ETag": {
            "description": "The current body's ETag: strong, or weak (`W/`) for answers with "
            "ages, computed without them (they revalidate while the cached data is unchanged).",
            "schema": {"type": "string"},
        },
        "Cache-Control": {"description": "`private, no-cache`.", "schema": {"type": "string"}},
    },
}


def is_stream(template: str, route: Route) -> bool:
    """Server-Sent Events: declared by the route, or by the ``/stream`` path convention."""
    declared = getattr(route, "media_type", None) == _EVENT_STREAM or getattr(route, "stream", 0)
    return bool(declared) or template.endswith("/stream")


def responses(
    template: str, route: Route, by_type: dict[Any, Any], *, access: str
) -> dict[str, Any]:
    """Every status the operation can answer, each problem document with the problem schema."""
    success = _success(template, route, by_type)
    responses: dict[str, Any] = {"200": success}
    if "application/json" in success.get("content", {}):  # ETag'd: revalidation answers 304
        responses["304"] = _ref("NotModified")
    data = hasattr(route, "response")  # a data route reaches Redis; the others never do
    # A path parameter (or a query parameter, as /orders?order_id=) names something that may
    # not exist: the route declares it (`ApiRoute.misses`).
    addressed = bool(getattr(route, "misses", "{" in template))
    stream = _EVENT_STREAM in success.get("content", {})
    for error in _ERRORS:
        if error is TooManyStreams:  # stream admission (`hub._admission`)
            if stream:
                responses[str(error.status)] = _ref(error.__name__)
        elif _may_answer(error, access=access, data=data, addressed=addressed):
            responses[str(error.status)] = _ref(error.__name__)
    # The request limits refuse before routing and the 500 answers any bug: every operation.
    for status, name in _ANY_OPERATION.items():
        responses[status] = _ref(name)
    return dict(sorted(responses.items()))


def _may_answer(error: type[CacheAPIError], *, access: str, data: bool, addressed: bool) -> bool:
    if error is Unauthenticated:
        return access not in {"public", "open"}
    if error is NotFound:
        return data and addressed
    if error is InvalidInput:  # the limits refuse a malformed path or query on any route
        return True
    return data  # corrupt entry, Redis unreachable or too slow


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _success(template: str, route: Route, by_type: dict[Any, Any]) -> dict[str, Any]:
    response = getattr(route, "response", None)
    if is_stream(template, route):
        return _event_stream(route, by_type)
    if response is not None:
        content = {"application/json": {"schema": by_type[response]}}
        return {"description": "OK", "content": content}
    media_type = getattr(route, "media_type", None)
    if media_type is None:  # a route that declares nothing about its body
        return {"description": "OK"}
    return {"description": "OK", "content": {media_type: {}}}


_EVENTS_DESCRIPTION = """\
Server-Sent Events. The stream opens with `retry: 2000`, then carries events, each with \
`event:`, `id:` (its rank in the stream) and one `data:` line of JSON; after \
FULLON_CACHE_API_STREAM_HEARTBEAT seconds without an event a `: heartbeat` comment is sent. \
The schema describes the stream as the sequence of its events (OpenAPI 3.2's `itemSchema`): \
`snapshot` first (null when the key is not cached), then `update` after each change; \
`status` when the Redis link behind the stream is lost and back (a fresh `snapshot` follows), \
`problem` when a stored value does not decode (the stream goes on), and `close`, the last \
event, when the gateway ends the stream."""

# Events every stream may carry besides its snapshot and updates: name -> (data, meaning).
STREAM_EVENTS: tuple[tuple[str, Any, str], ...] = (
    ("status", StreamStatus, "The Redis link behind the stream: reconnecting, then live."),
    ("problem", Problem, "A stored value that does not decode (RFC 9457); the stream goes on."),
    ("close", StreamClosed, "The last event: a slow consumer cut off, or the gateway stopping."),
)


def _event_stream(route: Route, by_type: dict[Any, Any]) -> dict[str, Any]:
    snapshot, update = getattr(route, "response", None), getattr(route, "update", None)
    events: list[tuple[str, Any, str]] = []
    if snapshot is not None:
        data = {"anyOf": [by_type[snapshot], {"type": "null"}]}
        events.append(("snapshot", data, "The current value (null: not in the cache)."))
    if update is not None:
        events.append(("update", by_type[update], "A change."))
    events += [(name, by_type[kind], meaning) for name, kind, meaning in STREAM_EVENTS]
    schema: dict[str, Any] = {
        "type": "array",
        "items": {"oneOf": [_event_schema(name, data, text) for name, data, text in events]},
        "x-events": {name: data for name, data, _ in events},
    }
    return {"description": _EVENTS_DESCRIPTION, "content": {_EVENT_STREAM: {"schema": schema}}}


def _event_schema(name: str, data: dict[str, Any], meaning: str) -> dict[str, Any]:
    """One event of a stream: its name, its id, its JSON data."""
    return {
        "title": name,
        "description": meaning,
        "type": "object",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"const": name},
            "id": {"type": "integer", "minimum": 1},
            "data": data,
        },
    }


def component_responses() -> dict[str, Any]:
    """The shared responses: the problem documents of `_ERRORS` and the gateway's, and 304."""
    responses = {error.__name__: _problem_response(error) for error in _ERRORS}
    for name, description in _GATEWAY_PROBLEMS.values():
        responses[name] = _problem(description)
    responses["NotModified"] = _NOT_MODIFIED
    return responses


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_PROBLEM: {"schema": {"$ref": REF.format(name="Problem")}}},
    }


def _problem_response(error: type[CacheAPIError]) -> dict[str, Any]:
    description = f"{error.title}: {inspect.getdoc(error) or ''}".strip()
    if error is InvalidInput:
        description += _INVALID_INPUT_NOTE
    response = _problem(description)
    if error in (CacheUnavailable, TooManyStreams):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    if error is Unauthenticated:
        response["headers"] = {
            "WWW-Authenticate": {"description": "Always `Bearer`.", "schema": {"type": "string"}}
        }
    return response
