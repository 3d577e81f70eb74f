"""WebSockets compatible with the original fullon_cache_api: ``/ws`` and one socket per domain
(``/ws/{domain}/{connection_id}``), speaking its action protocol (see `hub._protocol`).

Request/response actions read through the same data layer as HTTP; ``stream_*`` actions are
served by the hub (pub/sub for tickers, shared pollers elsewhere); every socket also answers
``ping`` and ``unsubscribe``. Authentication happened before (`AuthMiddleware`: header or
``?token=``, close code 1008 when refused); private domains read with the caller's ownership.

The original URLs answer in the original gateway's shapes (`hub._dialects`); the same sockets
under ``/ws/v2`` answer with this gateway's richer shapes (the HTTP Structs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from .._errors import InvalidInput
from ..http import Pattern
from ..streams import DOMAINS, MAIN, ORIGINAL, ORIGINAL_DOMAINS, RICH, Dialect, Domain, Session

CONNECTION_ID = Pattern("connection_id", r"[A-Za-z0-9_.\-:]+", 128, "connection id")


def _endpoint(
    domain: str, domains: dict[str, Domain] = ORIGINAL_DOMAINS, dialect: Dialect = ORIGINAL
) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        connection_id = str(websocket.path_params.get("connection_id", "main"))
        try:
            CONNECTION_ID.check("connection_id", connection_id)
        except InvalidInput as exc:
            # Accepted first: a close before accept reaches the client as a bare HTTP 403.
            await websocket.accept()
            await websocket.close(1008, exc.detail[:120])
            return
        await Session(websocket, domains[domain], connection_id, dialect).run()

    endpoint.__name__ = f"ws_{domain or 'main'}{'_v2' if dialect is RICH else ''}"
    endpoint.__doc__ = f"The {domain or 'main'} WebSocket of the original protocol."
    return endpoint


_DOMAINS = ("tickers", "orders", "trades", "accounts", "bots", "ohlcv", "process")

routes: list[BaseRoute] = [
    WebSocketRoute("/ws", _endpoint("", dialect=MAIN)),
    *(WebSocketRoute(f"/ws/{domain}/{{connection_id}}", _endpoint(domain)) for domain in _DOMAINS),
    # Opt-in: the same actions answered with this gateway's richer shapes.
    WebSocketRoute("/ws/v2", _endpoint("", DOMAINS, RICH)),
    *(
        WebSocketRoute(f"/ws/v2/{domain}/{{connection_id}}", _endpoint(domain, DOMAINS, RICH))
        for domain in _DOMAINS
    ),
]
