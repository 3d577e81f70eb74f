"""Authorization: a non-admin reads only what the ownership hook grants, on every private route.

Two owners' data is seeded side by side: A (ex_id 1, bot 42, uid 7, marker ``OWNA``) and B
(ex_id 2, bot 43, uid 8, marker ``OWNB``). `CASES` lists, per private route template, sample
requests and what A must get for the domain route tables; a private route missing from it fails
`test_cases_cover_every_private_domain_route`. Every private route of the whole surface (derived
views included) is also crawled generically from `tests/support/surface.py` SAMPLES.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import anyio
import jwt
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Match, Mount
from starlette.types import Receive, Scope, Send

from fullon_cache_api import Settings
from fullon_cache_api._app import all_routes
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.routes import accounts, bots, orders, trades
from fullon_cache_api.routes._common import ApiRoute
from fullon_cache_api.security._auth import Identity, Ownership, OwnershipHook, hash_api_key

from .support.apps import AppBuilder, get
from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

SECRET = "authorization-test-secret-long-enough-for-hs256"
ADMIN_KEY = "authz-admin-key"
SERVICE_KEY = "authz-service-key"

A = SimpleNamespace(tag="OWNA", ex_id=1, bot=42, uid=7, mail="a@fullon.test")
B = SimpleNamespace(tag="OWNB", ex_id=2, bot=43, uid=8, mail="b@fullon.test")

MINE, FOREIGN, LIST, SHARED, ADMIN_ONLY = "mine", "foreign", "list", "shared", "admin-only"

# template -> [(request path, what owner A gets)]:
#   MINE: 200 with A's data only; FOREIGN: B's resource, a 404 equal to a real miss;
#   LIST: a list endpoint over both owners' data, A sees only its own (empty, not 404, when
#   nothing is granted); SHARED: one key holding both owners' entries, A sees only its own (a
#   miss when none is theirs); ADMIN_ONLY: containers naming no owner, A sees nothing of
#   A's marked data. A LOOKUP route answers 200 either way: its "miss" is the answer for an
#   absent entry, which a foreign one must equal.
CASES: dict[str, list[tuple[str, str]]] = {
    "/accounts": [("/accounts", LIST)],
    "/accounts/{ex_id}": [("/accounts/1", MINE), ("/accounts/2", FOREIGN)],
    "/accounts/{ex_id}/positions": [
        ("/accounts/1/positions", MINE),
        ("/accounts/2/positions", FOREIGN),
    ],
    "/positions": [("/positions", LIST)],
    "/orders": [
        ("/orders", LIST),
        ("/orders?order_id=OWNA_1", MINE),
        ("/orders?order_id=OWNB_1", FOREIGN),
        ("/orders?order_id=OWNB_2", FOREIGN),
    ],
    "/orders/queues": [("/orders/queues", ADMIN_ONLY)],
    "/orders/{account}": [
        ("/orders/binance", SHARED),
        ("/orders/1", MINE),
        ("/orders/2", FOREIGN),
        ("/orders/kraken", FOREIGN),
    ],
    "/orders/{account}/{order_id:path}": [
        ("/orders/binance/OWNA_1", MINE),
        ("/orders/binance/OWNB_1", FOREIGN),
        ("/orders/1/OWNA_2", MINE),
        ("/orders/2/OWNB_2", FOREIGN),
    ],
    "/bots": [("/bots", LIST)],
    "/bots/blocks": [("/bots/blocks", LIST)],
    "/bots/opening-positions": [("/bots/opening-positions", LIST)],
    "/bots/{bot_id}": [("/bots/42", MINE), ("/bots/43", FOREIGN)],
    "/orders/queue/size": [("/orders/queue/size", ADMIN_ONLY)],
    "/orders/{order_id}/status": [
        ("/orders/OWNA_1/status", MINE),
        ("/orders/OWNA_2/status", MINE),
        ("/orders/OWNB_1/status", FOREIGN),
        ("/orders/OWNB_2/status", FOREIGN),
    ],
    "/bots/{bot_id}/status": [("/bots/42/status", MINE), ("/bots/43/status", FOREIGN)],
    "/bots/blocks/{ex_id}/{symbol:path}": [
        ("/bots/blocks/1/OWNA/USDT", MINE),
        ("/bots/blocks/2/OWNB/USDT", FOREIGN),
    ],
    # A sees its own user queue there, but no shared queue and no marked data.
    "/trades/queue/status": [("/trades/queue/status", ADMIN_ONLY)],
    "/trades": [("/trades", ADMIN_ONLY)],
    "/trades/users/{uid}/{exchange}": [
        ("/trades/users/7/binance", MINE),
        ("/trades/users/8/binance", FOREIGN),
    ],
    "/trades/{exchange}/{symbol:path}": [
        ("/trades/binance/BTC/USDT", SHARED),
        ("/trades/kraken/OWNA/USD", MINE),
        ("/trades/kraken/OWNB/USD", FOREIGN),
    ],
}  # fmt: skip

# Routes answering 200 whether or not the entry exists (the answer says which).
LOOKUPS = {"/bots/blocks/{ex_id}/{symbol:path}"}

# What identifies each owner's data in a body: its marker, and the order hash named by its ex_id.
MARKERS = {A.tag: (A.tag, '"key":"1"'), B.tag: (B.tag, '"key":"2"')}


def mark_of(owner: SimpleNamespace, body: str) -> bool:
    """Whether `body` shows any of `owner`'s data."""
    return any(marker in body for marker in MARKERS[owner.tag])


