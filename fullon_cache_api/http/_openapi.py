"""The OpenAPI 3.1 document, derived from the route table and the msgspec Structs.

Nothing is declared twice: paths, parameters, access and response types come from the routes
(`ApiRoute.query`, `.response`, `.access`, `_params.PATH_PATTERNS`), schemas from the Structs
(`msgspec.json.schema_components`), summaries and descriptions from docstrings. Each operation
lists every status it can answer: 304 where a JSON body is ETag'd, 401 unless public, the
request limits' refusals (414, 422, 431) and the 500 on every route, and the Redis problems
(404 when addressed, 502, 503, 504) on data routes. `OpenAPICache` builds the document once per
app, on first use; only ``servers`` differs per root path.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from http import HTTPStatus
from types import UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

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
from .._version import __version__
from ..security import PUBLIC_PATHS
from ..structs.streams import StreamClosed, StreamStatus
from ._limits import Limits
from ._params import PATH_PATTERNS, Bound, Pattern

__all__ = ["OpenAPICache", "build_openapi"]

# A route with its full template (mount prefixes included).
_Entry = tuple[str, Route]

_REF = "#/components/schemas/{name}"
_TEMPLATE_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_PROBLEM = "application/problem+json"
_EVENT_STREAM = "text/event-stream"

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT signed with JWT_SECRET_KEY (claims `sub` = mail, `user_id`, `exp`).",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A service API key (configured as a SHA-256 digest).",
    },
    "apiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "A JWT or API key in `?token=`: streams and WebSockets only.",
    },
}

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


class _EveryPath(frozenset[str]):
    """Every path is public (authentication is off)."""

    def __contains__(self, path: object) -> bool:
        return True


_EVERY_PATH = _EveryPath()

_OPEN_DESCRIPTION = """\
Every body is JSON; every error is an RFC 9457 problem document (`application/problem+json`).
A Redis outage is 503 with `Retry-After`, never 404.

**Authentication is off** on this gateway: every caller reads everything, no credentials
needed.
"""

_DESCRIPTION = """\
Every body is JSON; every error is an RFC 9457 problem document (`application/problem+json`).
A Redis outage is 503 with `Retry-After`, never 404.

**Authentication.** Send `Authorization: Bearer <JWT>` or `X-API-Key: <key>` (a host such as
fullon_master_api may authenticate the user for us). Server-Sent Events and WebSockets also
accept `?token=`; a WebSocket also takes its token as the subprotocols `bearer, <token>`.
Non-admin callers read accounts, orders, bots and trades only as far as the host's ownership
hook grants; anything else answers 404. `/status` and `/health` show the figures of every
tenant (Redis INFO, key counts, replication) to operators only: admins and API keys flagged
`:ops`.
"""


def build_openapi(
    routes: Sequence[BaseRoute],
    *,
    root_path: str = "",
    public_paths: Collection[str] = PUBLIC_PATHS,
    auth: bool = True,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing `routes`, served under `root_path`; routes in
    `public_paths` are documented as needing no credentials. With `auth` False (the gateway
    runs without authentication) no operation needs any, and no security scheme is listed:
    Swagger UI then shows no lock and no Authorize button."""
    http, sockets = _split(routes, "")
    # `update`: the type of a stream's updates (its `response` is the snapshot's).
    kinds = [getattr(route, key, None) for _, route in http for key in ("response", "update")]
    if any(_streams(template, route) for template, route in http):
        kinds += [kind for _, kind, _ in _STREAM_EVENTS]
    by_type, components = _schemas([kind for kind in kinds if kind is not None])
    names = Counter(route.name for _, route in http)
    paths: dict[str, dict[str, Any]] = {}
    for template, route in http:
        operation = _operation(
            template,
            route,
            by_type,
            unique=names[route.name] == 1,
            public_paths=public_paths if auth else _EVERY_PATH,
        )
        path = _TEMPLATE_PARAM.sub(r"{\1}", template)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fullon_cache_api",
            "version": __version__,
            "summary": "Read-only gateway over fullon_cache's Redis layout.",
            "description": (_DESCRIPTION if auth else _OPEN_DESCRIPTION)
            + _websocket_note(sockets, auth=auth),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": root_path or "/"}],
        "tags": _tags(route for _, route in http),
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": _component_responses(),
            **({"securitySchemes": SECURITY_SCHEMES} if auth else {}),
        },
    }


