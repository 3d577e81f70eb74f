"""Accounts: balances (``accounts`` hash) and positions (``account_positions`` hash) by ex_id.

Private: a non-admin sees only the ex_ids its ownership grants; any other ex_id is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import DOCUMENT_PAGE
from ..http import CURSOR, Bound, MsgspecResponse, Pattern, query_int, query_text
from ..structs.accounts import Account, AccountList, AccountPositions, PositionList
from ._common import ApiRoute, ownership_of, reader_from

_PAGE: dict[str, Pattern | Bound] = {"limit": DOCUMENT_PAGE, "cursor": CURSOR}


async def list_accounts(request: Request) -> Response:
    """Balances of the accounts the caller owns, a page at a time, sorted by ex_id."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", DOCUMENT_PAGE)
    only = await ownership_of(request)
    found = await reader_from(request).accounts.all(only=only, cursor=cursor, limit=limit)
    return MsgspecResponse(found)


async def one_account(request: Request) -> Response:
    """Balances of one account, with its update date."""
    ex_id = request.path_params["ex_id"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.one(ex_id, only=only))


async def account_positions(request: Request) -> Response:
    """Positions of one account only (fullon_cache's get_positions ignores the ex_id)."""
    ex_id = request.path_params["ex_id"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).accounts.positions(ex_id, only=only))


async def list_positions(request: Request) -> Response:
    """Positions of the accounts the caller owns, a page of accounts at a time, sorted by
    ex_id then symbol."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", DOCUMENT_PAGE)
    only = await ownership_of(request)
    accounts = reader_from(request).accounts
    return MsgspecResponse(await accounts.all_positions(only=only, cursor=cursor, limit=limit))


routes = [
    ApiRoute("/accounts", list_accounts, response=AccountList, query=_PAGE, access="private"),
    ApiRoute("/accounts/{ex_id}", one_account, response=Account, access="private"),
    ApiRoute(
        "/accounts/{ex_id}/positions",
        account_positions,
        response=AccountPositions,
        access="private",
    ),
    ApiRoute("/positions", list_positions, response=PositionList, query=_PAGE, access="private"),
]
