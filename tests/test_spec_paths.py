"""The original specification's paths, called exactly as spelled on the demo's sample data: as an
admin and as a non-admin owner (through an ownership hook), directly and under the
``/api/v1/cache`` mount; and which route each literal path reaches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Match, Mount

from fullon_cache_api import Identity, Ownership, Settings
from fullon_cache_api._app import all_routes
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.demo.seed import seed
from fullon_cache_api.http._openapi import build_openapi
from fullon_cache_api.security._auth import hash_api_key

from .support.apps import AppBuilder, get

pytestmark = pytest.mark.anyio

SECRET = "spec-paths-test-secret-long-enough-for-hs256"
ADMIN_MAIL = "root@fullon.test"
ADMIN_KEY = "spec-paths-admin-key"
MOUNT = "/api/v1/cache"
OWNER_UID = 1  # the demo's orders and trades carry uid 1, ex_id 1, bots 1 and 2
ADMIN_UID = 99  # owns nothing


class Hook:
    """The master's hook for the demo: user 1 owns ex_id 1 and bots 1 and 2."""

    def __init__(self) -> None:
        self.asked: list[Identity] = []

    async def __call__(self, identity: Identity) -> Ownership:
        self.asked.append(identity)
        if identity.uid != OWNER_UID:
            return Ownership()
        return Ownership(
            ex_ids=frozenset({"1"}), bot_ids=frozenset({"1", "2"}), uids=frozenset({"1"})
        )