class OpenAPICache:
    """One app's document, built on first use; encoded once per root path (a few at most)."""

    _MAX_ROOT_PATHS = 8

    def __init__(
        self,
        routes: Sequence[BaseRoute],
        public_paths: Collection[str] = PUBLIC_PATHS,
        *,
        auth: bool = True,
    ) -> None:
        self._routes = routes
        self._public_paths = public_paths
        self._auth = auth
        self._document: dict[str, Any] | None = None
        self._bodies: dict[str, bytes] = {}
        self.builds = 0

    def document(self) -> dict[str, Any]:
        """The document, as built once (its ``servers`` is the standalone ``/``)."""
        if self._document is None:
            self._document = build_openapi(
                self._routes, public_paths=self._public_paths, auth=self._auth
            )
            self.builds += 1
        return self._document

    def body(self, root_path: str) -> bytes:
        """The JSON document as served under `root_path`."""
        body = self._bodies.get(root_path)
        if body is None:
            # Only `servers` depends on the root path: re-encode, never rebuild.
            document = {**self.document(), "servers": [{"url": root_path or "/"}]}
            body = msgspec.json.encode(document)
            if len(self._bodies) >= self._MAX_ROOT_PATHS:
                self._bodies.clear()
            self._bodies[root_path] = body
        return body


