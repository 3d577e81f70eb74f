"""Accounts: balances (``accounts`` hash) and positions (``account_positions`` hash) by ex_id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import EX_ID, path_param
from .._responses import MsgspecResponse
from ..structs.accounts import Account, AccountList, AccountPositions, PositionList
from ._common import ApiRoute, reader_from


async def list_accounts(request: Request) -> Response:
    """Balances of every account, sorted by ex_id."""
    return MsgspecResponse(await reader_from(request).accounts.all())


async def one_account(request: Request) -> Response:
    """Balances of one account, with its update date."""
    ex_id = path_param(request, "ex_id", EX_ID)
    return MsgspecResponse(await reader_from(request).accounts.one(ex_id))


async def account_positions(request: Request) -> Response:
    """Positions of one account only (fullon_cache's get_positions ignores the ex_id)."""
    ex_id = path_param(request, "ex_id", EX_ID)
    return MsgspecResponse(await reader_from(request).accounts.positions(ex_id))


async def list_positions(request: Request) -> Response:
    """Positions of every account, sorted by ex_id then symbol."""
    return MsgspecResponse(await reader_from(request).accounts.all_positions())


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
