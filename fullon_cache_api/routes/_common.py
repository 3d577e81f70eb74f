"""The accessors from a request to the data layer and to the caller's identity."""

from __future__ import annotations

from starlette.requests import Request

from .._auth import IDENTITY_SCOPE_KEY, Authenticator, Identity, Ownership
from .._errors import Unauthenticated
from ..data import CacheReader

__all__ = ["identity_of", "ownership_of", "reader_from"]


def reader_from(request: Request) -> CacheReader:
    """The app's read-only data layer (built by `create_app`, shared by all requests)."""
    reader: CacheReader = request.app.state.reader
    return reader


def identity_of(request: Request) -> Identity | None:
    """Who is asking (None only on public routes called without credentials)."""
    identity: Identity | None = request.scope.get(IDENTITY_SCOPE_KEY)
    return identity


async def ownership_of(request: Request) -> Ownership | None:
    """What the caller may read of the private domains; None means everything (admin)."""
    identity = identity_of(request)
    if identity is None:
        raise Unauthenticated("Not authenticated")
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.ownership(identity)