def _schemas(responses: list[Any]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The schema of each response type, and the components they reference.

    msgspec describes no union of untagged Structs (``OrderHashes | OrderMatches``), so a
    union is split into its members and described as ``anyOf`` them.
    """
    members = [member for kind in responses for member in _members(kind)]
    types = list(dict.fromkeys([Problem, *members]))
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    by_type = dict(zip(types, schemas, strict=True))
    for kind in responses:
        if kind not in by_type:
            by_type[kind] = {"anyOf": [by_type[member] for member in _members(kind)]}
    return by_type, components


def _members(kind: Any) -> tuple[Any, ...]:
    if isinstance(kind, UnionType) or get_origin(kind) is Union:
        return get_args(kind)
    return (kind,)


def _split(routes: Sequence[BaseRoute], prefix: str) -> tuple[list[_Entry], list[str]]:
    """HTTP routes to document (with their full templates), and WebSocket templates."""
    http: list[_Entry] = []
    sockets: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            inner_http, inner_sockets = _split(route.routes, prefix + route.path)
            http += inner_http
            sockets += inner_sockets
        elif isinstance(route, WebSocketRoute):
            sockets.append(prefix + route.path)
        elif isinstance(route, Route) and route.include_in_schema:
            http.append((prefix + route.path, route))
    return http, sockets


def _streams(template: str, route: Route) -> bool:
    """Server-Sent Events: declared by the route, or by the ``/stream`` path convention."""
    declared = getattr(route, "media_type", None) == _EVENT_STREAM or getattr(route, "stream", 0)
    return bool(declared) or template.endswith("/stream")


def _operation(
    template: str,
    route: Route,
    by_type: dict[Any, Any],
    *,
    unique: bool,
    public_paths: Collection[str],
) -> dict[str, Any]:
    domain = _domain(route)
    access = _access(template, route, public_paths)
    summary, _, details = (inspect.getdoc(route.endpoint) or template).partition("\n\n")
    parameters = [*_path_parameters(template, route), *_query_parameters(route)]
    return {
        "operationId": _operation_id(route.name.lstrip("_"), domain, unique=unique),
        # Summaries are plain text (no Markdown): one line, no backquotes.
        "summary": " ".join(summary.replace("`", "").split()),
        "description": (details.strip() + "\n\n" + _ACCESS_NOTES[access]).strip(),
        "tags": [domain],
        "parameters": parameters,
        "responses": _responses(template, route, by_type, access=access),
        "security": _security(access, stream=_streams(template, route)),
    }


def _operation_id(name: str, domain: str, *, unique: bool) -> str:
    # Endpoint names are unique today; should two modules ever reuse one, prefix the domain.
    return name if unique else f"{domain}_{name}"


_ACCESS_NOTES = {
    "open": "Authentication is off on this gateway: no credentials needed, every caller "
    "reads everything.",
    "public": "Public: no credentials needed.",
    "market": "Any authenticated caller.",
    "private": "Admins read everything; other callers only what the host's ownership hook "
    "grants (anything else is 404).",
}


def _access(template: str, route: Route, public_paths: Collection[str]) -> str:
    if public_paths is _EVERY_PATH:
        return "open"
    access = getattr(route, "access", None)
    if access in _ACCESS_NOTES:
        return str(access)
    return "public" if template in public_paths else "market"


def _domain(route: Route) -> str:
    module = getattr(route.endpoint, "__module__", "") or ""
    return module.rsplit(".", 1)[-1].lstrip("_") or "default"


def _path_parameters(template: str, route: Route) -> list[dict[str, Any]]:
    # A route may validate a parameter with its own shape (`ApiRoute.path_patterns`).
    patterns = {**PATH_PATTERNS, **getattr(route, "path_patterns", {})}
    parameters = []
    for name, converter in _TEMPLATE_PARAM.findall(template):
        pattern = patterns.get(name)
        schema = _pattern_schema(pattern) if pattern else _converter_schema(converter)
        description = pattern.description if pattern else name.replace("_", " ")
        if converter == "path":
            description += "; may contain '/' (sent as is or as %2F)"
        parameter = {"name": name, "in": "path", "required": True, "schema": schema}
        parameters.append({**parameter, "description": description})
    return parameters


def _query_parameters(route: Route) -> list[dict[str, Any]]:
    """The query parameters; an empty value is taken as absent, and the schemas say so."""
    query: dict[str, Pattern | Bound] = getattr(route, "query", None) or {}
    parameters = []
    for name, shape in query.items():
        if isinstance(shape, Pattern):
            schema, description = _pattern_schema(shape, empty=True), shape.description
        else:
            schema = _bound_schema(shape)
            description = f"{shape.minimum} to {shape.maximum} (default {shape.default})"
        parameters.append(
            {
                "name": name,
                "in": "query",
                "description": description + _EMPTY_NOTE,
                "schema": schema,
                "allowEmptyValue": True,
            }
        )
    return parameters


_EMPTY_NOTE = "; empty: as if absent"


def _pattern_schema(pattern: Pattern, *, empty: bool = False) -> dict[str, Any]:
    # JSON Schema patterns are unanchored searches; the gateway matches the whole value. A
    # query value may be empty (taken as absent): its pattern then admits the empty string.
    regex = f"^(?:{pattern.regex})?$" if empty else f"^(?:{pattern.regex})$"
    return {"type": "string", "pattern": regex, "maxLength": pattern.max_length}


def _bound_schema(bound: Bound) -> dict[str, Any]:
    """An integer within `bound`, or the empty value (its default)."""
    integer = {"type": "integer", "minimum": bound.minimum, "maximum": bound.maximum}
    return {"anyOf": [integer, {"type": "string", "maxLength": 0}], "default": bound.default}


def _converter_schema(converter: str) -> dict[str, Any]:
    if converter == "int":
        return {"type": "integer", "minimum": 0}
    if converter == "float":
        return {"type": "number", "minimum": 0}
    return {"type": "string"}


def _responses(
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
    if _streams(template, route):
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
_STREAM_EVENTS: tuple[tuple[str, Any, str], ...] = (
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
    events += [(name, by_type[kind], meaning) for name, kind, meaning in _STREAM_EVENTS]
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


def _component_responses() -> dict[str, Any]:
    """The shared responses: the problem documents of `_ERRORS` and the gateway's, and 304."""
    responses = {error.__name__: _problem_response(error) for error in _ERRORS}
    for name, description in _GATEWAY_PROBLEMS.values():
        responses[name] = _problem(description)
    responses["NotModified"] = _NOT_MODIFIED
    return responses


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_PROBLEM: {"schema": {"$ref": _REF.format(name="Problem")}}},
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


def _security(access: str, *, stream: bool) -> list[dict[str, list[str]]]:
    if access in {"public", "open"}:
        return []
    schemes = ["bearerAuth", "apiKeyHeader", *(["apiKeyQuery"] if stream else [])]
    return [{scheme: []} for scheme in schemes]


def _tags(http: Iterable[Route]) -> list[dict[str, str]]:
    tags: dict[str, str] = {}
    for route in http:
        module = sys.modules.get(getattr(route.endpoint, "__module__", "") or "")
        doc = inspect.getdoc(module) if module is not None else None
        tags.setdefault(_domain(route), " ".join((doc or "").split("\n\n")[0].split()))
    return [{"name": name, "description": text} for name, text in tags.items()]


def _websocket_note(sockets: Sequence[str], *, auth: bool = True) -> str:
    if not sockets:
        return ""
    listed = ", ".join(f"`{path}`" for path in sockets)
    how = (
        "authenticated with a header, `?token=` or the subprotocols `bearer, <token>`, "
        "refused with close code 1008"
        if auth
        else "no credentials needed"
    )
    return (
        "\n**WebSockets** (not described by OpenAPI; the original gateway's action protocol, "
        f"{how}): {listed}.\n"
    )