async def seed_owner(writer: CacheWriter, o: SimpleNamespace) -> None:
    """One entry per private domain for owner `o`, in fullon_cache's layout."""
    ids = {"ex_id": o.ex_id, "uid": o.uid, "bot_id": o.bot}
    await writer.upsert_user_account(o.ex_id, {o.tag: {"free": 1.0, "used": 0.0, "total": 1.0}})
    await writer.upsert_positions(o.ex_id, [{"symbol": f"{o.tag}/USDT", "volume": 1.0}])
    await writer.save_order("binance", {"ex_order_id": f"{o.tag}_1", "symbol": "BTC/USDT", **ids})
    await writer.save_order(o.ex_id, {"ex_order_id": f"{o.tag}_2", "ex_id": o.ex_id})
    if o is B:  # an exchange-named hash holding only B's orders
        await writer.save_order("kraken", {"ex_order_id": f"{o.tag}_3", **ids})
    await writer.push_open_order(f"{o.tag}_1", f"{o.tag}_L")
    await writer.update_bot(o.bot, {"feed_1": {"status": "running"}, "name": o.tag})
    await writer.block_exchange(o.ex_id, f"{o.tag}/USDT", o.bot)
    await writer.mark_opening_position(o.ex_id, f"{o.tag}/USDT", o.bot)
    trade = {"trade_id": o.uid, "ex_trade_id": f"{o.tag}_T", "symbol": "BTC/USDT", **ids}
    await writer.push_trade("binance", trade)
    await writer.push_trade("kraken", {**trade, "symbol": f"{o.tag}/USD"})
    await writer.push_user_trade(o.uid, "binance", trade)


