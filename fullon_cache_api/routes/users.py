"""Per-user summaries: the specification's ``get_user_order_count`` and ``get_user_bot_status``.

A summary counts what one user owns: with the host's ownership hook, what the hook grants
that user (the hook is asked with an identity carrying the user's id); without a hook, the
entries whose own ``uid`` field is the user's. ``/users/{uid}/summary`` is for admins and for
the user themself (anyone else gets the 404 of a summary that does not exist, whatever the
data); ``/me/summary`` is the caller's.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .._errors import NotFound, Unauthenticated
from ..data.users import Basis, Owner
from ..http import MsgspecResponse
from ..security import Authenticator, Identity
from ..structs.users import UserSummary
from ._common import ApiRoute, identity_of, reader_from


async def user_summary(request: Request) -> Response:
    """What one user owns: orders by status, open orders, bots with their status, balances
    and positions.

    Orders: every ``order_status:*`` hash walked with HSCAN; an order counts when the user
    owns it (the hook's grant, as on /orders; without a hook, its ``uid`` field). Open =
    status (case-insensitive) in new, open, pending, partially_filled. Bots: the granted bot
    ids' ``bot_status`` documents (without a hook, those whose ``uid`` field is the user's).
    `accounts` counts the granted ex_ids with cached balances, `balances` their currencies,
    `positions` their symbol entries in ``account_positions``; null without a hook (they
    carry no uid). Admins may ask for any uid, others for their own (else 404). The walk
    stops after the Redis socket timeout (``partial: true``).
    """
    uid = str(int(request.path_params["uid"]))  # "007" is user 7
    identity = _caller(request)
    if not identity.admin and _uid_of(identity) != uid:
        raise NotFound(f"no summary of user {uid} for you")
    return await _answer(request, await _owner(request, identity, uid))


async def my_summary(request: Request) -> Response:
    """Your own summary: as /users/{uid}/summary for the caller's user id.

    An identity without a user id (an API key, or anyone with authentication off) gets what
    it may read instead: everything for an admin (``ownership: admin``), the hook's grant for
    others (``none`` without a hook).
    """
    identity = _caller(request)
    uid = _uid_of(identity)
    if uid is not None:
        return await _answer(request, await _owner(request, identity, uid))
    if identity.admin:
        return await _answer(request, Owner(uid=None, basis="admin"))
    authenticator = _authenticator(request)
    granted = await authenticator.ownership(identity)
    basis: Basis = "hook" if authenticator.ownership_hook is not None else "none"
    return await _answer(request, Owner(uid=None, basis=basis, granted=granted))


async def _owner(request: Request, identity: Identity, uid: str) -> Owner:
    """Whose entries user `uid`'s summary counts: the hook's grant, else their uid field."""
    authenticator = _authenticator(request)
    if authenticator.ownership_hook is None:
        return Owner(uid=uid, basis="uid_field")
    if _uid_of(identity) == uid:  # the hook sees the real caller (an admin as a user)
        subject = msgspec.structs.replace(identity, admin=False)
    else:  # an admin asking about someone else: the hook sees that user's id
        subject = Identity(source="summary", name=f"user {uid}", uid=int(uid))
    return Owner(uid=uid, basis="hook", granted=await authenticator.ownership(subject))


async def _answer(request: Request, owner: Owner) -> Response:
    return MsgspecResponse(await reader_from(request).users.summary(owner))


def _caller(request: Request) -> Identity:
    identity = identity_of(request)
    if identity is None:
        raise Unauthenticated("Not authenticated")
    return identity


def _uid_of(identity: Identity) -> str | None:
    return None if identity.uid is None else str(identity.uid)


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


routes = [
    ApiRoute("/users/{uid}/summary", user_summary, response=UserSummary, access="private"),
    ApiRoute("/me/summary", my_summary, response=UserSummary, access="private"),
]
