"""HTTP plumbing under the routes: the gateway app and its one middleware pass, the router,
responses, parameter patterns, HTTP caching, limits and the OpenAPI document."""

from __future__ import annotations

from ._gateway import GatewayApp
from ._http_cache import AGED_SCOPE_KEY
from ._openapi import OpenAPICache
from ._params import (
    ACCOUNT,
    BOT_ID,
    COMPONENT,
    CURSOR,
    EX_ID,
    EXCHANGE,
    ORDER_ID,
    PATH_PATTERNS,
    PROCESS_ID,
    PROCESS_TYPE,
    STATUS,
    SYMBOL,
    TIMEFRAME,
    UID,
    Bound,
    Pattern,
    query_int,
    query_text,
)
from ._responses import MsgspecResponse, ProblemResponse, encode

__all__ = [
    "ACCOUNT",
    "AGED_SCOPE_KEY",
    "BOT_ID",
    "COMPONENT",
    "CURSOR",
    "EXCHANGE",
    "EX_ID",
    "ORDER_ID",
    "PATH_PATTERNS",
    "PROCESS_ID",
    "PROCESS_TYPE",
    "STATUS",
    "SYMBOL",
    "TIMEFRAME",
    "UID",
    "Bound",
    "GatewayApp",
    "MsgspecResponse",
    "OpenAPICache",
    "Pattern",
    "ProblemResponse",
    "encode",
    "query_int",
    "query_text",
]
