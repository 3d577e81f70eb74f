"""Bots: ``bot_status`` documents, ``block_exchange`` blocks, ``opening_position`` marks.

Private: a non-admin sees the bots its ownership grants, and the blocks and opening marks
those bots hold; any other bot id is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import DOCUMENT_PAGE, ENTRY_PAGE
from ..http import (
    ACCOUNT,
    CURSOR,
    MsgspecResponse,
    Pattern,
    query_int,
    query_text,
)
from ..structs.bots import BlockCheck, BlockList, Bot, BotList, OpeningPositionList
from ._common import ApiRoute, ownership_of, reader_from

# ``block_exchange`` fields start with an ex_id or, as callers also write them, an exchange.
BLOCK_EX_ID = Pattern(
    "ex_id", ACCOUNT.regex, ACCOUNT.max_length, "ex_id, or the exchange name a block was set with"
)


async def list_bots(request: Request) -> Response:
    """Status documents of the bots the caller owns, a page at a time, sorted by bot id."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", DOCUMENT_PAGE)
    only = await ownership_of(request)
    return MsgspecResponse(
        await reader_from(request).bots.all(only=only, cursor=cursor, limit=limit)
    )


async def list_blocks(request: Request) -> Response:
    """The exchange/symbol blocks held by bots the caller owns, a page at a time."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", ENTRY_PAGE)
    only = await ownership_of(request)
    return MsgspecResponse(
        await reader_from(request).bots.blocks(only=only, cursor=cursor, limit=limit)
    )


async def list_opening_positions(request: Request) -> Response:
    """The opening-position marks of bots the caller owns, with their time, a page at a time."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", ENTRY_PAGE)
    only = await ownership_of(request)
    bots = reader_from(request).bots
    return MsgspecResponse(await bots.opening_positions(only=only, cursor=cursor, limit=limit))


async def block_check(request: Request) -> Response:
    """Whether an exchange/symbol pair is blocked, and by which bot; 200 either way.

    fullon_cache's ``is_blocked(ex_id, symbol)``: HGET ``block_exchange`` ``{ex_id}:{symbol}``
    (the symbol may hold ``/`` and ``:``). A block held by a bot you do not own reads as no
    block, as ``/bots/blocks`` leaves it out.
    """
    ex_id = request.path_params["ex_id"]
    symbol = request.path_params["symbol"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).bots.block(ex_id, symbol, only=only))


async def bot_status(request: Request) -> Response:
    """One bot's status document (as /bots/{bot_id}); 404 for an unknown bot."""
    bot_id = request.path_params["bot_id"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).bots.one(bot_id, only=only))


async def one_bot(request: Request) -> Response:
    """One bot's status document."""
    bot_id = request.path_params["bot_id"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).bots.one(bot_id, only=only))


routes = [
    ApiRoute(
        "/bots",
        list_bots,
        response=BotList,
        query={"limit": DOCUMENT_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute(
        "/bots/blocks",
        list_blocks,
        response=BlockList,
        query={"limit": ENTRY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute(
        "/bots/blocks/{ex_id}/{symbol:path}",
        block_check,
        response=BlockCheck,
        path_patterns={"ex_id": BLOCK_EX_ID},
        misses=False,
        access="private",
    ),
    ApiRoute(
        "/bots/opening-positions",
        list_opening_positions,
        response=OpeningPositionList,
        query={"limit": ENTRY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute("/bots/{bot_id}/status", bot_status, response=Bot, access="private"),
    ApiRoute("/bots/{bot_id}", one_bot, response=Bot, access="private"),
]
