"""The OpenAPI 3.1 document, derived from the route table and the msgspec Structs.

Nothing is declared twice: paths, parameters, access and response types come from the routes
(`ApiRoute.query`, `.response`, `.access`, `_params.PATH_PATTERNS`), schemas from the Structs
(`msgspec.json.schema_components`), summaries and descriptions from docstrings. Each operation
lists every status it can answer: 304 where a JSON body is ETag'd, 401 unless public, the
request limits' refusals (414, 422, 431) and the 500 on every route, and the Redis problems
(404 when addressed, 502, 503, 504) on data routes (`_openapi_responses`). `OpenAPICache`
builds the document once per app, on first use; only ``servers`` differs per root path.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from .._errors import Problem
from .._version import __version__
from ..security import PUBLIC_PATHS
from ._openapi_responses import REF, STREAM_EVENTS, component_responses, is_stream, responses
from ._params import PATH_PATTERNS, Bound, Pattern

__all__ = ["OpenAPICache", "build_openapi"]

# A route with its full template (mount prefixes included).
_Entry = tuple[str, Route]

_TEMPLATE_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")

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
    if any(is_stream(template, route) for template, route in http):
        kinds += [kind for _, kind, _ in STREAM_EVENTS]
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
            "responses": component_responses(),
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
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
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
        "responses": responses(template, route, by_type, access=access),
        "security": _security(access, stream=is_stream(template, route)),
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
