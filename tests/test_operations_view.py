"""Tenant-wide operational figures (Redis version, memory, clients, keyspace, key counts of the
private domains, replication) only for operators: admins and API keys flagged ``:ops``. Any
other identity gets liveness and what it could count itself (the market domains)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import msgspec
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import hash_api_key

from .support.apps import AppBuilder, get
from .support.credentials import ADMIN_KEY
from .support.faults.load import gateway_client
from .support.faults.topology import Topology, topology
from .support.surface import seed_surface

pytestmark = pytest.mark.anyio

OPS_KEY = "ops-key-for-status"
USER_KEY = "user-key-for-status"
SECRET = "operations-view-secret-0123456789-abcdef"
MARKET = {"tickers", "ohlcv", "processes"}
KEYS = (
    ApiKey(name="admin", sha256=hash_api_key(ADMIN_KEY), admin=True),
    ApiKey(name="prometheus", sha256=hash_api_key(OPS_KEY), operations=True),
    ApiKey(name="user", sha256=hash_api_key(USER_KEY)),
)


def user_jwt() -> str:
    claims = {"sub": "user@fullon.test", "user_id": 7, "exp": int(time.time() + 600)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
async def app(make_app: AppBuilder, settings: Settings, writer: CacheWriter) -> Starlette:
    """The app, with JWTs and an ops key, over the whole surface's data."""
    await seed_surface(writer)
    auth = AuthConfig(api_keys=KEYS, jwt_secret_key=SECRET, admin_mail="root@fullon.test")
    return make_app(settings=msgspec.structs.replace(settings, auth=auth))


async def get_ok(app: Starlette, path: str, **headers: str) -> httpx.Response:
    """A GET that must answer 200."""
    response = await get(app, path, **headers)
    assert response.status_code == 200, response.text
    return response


NON_OPERATORS = {
    "api-key": lambda: {"X-API-Key": USER_KEY},
    "jwt": lambda: {"Authorization": f"Bearer {user_jwt()}"},
}


@pytest.mark.parametrize("who", list(NON_OPERATORS))
async def test_status_shows_non_operators_the_market_domains_only(app: Starlette, who: str) -> None:
    """A non-admin, non-ops caller: no Redis INFO, key counts of tickers, OHLCV and processes
    only (what any identity may list), `scanned` = those keys, view ``market``."""
    body = (await get_ok(app, "/status", **NON_OPERATORS[who]())).json()
    assert body["redis"] is None and body["view"] == "market"
    assert set(body["keys_by_domain"]) == MARKET
    assert body["scanned"] == sum(body["keys_by_domain"].values()) > 0


@pytest.mark.parametrize("key", [ADMIN_KEY, OPS_KEY])
async def test_status_shows_operators_everything(app: Starlette, key: str) -> None:
    """Admins and ops keys get INFO and every domain's count, view ``operations``."""
    body = (await get_ok(app, "/status", **{"X-API-Key": key})).json()
    assert body["view"] == "operations" and body["redis"]["version"]
    assert body["redis"]["connected_clients"] >= 1 and body["redis"]["keyspace"]
    assert set(body["keys_by_domain"]) == {*MARKET, "accounts", "orders", "bots", "trades", "other"}


async def test_ops_key_reads_no_private_data(app: Starlette) -> None:
    """An ops key is not an admin: private domains stay hidden from it."""
    assert (await get_ok(app, "/bots", **{"X-API-Key": OPS_KEY})).json()["count"] == 0
    assert (await get_ok(app, "/bots", **{"X-API-Key": ADMIN_KEY})).json()["count"] == 1


@pytest.mark.parametrize("who", list(NON_OPERATORS))
async def test_health_hides_the_redis_version_from_non_operators(app: Starlette, who: str) -> None:
    """Non-operators learn that Redis answers (and how fast), not which server it is."""
    body = (await get_ok(app, "/health", **NON_OPERATORS[who]())).json()
    assert body["status"] == "ok" and body["redis"]["reachable"] is True
    assert body["redis"]["version"] is None and "replication" not in body
    full = (await get_ok(app, "/health", **{"X-API-Key": OPS_KEY})).json()
    assert full["redis"]["version"]


def test_env_reads_the_ops_flag() -> None:
    """``FULLON_CACHE_API_KEYS=name:<sha256>:ops`` makes an operations key (not admin)."""
    digest = hash_api_key("k")
    settings = Settings.from_env({"FULLON_CACHE_API_KEYS": f"prom:{digest}:ops"})
    assert settings.auth.api_keys == (ApiKey(name="prom", sha256=digest, operations=True),)


@pytest.fixture
def pair() -> Iterator[Topology]:
    with topology(with_sentinel=False) as servers:
        yield servers


@pytest.mark.slow
async def test_replication_is_for_operators(pair: Topology) -> None:
    """Reading from a replica: /health shows replication to an ops key, not to a user key."""
    client = Redis(port=pair.primary.port)
    try:
        await CacheWriter(client).set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
        assert await client.wait(1, 2000) == 1
    finally:
        await client.aclose()
    settings = Settings(redis_read_url=pair.replica.url, auth=AuthConfig(api_keys=KEYS))
    async with gateway_client(create_app(settings=settings)) as http:
        ops = (await http.get("/health", headers={"X-API-Key": OPS_KEY})).json()
        user = (await http.get("/health", headers={"X-API-Key": USER_KEY})).json()
    assert ops["replication"]["role"] == "replica"
    assert "replication" not in user and user["redis"]["reachable"] is True
