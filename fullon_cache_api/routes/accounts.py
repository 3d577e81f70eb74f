"""Accounts: balances (``accounts`` hash) and positions (``account_positions`` hash) by ex_id.

Private: a non-admin sees only the ex_ids its ownership grants; any other ex_id is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import EX_ID, path_param
from .._responses import MsgspecResponse
from ..structs.accounts import Account, AccountList, AccountPositions, PositionList
from ._common import ApiRoute, ownership_of, reader_from


async def list_accounts(request: Request) -> Response:
    """Balances of every account the caller owns, sorted by ex_id."""
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.all(only=only))


async def one_account(request: Request) -> Response:
    """Balances of one account, with its update date."""
    ex_id = path_param(request, "ex_id", EX_ID)
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.one(ex_id, only=only))


async def account_positions(request: Request) -> Response:
    """Positions of one account only (fullon_cache's get_positions ignores the ex_id)."""
    ex_id = path_param(request, "ex_id", EX_ID)
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.positions(ex_id, only=only))


async def list_positions(request: Request) -> Response:
    """Positions of every account the caller owns, sorted by ex_id then symbol."""
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.all_positions(only=only))


routes = [
    ApiRoute("/accounts", list_accounts, response=AccountList, access="private"),
    ApiRoute("/accounts/{ex_id}", one_account, response=Account, access="private"),
    ApiRoute(
        "/accounts/{ex_id}/positions",
        account_positions,
        response=AccountPositions,
        access="private",
    ),
    ApiRoute("/positions", list_positions, response=PositionList, access="private"),
]
