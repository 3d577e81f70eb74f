"""Per-user summaries: what is counted (with the ownership hook, by the entries' uid field
without one, everything for an admin key), who may ask, and how big hashes are read (HSCAN
chunks, HMGET chunks, a time budget; never HGETALL)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from redis.asyncio import Redis

from fullon_cache_api import Identity, Ownership, Settings
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.data._base import Deadline
from fullon_cache_api.data._limits import ReadLimits
from fullon_cache_api.data.users import Owner, UserReader
from fullon_cache_api.data.views._scan import hash_batches
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.security._auth import hash_api_key

from .support.apps import AppBuilder, get
from .support.monitor import monitored

pytestmark = pytest.mark.anyio

SECRET = "user-summary-test-secret-long-enough-for-hs256"
ADMIN_KEY, SERVICE_KEY = "summary-admin-key", "summary-service-key"
A = {"ex_id": 1, "uid": 7, "bot_id": 42}
B = {"ex_id": 2, "uid": 8, "bot_id": 43}
A_GRANT = Ownership(
    ex_ids=frozenset({"1"}), bot_ids=frozenset({"42", "44", "45"}), uids=frozenset({"7"})
)


async def hook(identity: Identity) -> Ownership:
    """User 7 owns ex_id 1 and bots 42, 44, 45; the service key `svc` ex_id 2; others nothing."""
    if identity.uid == 7:
        return A_GRANT
    if identity.name == "svc":
        return Ownership(ex_ids=frozenset({"2"}))
    return Ownership()


async def seed_two_users(writer: CacheWriter) -> None:
    """A's and B's orders, bots, balances and positions side by side, with corrupt entries."""
    for oid, status in (("A1", "open"), ("A2", "filled"), ("A3", "Partially_Filled")):
        await writer.save_order("binance", {"ex_order_id": oid, "status": status, **A})
    await writer.save_order("binance", {"ex_order_id": "B1", "status": "open", **B})
    await writer.save_order("binance", {"ex_order_id": "MIXED", "ex_id": 1, "uid": 8})
    await writer.save_order("binance", {"ex_order_id": "NOBODY", "status": "open"})
    await writer.redis.hset("order_status:binance", "BAD", "{not json")  # owner unknown
    await writer.save_order(1, {"ex_order_id": "X1", "status": "new"})  # A's ex_id: A's own
    await writer.save_order(1, {"ex_order_id": "X2", "status": "canceled"})
    await writer.redis.hset("order_status:1", "BAD", "{not json")  # A's, corrupt
    await writer.save_order(2, {"ex_order_id": "Y1", "status": "open", "uid": 7})  # B's ex_id
    await writer.update_bot(42, {"status": "paused", "uid": 7, "f": {"status": "running"}})
    await writer.update_bot(44, {"f1": {"status": "running"}, "f2": {"status": "stopped"}})
    await writer.update_bot(43, {"name": "B", "uid": 8, "f": {"status": "running"}})
    await writer.redis.hset("bot_status", "45", "{not json")  # A's, corrupt
    await writer.upsert_user_account(1, {"USDT": {"total": 1.0}, "BTC": {"total": 0.1}})
    await writer.upsert_user_account(2, {"USD": {"total": 5.0}})
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT"}])
    await writer.upsert_positions(2, [{"symbol": "BTC/USD"}])


def bearer(uid: int, mail: str = "user@fullon.test") -> dict[str, str]:
    claims = {"sub": mail, "user_id": uid, "exp": int(time.time()) + 600}
    return {"authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@pytest.fixture
def make_app(make_app: AppBuilder, settings: Settings) -> AppBuilder:
    """The shared builder, on this module's settings (JWTs, an admin and a service key)."""
    keys = (
        ApiKey(name="ops", sha256=hash_api_key(ADMIN_KEY), admin=True),
        ApiKey(name="svc", sha256=hash_api_key(SERVICE_KEY), admin=False),
    )
    auth = AuthConfig(jwt_secret_key=SECRET, admin_mail="root@fullon.test", api_keys=keys)
    return make_app.using(settings=Settings(redis_url=settings.redis_url, auth=auth))


def counts(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "bots"}


def bots(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(bot["bot_id"], bot["status"]) for bot in body["bots"]]


