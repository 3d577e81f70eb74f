"""WebSockets compatible with the original fullon_cache_api: ``/ws`` and one socket per domain
(``/ws/{domain}/{connection_id}``), speaking its action protocol (see `hub._protocol`).

Request/response actions read through the same data layer as HTTP; ``stream_*`` actions are
served by the hub (pub/sub for tickers, shared pollers elsewhere); every socket also answers
``ping`` and ``unsubscribe``. Authentication happened before (`AuthMiddleware`: header or
``?token=``, close code 1008 when refused); private domains read with the caller's ownership.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from .._errors import InvalidInput
from .._params import Pattern
from ..hub._actions import DOMAINS
from ..hub._socket import Session

CONNECTION_ID = Pattern("connection_id", r"[A-Za-z0-9_.\-:]+", 128, "connection id")


def _endpoint(domain: str) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        connection_id = str(websocket.path_params.get("connection_id", "main"))
        try:
            CONNECTION_ID.check("connection_id", connection_id)
        except InvalidInput as exc:
            # Accepted first: a close before accept reaches the client as a bare HTTP 403.
            await websocket.accept()
            await websocket.close(1008, exc.detail[:120])
            return
        await Session(websocket, DOMAINS[domain], connection_id).run()

    endpoint.__name__ = f"ws_{domain or 'main'}"
    endpoint.__doc__ = f"The {domain or 'main'} WebSocket of the original protocol."
    return endpoint


routes: list[BaseRoute] = [
    WebSocketRoute("/ws", _endpoint("")),
    *(
        WebSocketRoute(f"/ws/{domain}/{{connection_id}}", _endpoint(domain))
        for domain in ("tickers", "orders", "trades", "accounts", "bots", "ohlcv", "process")
    ),
]