def bearer(mail: str, uid: int) -> dict[str, str]:
    claims = {"sub": mail, "user_id": uid, "exp": int(time.time()) + 600}
    return {"authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


ADMIN = bearer(ADMIN_MAIL, ADMIN_UID)
OWNER = bearer("owner@fullon.test", OWNER_UID)
Body = dict[str, Any]


def statuses_of(body: Body) -> list[tuple[str, str]]:
    return [(order["key"], order["status"]) for order in body["orders"]]


def queue_keys(body: Body) -> list[str]:
    return [queue["key"] for queue in body["queues"]]


DEMO_ORDERS = {"open": 2, "filled": 2, "partially_filled": 1, "cancelled": 1, "rejected": 1}
OWNER_SUMMARY = {
    "uid": "1", "ownership": "hook",
    "orders": 7, "orders_by_status": dict(sorted(DEMO_ORDERS.items())),
    "open_orders": 3, "bot_count": 2, "accounts": 1, "balances": 3, "positions": 2,
    "skipped": 0, "partial": False,
}  # fmt: skip
USER_QUEUE = "user_trades:1:binance"

# (path as spelled in the specification, what the admin gets, what the owner gets)
Check = Callable[[Body], object]
SPEC: list[tuple[str, Check, Check]] = [
    (
        "/orders/8231974404/status",
        lambda b: statuses_of(b) == [("binance", "cancelled")] and b["orders"][0]["side"] == "buy",
        lambda b: statuses_of(b) == [("binance", "cancelled")],
    ),
    (
        "/orders/8231974401/status",  # in the hash named by the exchange and in the ex_id's
        lambda b: statuses_of(b) == [("1", "open"), ("binance", "open")],
        lambda b: statuses_of(b) == [("1", "open"), ("binance", "open")],
    ),
    (
        "/orders/queue/size",
        lambda b: b["queues"] == [{"local_oid": "bot_1", "length": 2}],
        lambda b: b == {"count": 0, "skipped": 0, "queues": []},  # names no owner: admins only
    ),
    (
        "/bots/1/status",
        lambda b: (b["bot_id"], b["fields"]["name"]) == ("1", "trend_follower"),
        lambda b: (b["bot_id"], b["fields"]["name"]) == ("1", "trend_follower"),
    ),
    (
        "/trades/queue/status",
        lambda b: (
            queue_keys(b) == ["trades:binance:BTCUSDT", "trades:binance:ETHUSDT", USER_QUEUE]
            and [q["length"] for q in b["queues"]] == [3, 1, 3]
            and all(q["status_age_seconds"] is not None for q in b["queues"])
            and [s["key"] for s in b["statuses"]] == ["binance"]
        ),
        lambda b: (
            queue_keys(b) == [USER_QUEUE]
            and b["queues"][0]["status_updated_at"] is not None
            and b["statuses"] == []
        ),
    ),
    (
        "/processes/status",
        lambda b: b["count"] == 7 and b["health"]["error_processes"] == 1,
        lambda b: b["count"] == 7 and b["health"]["total_processes"] == 7,
    ),
    (
        "/tickers/binance/BTC/USDT",
        lambda b: b["symbol"] == "BTC/USDT",
        lambda b: b["symbol"] == "BTC/USDT",
    ),
    ("/tickers/binance", lambda b: b["count"] == 6, lambda b: b["count"] == 6),
    ("/ohlcv/BTC/USDT/1m", lambda b: b["length"] == 300, lambda b: b["length"] == 300),
    (
        "/accounts/1/positions",  # the specification's {user_id} here is fullon_cache's ex_id
        lambda b: (b["ex_id"], b["count"]) == ("1", 2),
        lambda b: (b["ex_id"], b["count"]) == ("1", 2),
    ),
    (
        "/bots/blocks/1/BTC/USDT",
        lambda b: b == {"ex_id": "1", "symbol": "BTC/USDT", "blocked": True, "bot": "1"},
        lambda b: b == {"ex_id": "1", "symbol": "BTC/USDT", "blocked": True, "bot": "1"},
    ),
    (
        "/bots/blocks/binance/ETH/USDT",  # blocked under the exchange's name, by bot 2
        lambda b: (b["blocked"], b["bot"]) == (True, "2"),
        lambda b: (b["blocked"], b["bot"]) == (True, "2"),
    ),
    (
        "/bots/blocks/1/ETH/USDT",
        lambda b: (b["blocked"], b["bot"]) == (False, None),
        lambda b: (b["blocked"], b["bot"]) == (False, None),
    ),
    (
        "/users/1/summary",
        lambda b: {k: v for k, v in b.items() if k != "bots"} == OWNER_SUMMARY,
        lambda b: {k: v for k, v in b.items() if k != "bots"} == OWNER_SUMMARY,
    ),
    (
        "/me/summary",  # the admin's own user (99) owns nothing; the owner's is user 1's
        lambda b: (b["uid"], b["ownership"], b["orders"], b["bots"]) == ("99", "hook", 0, []),
        lambda b: (
            {k: v for k, v in b.items() if k != "bots"} == OWNER_SUMMARY
            and [(bot["bot_id"], bot["status"]) for bot in b["bots"]]
            == [("1", "running"), ("2", "running")]
        ),
    ),
]


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return Settings(
        redis_url=settings.redis_url,
        auth=AuthConfig(
            jwt_secret_key=SECRET,
            admin_mail=ADMIN_MAIL,
            api_keys=(ApiKey(name="ops", sha256=hash_api_key(ADMIN_KEY), admin=True),),
        ),
    )


@pytest.fixture
async def demo(writer: CacheWriter) -> None:
    """The demo's sample data (`fullon_cache_api.demo` seed), written as fullon_cache does."""
    await seed(writer)


@pytest.fixture
def gateway(make_app: AppBuilder, auth_settings: Settings) -> Starlette:
    """The app on this module's settings, with an ownership hook."""
    return make_app(settings=auth_settings, ownership=Hook())


@pytest.mark.parametrize("prefix", ["", MOUNT], ids=["direct", "mounted"])
async def test_specified_paths_answer_as_spelled(
    gateway: Starlette, demo: None, prefix: str
) -> None:
    """Every specified path answers 200 with its data, to an admin and to a non-admin owner,
    served directly and mounted at /api/v1/cache."""
    app = Starlette(routes=[Mount(MOUNT, gateway)]) if prefix else gateway
    for path, admin_sees, owner_sees in SPEC:
        for who, headers, check in (("admin", ADMIN, admin_sees), ("owner", OWNER, owner_sees)):
            response = await get(app, prefix + path, **headers)
            assert response.status_code == 200, (who, path, response.text)
            assert response.headers["content-type"] == "application/json", (who, path)
            assert check(response.json()), (who, path, response.text)


async def test_an_admin_key_summary_counts_everything(gateway: Starlette, demo: None) -> None:
    """/me/summary for an admin identity without a user id (an API key) counts what it may
    read: every order, bot, account, balance and position of the demo."""
    body = (await get(gateway, "/me/summary", **{"x-api-key": ADMIN_KEY})).json()
    assert {key: value for key, value in body.items() if key != "bots"} == {
        **OWNER_SUMMARY, "uid": None, "ownership": "admin",
        "bot_count": 3, "accounts": 2, "balances": 5, "positions": 3,
    }  # fmt: skip
    assert [(bot["bot_id"], bot["status"]) for bot in body["bots"]] == [
        ("1", "running"), ("2", "running"), ("3", "stopped"),
    ]  # fmt: skip


async def test_others_summaries_are_404_whatever_the_data(
    gateway: Starlette, writer: CacheWriter
) -> None:
    """A non-admin asking for another user's summary gets the same 404 before and after that
    user has data; their own summary is 200 (leading zeros name the same user)."""
    before = await get(gateway, "/users/2/summary", **OWNER)
    await seed(writer)
    after = await get(gateway, "/users/2/summary", **OWNER)
    assert before.status_code == after.status_code == 404
    assert before.json() == after.json()
    assert after.headers["content-type"] == "application/problem+json"
    own = await get(gateway, "/users/001/summary", **OWNER)
    assert (own.status_code, own.json()["uid"], own.json()["orders"]) == (200, "1", 7)
    assert (await get(gateway, "/users/2/summary", **ADMIN)).status_code == 200


def route_of(path: str) -> str:
    """The template of the first route matching `path` (Starlette's first-match order)."""
    scope = {"type": "http", "method": "GET", "path": path}
    return next(getattr(r, "path", "") for r in all_routes() if r.matches(scope)[0] is Match.FULL)


ROUTED = {
    # the specification's literal paths win over the parameterised routes
    "/orders/8231974404/status": "/orders/{order_id}/status",
    "/orders/queue/size": "/orders/queue/size",
    "/orders/queue/status": "/orders/{order_id}/status",  # the status of an order "queue"
    "/bots/1/status": "/bots/{bot_id}/status",
    "/bots/blocks/1/BTC/USDT:USDT": "/bots/blocks/{ex_id}/{symbol:path}",
    "/trades/queue/status": "/trades/queue/status",
    "/processes/status": "/processes/status",
    "/users/1/summary": "/users/{uid}/summary",
    "/me/summary": "/me/summary",
    # and every route that was there keeps its paths
    "/orders/binance/8231974404": "/orders/{account}/{order_id:path}",
    "/orders/binance/a/status": "/orders/{account}/{order_id:path}",
    "/orders/queues": "/orders/queues",
    "/orders/binance": "/orders/{account}",
    "/orders/binance/stream": "/orders/{account}/stream",
    "/orders/stats": "/orders/stats",
    "/bots/1": "/bots/{bot_id}",
    "/bots/blocks": "/bots/blocks",
    "/bots/opening-positions": "/bots/opening-positions",
    "/bots/activity": "/bots/activity",
    "/bots/stream": "/bots/stream",
    "/trades": "/trades",
    "/trades/stats": "/trades/stats",
    "/trades/binance/BTC/USDT": "/trades/{exchange}/{symbol:path}",
    "/trades/users/1/binance": "/trades/users/{uid}/{exchange}",
    "/processes/health": "/processes/health",
    "/processes/metrics": "/processes/metrics",
    "/processes/tick:binance:1.5": "/processes/{process_id:path}",
    "/accounts/1/positions": "/accounts/{ex_id}/positions",
    "/tickers/binance/BTC/USDT": "/tickers/{exchange}/{symbol:path}",
}


def test_literal_paths_win_and_the_others_are_unchanged() -> None:
    """Each specified literal path reaches its own route; older paths reach theirs as before."""
    assert {path: route_of(path) for path in ROUTED} == ROUTED


async def test_shadowed_order_ids_stay_reachable(gateway: Starlette, writer: CacheWriter) -> None:
    """An order stored under the id "status" (or "size" under "queue") is no longer addressed
    by /orders/{account}/{order_id}, but /orders?order_id= and /orders/{account} still find it."""
    await writer.save_order("binance", {"ex_order_id": "status", "status": "open", "uid": 1})
    await writer.save_order("queue", {"ex_order_id": "size", "status": "filled", "uid": 1})
    assert (await get(gateway, "/orders/binance/status", **ADMIN)).status_code == 404
    assert (await get(gateway, "/orders/queue/size", **ADMIN)).json()["queues"] == []
    found = await get(gateway, "/orders?order_id=status", **ADMIN)
    assert [(o["key"], o["order_id"]) for o in found.json()["orders"]] == [("binance", "status")]
    found = await get(gateway, "/orders?order_id=size", **ADMIN)
    assert [(o["key"], o["order_id"]) for o in found.json()["orders"]] == [("queue", "size")]
    listed = await get(gateway, "/orders/queue", **ADMIN)
    assert [o["order_id"] for o in listed.json()["orders"]] == ["size"]


ROUTES_PAGE = Path(__file__).resolve().parent.parent / "docs" / "routes.md"
# The docs' examples of the specification's paths, in the order its block shows them.
EXAMPLES = [
    "/orders/{order_id}/status",
    "/orders/queue/size",
    "/bots/{bot_id}/status",
    "/bots/blocks/{ex_id}/{symbol}",
    "/trades/queue/status",
    "/processes/status",
    "/users/{uid}/summary",
    "/me/summary",
]


def test_openapi_documents_each_path_and_the_docs_examples_fit_it() -> None:
    """Every specified path is an operation of the OpenAPI document, and the docs' example
    answer of each validates against that operation's documented 200 schema."""
    document = build_openapi(all_routes())
    block = ROUTES_PAGE.read_text().split("<summary>The specification's paths:", 1)[1]
    block = block.split("```json\n", 1)[1].split("```", 1)[0]
    examples = [json.loads(line) for line in block.splitlines() if line.strip()]
    assert len(examples) == len(EXAMPLES)
    for path, example in zip(EXAMPLES, examples, strict=True):
        operation = document["paths"][path]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(example, {**schema, "components": document["components"]})