async def test_with_a_hook_the_grant_decides(make_app: AppBuilder, writer: CacheWriter) -> None:
    """With the hook, A's summary counts the orders /orders shows A (its ex_id's hash whole,
    its own entries of shared hashes; never B's ex_id), its granted bots, balances and
    positions; corrupt entries count in `skipped` only where they are known to be A's."""
    app = make_app(ownership=hook)
    await seed_two_users(writer)
    body = (await get(app, "/me/summary", **bearer(7))).json()
    assert counts(body) == {
        "uid": "7", "ownership": "hook", "orders": 5,
        "orders_by_status": {
            "Partially_Filled": 1, "canceled": 1, "filled": 1, "new": 1, "open": 1,
        },
        "open_orders": 3, "bot_count": 2, "accounts": 1, "balances": 2, "positions": 2,
        "skipped": 2, "partial": False,
    }  # fmt: skip
    # 42 has its own status; 44's feeds disagree, so it has none; 45 is corrupt
    assert bots(body) == [("42", "paused"), ("44", None)]
    assert body["bots"][1]["feeds"] == {"f1": "running", "f2": "stopped"}
    admin = (await get(app, "/users/7/summary", **{"x-api-key": ADMIN_KEY})).json()
    assert admin == body  # the hook is asked about user 7 for the admin too


async def test_without_a_hook_the_uid_field_decides(
    make_app: AppBuilder, writer: CacheWriter
) -> None:
    """Without a hook, a user's summary counts the orders and bots whose own uid field is
    theirs, in any hash; balances and positions carry no uid, so they are null."""
    app = make_app()
    await seed_two_users(writer)
    body = (await get(app, "/me/summary", **bearer(7))).json()
    assert counts(body) == {
        "uid": "7", "ownership": "uid_field", "orders": 4,
        "orders_by_status": {"Partially_Filled": 1, "filled": 1, "open": 2},
        "open_orders": 3, "bot_count": 1, "accounts": None, "balances": None, "positions": None,
        "skipped": 0, "partial": False,
    }  # fmt: skip
    assert bots(body) == [("42", "paused")]
    assert (await get(app, "/users/7/summary", **{"x-api-key": ADMIN_KEY})).json() == body


@pytest.mark.parametrize("with_hook", [True, False], ids=["hook", "no-hook"])
async def test_only_admins_and_the_user_read_a_summary(
    make_app: AppBuilder, writer: CacheWriter, with_hook: bool
) -> None:
    """Another user's summary is a 404 whatever the data; a service key without a uid cannot
    name one either; an admin can."""
    app = make_app(ownership=hook if with_hook else None)
    empty = await get(app, "/users/7/summary", **bearer(8))
    await seed_two_users(writer)
    for headers in (bearer(8), {"x-api-key": SERVICE_KEY}):
        response = await get(app, "/users/7/summary", **headers)
        assert (response.status_code, response.json()) == (404, empty.json())
    assert (await get(app, "/users/7/summary", **bearer(7))).json()["orders"] > 0
    assert (await get(app, "/users/0007/summary", **bearer(7))).json()["uid"] == "7"
    assert (await get(app, "/users/8/summary", **{"x-api-key": ADMIN_KEY})).status_code == 200


async def test_identities_without_a_user_id(make_app: AppBuilder, writer: CacheWriter) -> None:
    """/me/summary for an identity without a uid: an admin key counts everything, a service
    key its hook grant, or nothing without a hook."""
    await seed_two_users(writer)
    admin = (await get(make_app(), "/me/summary", **{"x-api-key": ADMIN_KEY})).json()
    assert (admin["uid"], admin["ownership"], admin["orders"]) == (None, "admin", 9)
    assert (admin["accounts"], admin["balances"], admin["positions"]) == (2, 3, 3)
    assert bots(admin) == [("42", "paused"), ("43", "running"), ("44", None)]
    assert admin["skipped"] == 3  # every corrupt entry: the admin owns them all
    granted = (
        await get(make_app(ownership=hook), "/me/summary", **{"x-api-key": SERVICE_KEY})
    ).json()
    assert counts(granted) == {
        "uid": None,
        "ownership": "hook",
        "orders": 1,
        "orders_by_status": {"open": 1},
        "open_orders": 1,
        "bot_count": 0,
        "accounts": 1,
        "balances": 1,
        "positions": 1,
        "skipped": 0,
        "partial": False,
    }  # fmt: skip  (B1 in the shared hash also carries uid 8 and bot 43: not granted)
    nothing = (await get(make_app(), "/me/summary", **{"x-api-key": SERVICE_KEY})).json()
    assert (nothing["ownership"], nothing["orders"], nothing["accounts"]) == ("none", 0, 0)


