"""Bots: ``bot_status`` documents, ``block_exchange`` blocks, ``opening_position`` marks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import BOT_ID, path_param
from .._responses import MsgspecResponse
from ..structs.bots import BlockList, Bot, BotList, OpeningPositionList
from ._common import ApiRoute, reader_from


async def list_bots(request: Request) -> Response:
    """Status documents of every bot, sorted by bot id."""
    return MsgspecResponse(await reader_from(request).bots.all())


async def list_blocks(request: Request) -> Response:
    """Every exchange/symbol block with the bot holding it."""
    return MsgspecResponse(await reader_from(request).bots.blocks())


async def list_opening_positions(request: Request) -> Response:
    """Every opening-position mark with its bot and time."""
    return MsgspecResponse(await reader_from(request).bots.opening_positions())


async def one_bot(request: Request) -> Response:
    """One bot's status document."""
    bot_id = path_param(request, "bot_id", BOT_ID)
    return MsgspecResponse(await reader_from(request).bots.one(bot_id))


routes = [
    ApiRoute("/bots", list_bots, response=BotList, access="private"),
    ApiRoute("/bots/blocks", list_blocks, response=BlockList, access="private"),
    ApiRoute(
        "/bots/opening-positions",
        list_opening_positions,
        response=OpeningPositionList,
        access="private",
    ),
    ApiRoute("/bots/{bot_id}", one_bot, response=Bot, access="private"),
]
