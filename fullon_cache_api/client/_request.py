"""A call to one gateway route, built before it is sent: path, query, and the type to decode."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import msgspec

__all__ = ["Params", "Request", "build_request", "path_names"]

T = TypeVar("T")

# What an endpoint's builder returns: every argument by name (None: not sent).
Params = dict[str, str | int | float | bool | None]

_PARAMETER = re.compile(r"{(\w+)(:path)?}")


@dataclass(frozen=True, slots=True)
class Request(Generic[T]):
    """One GET: `path` relative to the gateway's root, `params` its query, `response` the
    type its 200 body decodes to (``str``: the body's text)."""

    path: str
    params: dict[str, str]
    response: type[T]

    def decode(self, body: bytes) -> T:
        """The body as `response`, decoded by msgspec (validated against the type)."""
        if self.response is str:
            return body.decode()  # type: ignore[return-value]  # T is str here
        return msgspec.json.decode(body, type=self.response)

    def with_cursor(self, cursor: str) -> Request[T]:
        """The same call for the page `cursor` names."""
        return replace(self, params={**self.params, "cursor": cursor})


def path_names(template: str) -> list[str]:
    """The parameter names of a route template (``/tickers/{exchange}/{symbol:path}``)."""
    return [match.group(1) for match in _PARAMETER.finditer(template)]


def build_request(template: str, response: type[T], values: Params) -> Request[T]:
    """The request for `template` filled from `values`; the values not in the path are the
    query (None left out). A ``:path`` parameter keeps its slashes (``BTC/USDT``)."""

    def fill(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        if value is None or value == "":
            raise ValueError(f"{match.group(1)} is required")
        return quote(str(value), safe=":/" if match.group(2) else ":")

    path = _PARAMETER.sub(fill, template).lstrip("/")
    in_path = set(path_names(template))
    query = {
        name: _text(value)
        for name, value in values.items()
        if name not in in_path and value is not None
    }
    return Request(path=path, params=query, response=response)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