def token(owner: SimpleNamespace) -> str:
    claims = {"sub": owner.mail, "user_id": owner.uid, "exp": int(time.time()) + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


class Hook:
    """An ownership hook like the master's: uid -> the owner's ex_ids, bots and uid."""

    def __init__(self) -> None:
        self.calls: list[Identity] = []

    async def __call__(self, identity: Identity) -> Ownership:
        self.calls.append(identity)
        for owner in (A, B):
            if identity.uid == owner.uid:
                return Ownership(
                    ex_ids=frozenset({str(owner.ex_id)}),
                    bot_ids=frozenset({str(owner.bot)}),
                    uids=frozenset({str(owner.uid)}),
                )
        return Ownership()


@pytest.fixture
def authz_settings(settings: Settings) -> Settings:
    keys = (
        ApiKey(name="ops", sha256=hash_api_key(ADMIN_KEY), admin=True),
        ApiKey(name="svc", sha256=hash_api_key(SERVICE_KEY), admin=False),
    )
    config = AuthConfig(jwt_secret_key=SECRET, admin_mail="root@fullon.test", api_keys=keys)
    return Settings(redis_url=settings.redis_url, auth=config)


@pytest.fixture
def make_app(make_app: AppBuilder, authz_settings: Settings) -> AppBuilder:
    """The shared builder, on this module's settings (JWTs, an admin and a service key)."""
    return make_app.using(settings=authz_settings)


def as_user(owner: SimpleNamespace) -> dict[str, str]:
    return {"authorization": f"Bearer {token(owner)}"}


AS_ADMIN = {"x-api-key": ADMIN_KEY}
ALL_CASES = [(template, path, kind) for template, cases in CASES.items() for path, kind in cases]


async def real_misses(app: Starlette) -> dict[str, tuple[int, Any]]:
    """What an admin gets for every FOREIGN path while the cache is empty: the real misses
    (404, or for a lookup its 200 answer for an absent entry)."""
    misses = {}
    for template, path, kind in ALL_CASES:
        if kind == FOREIGN:
            response = await get(app, path, **AS_ADMIN)
            expected = 200 if template in LOOKUPS else 404
            assert response.status_code == expected, (path, response.text)
            misses[path] = (response.status_code, response.json())
    return misses


def private_templates(routes: list[Any]) -> set[str]:
    return {r.path for r in routes if isinstance(r, ApiRoute) and r.access == "private"}


def test_cases_cover_every_private_domain_route() -> None:
    """Every private route of the domain tables has cases here, each hitting its route."""
    tables = [*accounts.routes, *orders.routes, *bots.routes, *trades.routes]
    assert private_templates(tables) == set(CASES)
    for template, path, _ in ALL_CASES:
        scope = {"type": "http", "method": "GET", "path": path.partition("?")[0]}
        hit = next(r for r in all_routes() if r.matches(scope)[0] is Match.FULL)
        assert getattr(hit, "path", None) == template, path


async def test_owner_sees_own_data_only(make_app: AppBuilder, writer: CacheWriter) -> None:
    """On every private route, owner A gets its own data, never B's; B's singles are 404s
    indistinguishable from a real miss; admin-only containers show A nothing."""
    app = make_app(ownership=Hook())
    misses = await real_misses(app)
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    for template, path, kind in ALL_CASES:
        response = await get(app, path, **as_user(A))
        where = (template, path, response.text)
        if kind == FOREIGN:
            assert (response.status_code, response.json()) == misses[path], where
            if template not in LOOKUPS:
                assert response.headers["content-type"] == "application/problem+json"
            continue
        assert response.status_code == 200, where
        assert not mark_of(B, response.text), where
        assert mark_of(A, response.text) == (kind != ADMIN_ONLY), where
        if template in LOOKUPS:  # the pair is echoed: the answer itself must say "yours"
            assert response.json()["blocked"] is True, where


async def test_admin_sees_everything(make_app: AppBuilder, writer: CacheWriter) -> None:
    """An admin API key reads both owners' data on every case (so the 404s above are not misses)."""
    app = make_app(ownership=Hook())
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    for template, path, kind in ALL_CASES:
        response = await get(app, path, **AS_ADMIN)
        assert response.status_code == 200, (template, path, response.text)
        if template in LOOKUPS:
            assert response.json()["blocked"] is True, path
        if kind in {LIST, SHARED, ADMIN_ONLY}:
            assert mark_of(A, response.text) and mark_of(B, response.text), path
        else:
            assert mark_of(A if kind == MINE else B, response.text), path


async def test_admin_mail_jwt_is_admin(make_app: AppBuilder, writer: CacheWriter) -> None:
    """A JWT whose sub is ADMIN_MAIL reads everything, without asking the hook."""
    hook = Hook()
    app = make_app(ownership=hook)
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    root = SimpleNamespace(mail="root@fullon.test", uid=1)
    response = await get(app, "/accounts", **as_user(root))
    assert mark_of(A, response.text) and mark_of(B, response.text)
    assert hook.calls == []


@pytest.mark.parametrize("hook", [None, Hook()], ids=["no-hook", "hook-grants-nothing"])
async def test_nothing_without_grant(
    make_app: AppBuilder, writer: CacheWriter, hook: OwnershipHook | None
) -> None:
    """With no hook (or nothing granted) a non-admin sees no private data: lists empty, 404s."""
    app = make_app(ownership=hook)
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    stranger = SimpleNamespace(mail="c@fullon.test", uid=99 if hook else A.uid)
    for identity in (as_user(stranger), {"x-api-key": SERVICE_KEY}):
        for template, path, kind in ALL_CASES:
            response = await get(app, path, **identity)
            if template in LOOKUPS:  # the pair asked for is echoed: the answer is "none"
                assert response.status_code == 200, (template, path, response.text)
                assert (response.json()["blocked"], response.json()["bot"]) == (False, None)
                continue
            expected = 200 if kind in {LIST, ADMIN_ONLY} else 404
            assert response.status_code == expected, (template, path, response.text)
            if expected == 200:  # a 404 detail names the id asked for, markers included
                assert not mark_of(A, response.text) and not mark_of(B, response.text), path


async def test_every_private_route_is_scoped(make_app: AppBuilder, writer: CacheWriter) -> None:
    """Crawling each private route's sample (tests/support/surface.py, whose data is A's): A
    gets 200 without B's data, B and a no-grant service key get a 404 or a 200 without A's
    data."""
    app = make_app(ownership=Hook())
    await seed_surface(writer)
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    crawled = sorted(private_templates(all_routes()) & set(SAMPLES))
    assert set(CASES) <= set(crawled)  # a route without a sample fails test_surface instead
    for template in crawled:
        mine = await get(app, SAMPLES[template], **as_user(A))
        assert mine.status_code == 200, (template, mine.text)
        assert B.tag not in mine.text, template
        for other in (as_user(B), {"x-api-key": SERVICE_KEY}):
            theirs = await get(app, SAMPLES[template], **other)
            assert theirs.status_code in {200, 404}, (template, theirs.text)
            if theirs.status_code == 200:
                assert not any(m in theirs.text for m in (A.tag, "EX_1")), (template, theirs.text)


async def test_hook_gets_identity_and_is_cached(
    make_app: AppBuilder, authz_settings: Settings, writer: CacheWriter
) -> None:
    """The hook receives the caller's identity, is asked once per identity within the TTL,
    and again once the TTL has passed."""
    hook = Hook()
    short = msgspec.structs.replace(authz_settings.auth, ownership_ttl=0.3)
    app = make_app(ownership=hook, settings=msgspec.structs.replace(authz_settings, auth=short))
    await seed_owner(writer, A)
    for path in ("/accounts", "/bots", "/accounts/1"):
        assert (await get(app, path, **as_user(A))).status_code == 200
    assert len(hook.calls) == 1
    assert (hook.calls[0].uid, hook.calls[0].mail, hook.calls[0].admin) == (7, A.mail, False)
    await get(app, "/accounts", **as_user(B))
    assert [call.uid for call in hook.calls] == [7, 8]
    await anyio.sleep(0.35)
    await get(app, "/accounts", **as_user(A))
    assert [call.uid for call in hook.calls] == [7, 8, 7]


async def test_inconsistent_or_ownerless_entries_are_hidden(
    make_app: AppBuilder, writer: CacheWriter
) -> None:
    """In a shared container an entry is shown only when every owner id it carries is the
    caller's: mixed owners or no owner id at all are hidden from non-admins (fail closed)."""
    app = make_app(ownership=Hook())
    await writer.save_order("binance", {"ex_order_id": "MIXED", "ex_id": A.ex_id, "uid": B.uid})
    await writer.save_order("binance", {"ex_order_id": "NOBODY", "symbol": "BTC/USDT"})
    await writer.save_order("binance", {"ex_order_id": "MINE", "ex_id": A.ex_id, "uid": "7"})
    await writer.push_trade("binance", {"symbol": "BTC/USDT", "ex_id": A.ex_id, "bot_id": B.bot})
    await writer.block_exchange(A.ex_id, "ETH/USDT", B.bot)
    body = (await get(app, "/orders/binance", **as_user(A))).json()
    assert [order["order_id"] for order in body["orders"]] == ["MINE"]
    assert (await get(app, "/orders/binance", **AS_ADMIN)).json()["count"] == 3
    for path in ("/trades/binance/BTC/USDT", "/orders/binance/MIXED", "/orders/binance/NOBODY"):
        assert (await get(app, path, **as_user(A))).status_code == 404, path
        assert (await get(app, path, **as_user(B))).status_code == 404, path
    for owner in (A, B):
        assert (await get(app, "/bots/blocks", **as_user(owner))).json()["blocks"] == []


async def test_shared_order_hash_counts_only_own_orders(
    make_app: AppBuilder, writer: CacheWriter
) -> None:
    """/orders lists an exchange-named hash with the caller's order count, not everyone's."""
    app = make_app(ownership=Hook())
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    mine = (await get(app, "/orders", **as_user(A))).json()["hashes"]
    everything = (await get(app, "/orders", **AS_ADMIN)).json()["hashes"]
    assert {h["key"]: h["orders"] for h in mine} == {"1": 1, "binance": 1}
    assert {h["key"]: h["orders"] for h in everything} == dict(
        binance=2, kraken=1, **{"1": 1, "2": 1}
    )


async def test_shared_trade_queue_length_counts_only_own_trades(
    make_app: AppBuilder, writer: CacheWriter
) -> None:
    """In a shared trade queue a non-admin's `length` and `limit` apply to its own trades."""
    app = make_app(ownership=Hook())
    for n in range(5):
        owner = A if n % 2 == 0 else B
        trade = {"trade_id": n, "symbol": "BTC/USDT", "ex_id": owner.ex_id, "uid": owner.uid}
        await writer.push_trade("binance", trade)
    body = (await get(app, "/trades/binance/BTC/USDT?limit=2", **as_user(A))).json()
    assert (body["length"], [t["trade_id"] for t in body["trades"]]) == (3, [2, 4])
    assert (await get(app, "/trades/binance/BTC/USDT", **AS_ADMIN)).json()["length"] == 5


async def test_host_user_is_scoped_too(make_app: AppBuilder, writer: CacheWriter) -> None:
    """A non-admin user handed over by the host (scope state) is scoped by the hook as well."""
    cache_app = make_app(ownership=Hook())
    await seed_owner(writer, A)
    await seed_owner(writer, B)
    mounted = Starlette(routes=[Mount("/api/v1/cache", cache_app)])

    async def host(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["user"] = SimpleNamespace(uid=8, mail=B.mail, name="B")
        await mounted(scope, receive, send)

    body = (await get(host, "/api/v1/cache/accounts")).text
    assert mark_of(B, body) and not mark_of(A, body)
    assert (await get(host, "/api/v1/cache/accounts/1")).status_code == 404


async def test_market_routes_open_to_any_identity(
    make_app: AppBuilder, writer: CacheWriter
) -> None:
    """Market data and process health answer 200 to a non-admin with no grants at all."""
    app = make_app(ownership=None)
    await seed_surface(writer)
    market = [r.path for r in all_routes() if getattr(r, "access", None) == "market"]
    market = [template for template in market if template in SAMPLES]  # else test_surface fails
    assert len(market) >= 6
    for identity in (as_user(A), {"x-api-key": SERVICE_KEY}):
        for template in market:
            response = await get(app, SAMPLES[template], **identity)
            assert response.status_code == 200, (template, response.text)


async def test_health_details_need_identity(make_app: AppBuilder) -> None:
    """/health without identity is bare liveness; with any identity it adds Redis details."""
    app = make_app(ownership=None)
    anonymous = await get(app, "/health")
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})
    for identity in (as_user(A), {"x-api-key": SERVICE_KEY}):
        detailed = (await get(app, "/health", **identity)).json()
        assert detailed["redis"]["reachable"] is True, identity