@pytest.fixture
async def client(flushed: RedisServer) -> AsyncIterator[Redis]:
    """A redis-py client on the test database, closed at teardown."""
    redis = Redis(port=flushed.port)
    try:
        yield redis
    finally:
        await redis.aclose()


async def test_big_hashes_are_read_in_hscan_chunks(
    client: Redis, writer: CacheWriter, flushed: RedisServer
) -> None:
    """600 orders in one hash, chunk 50: every HSCAN reply carries at most ~50 entries, all
    600 are counted once, and no HGETALL is ever sent."""
    for n in range(600):
        await writer.save_order("binance", {"ex_order_id": f"O{n}", "status": "open", "uid": 7})
    replies = [
        len(batch)
        async for batch in hash_batches(
            client, "order_status:binance", ReadLimits(chunk=50), Deadline(30)
        )
    ]
    assert sum(replies) == 600 and len(replies) >= 6
    assert max(replies) <= 100  # COUNT is a hint: a bucket's entries come together
    with monitored(flushed.port) as seen:
        summary = await UserReader(client).summary(Owner(uid="7", basis="uid_field"), chunk=50)
    assert (summary.orders, summary.open_orders, summary.partial) == (600, 600, False)
    commands = [command for _, command in seen]
    assert commands.count("HSCAN") >= 6 + 1  # the order hash in chunks, and bot_status
    assert "HGETALL" not in commands


async def test_owned_fields_are_fetched_in_hmget_chunks(
    client: Redis, writer: CacheWriter, flushed: RedisServer
) -> None:
    """120 granted bots and ex_ids, chunk 50: three HMGETs of bot_status, and three pipelines
    of two HMGETs for balances and positions; nothing else is read of those hashes."""
    for bot in range(120):
        await writer.update_bot(bot, {"f": {"status": "running"}})
    ids = frozenset(str(n) for n in range(120))
    owner = Owner(uid="7", basis="hook", granted=Ownership(ex_ids=ids, bot_ids=ids))
    with monitored(flushed.port) as seen:
        summary = await UserReader(client).summary(owner, chunk=50)
    assert (summary.bot_count, summary.accounts) == (120, 0)
    commands = [command for _, command in seen]
    assert commands.count("HMGET") == 3 + 2 * 3
    assert not {"HGETALL", "HSCAN"} & set(commands)


async def test_a_spent_budget_answers_partial(client: Redis, writer: CacheWriter) -> None:
    """When the time budget is spent nothing more is read and the answer says partial."""
    await writer.save_order("binance", {"ex_order_id": "O1", "status": "open", "uid": 7})
    owner = Owner(uid="7", basis="uid_field")
    spent = await UserReader(client).summary(owner, budget=0)
    assert (spent.orders, spent.partial) == (0, True)
    whole = await UserReader(client).summary(owner, budget=30)
    assert (whole.orders, whole.partial) == (1, False)


async def test_oversized_and_corrupt_values_are_skipped_and_logged_once_per_key(
    client: Redis, writer: CacheWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin's summary over 300 torn orders, one order and one bot above
    FULLON_CACHE_API_MAX_VALUE_BYTES (never decoded), and one bot and account of valid JSON:
    all bad ones counted in `skipped`, one log line per key carrying its count."""
    torn = {f"T{n}": '{"status": "open", "uid": 7' for n in range(300)}
    await client.hset("order_status:binance", mapping=torn)
    big = '{"status": "open", "pad": "' + "x" * 5000 + '"}'
    await client.hset("order_status:binance", "BIG", big)
    await writer.save_order("binance", {"ex_order_id": "OK", "status": "open", "uid": 7})
    await client.hset("bot_status", mapping={"1": big, "2": '{"name": "ok"}'})
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})
    caplog.set_level("WARNING", "fullon.api.cache.data")
    reader = UserReader(client, ReadLimits(max_value_bytes=4096))
    summary = await reader.summary(Owner(uid=None, basis="admin"), chunk=50)
    assert (summary.orders, summary.bot_count, summary.accounts) == (1, 1, 1)
    assert summary.skipped == 300 + 1 + 1
    lines = sorted(r.getMessage() for r in caplog.records if r.name == "fullon.api.cache.data")
    assert len(lines) == 2, lines
    assert lines[0].startswith("skipped 1 entries of bot_status")
    assert "oversized" in lines[0]
    assert lines[1].startswith("skipped 301 entries of order_status:binance")
