"""HTTP plumbing under the routes: the gateway app and its one middleware pass, the router,
responses, parameter patterns, HTTP caching, limits and the OpenAPI document."""

from __future__ import annotations

from . import _params
from ._gateway import GatewayApp
from ._http_cache import AGED_SCOPE_KEY
from ._openapi import OpenAPICache
from ._params import *  # noqa: F403  # the patterns and readers `_params.__all__` names
from ._responses import MsgspecResponse, ProblemResponse, encode

__all__ = [
    "AGED_SCOPE_KEY",
    "GatewayApp",
    "MsgspecResponse",
    "OpenAPICache",
    "ProblemResponse",
    "encode",
]
__all__ += _params.__all__
