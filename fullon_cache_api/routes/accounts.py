"""Accounts: balances (``accounts`` hash) and positions (``account_positions`` hash) by ex_id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._params import EX_ID, path_param
from .._responses import MsgspecResponse
from ._common import reader_from


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
    Route("/accounts", list_accounts),
    Route("/accounts/{ex_id}", one_account),
    Route("/accounts/{ex_id}/positions", account_positions),
    Route("/positions", list_positions),
]
