"""Who is calling: the identity rule around `Authenticator.identify`, and the request path it
is judged on."""

from __future__ import annotations

from starlette.types import Message, Scope, Send

from .._errors import Unauthenticated
from ..security import BEARER_SUBPROTOCOL, Accepts, Authenticator, Identity

__all__ = ["choosing_bearer", "drop_trailing_slash", "identify", "route_path"]


def identify(
    authenticator: Authenticator, scope: Scope, accepts: Accepts | None = None
) -> Identity | None:
    """The caller's identity; None only on a public path called without credentials.

    Raises `Unauthenticated` for bad credentials, or none on a non-public path (public:
    `Authenticator.public_paths`, the docs included unless configured otherwise). A
    credential outside the headers (``?token=``, the docs cookie) counts only where
    `accepts` says the request's route takes it (see `Authenticator.identify`).
    """
    path = route_path(scope)
    public = path in authenticator.public_paths
    try:
        identity = authenticator.identify(scope, accepts)
    except Unauthenticated:
        if public:
            return None
        raise
    if identity is None and not public:
        raise Unauthenticated("Not authenticated")
    return identity


def drop_trailing_slash(scope: Scope) -> None:
    """Route ``/tickers/`` as ``/tickers``, without a redirect (the router redirects nothing)."""
    path = route_path(scope)
    if len(path) > 1 and path.endswith("/"):
        scope["path"] = scope["path"][:-1]


def route_path(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def choosing_bearer(send: Send) -> Send:
    """`send` accepting the socket with the ``bearer`` subprotocol its client offered (with
    the token after it): a browser drops a socket whose server picks none of its offers."""

    async def choose(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": BEARER_SUBPROTOCOL}
        await send(message)

    return choose
