"""Token lifetime: a stream authenticated by a JWT ends when the token expires.

The token was verified when the stream opened (by us, or by the host that put a user in the
scope from the same ``Authorization`` header); its ``exp`` only decides when the stream ends,
so it is read without verifying again. One timer per stream fires at ``exp`` and closes the
client's queue with reason ``token_expired`` (SSE: the ``close`` event; WebSocket: close code
1008): nothing is checked per event. API keys do not expire.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
from starlette.datastructures import QueryParams
from starlette.types import Scope

from ..security import IDENTITY_SCOPE_KEY, Identity
from ._queue import ClientQueue

__all__ = ["close_at_expiry", "token_expiry"]

EXPIRED = "the token that authenticated this stream expired"


def close_at_expiry(queue: ClientQueue[Any], scope: Scope) -> asyncio.TimerHandle | None:
    """Close `queue` (reason ``token_expired``) when the connection's JWT expires; the timer
    to cancel when the stream ends first, None when no JWT authenticated it."""
    expires = token_expiry(scope)
    if expires is None:
        return None
    delay = max(0.0, expires - time.time())
    return asyncio.get_running_loop().call_later(delay, queue.close, "token_expired", EXPIRED)


def token_expiry(scope: Scope) -> float | None:
    """The ``exp`` (epoch seconds) of the JWT the connection's identity came from."""
    identity: Identity | None = scope.get(IDENTITY_SCOPE_KEY)
    if identity is None or identity.source not in {"jwt", "host"}:
        return None
    # The credential `Authenticator.identify` took: the Authorization header first; for a JWT
    # of our own, else ``?token=`` (a host user comes with the host's header, if any).
    token = _bearer(scope)
    if token is None and identity.source == "jwt":
        token = QueryParams(scope.get("query_string", b"")).get("token")
    if not token or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    return float(expires)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None
