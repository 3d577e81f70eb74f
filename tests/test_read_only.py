"""Read-only by construction: the surface works for a read-only ACL user and writes nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import redis
from redis.asyncio import Redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter, RedisServer

from .surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

# The ACL lines README documents for operators (Redis >= 6.2): the minimal reader (the near
# cache turns itself off), and the reader that may also enable CLIENT TRACKING (near cache on).
READER_ACL = (
    "user reader on >reader-pw ~* &* -@all +@read +@connection -@write -@dangerous "
    "+ping +info +client|setname"
)
TRACKING_READER_ACL = (
    "user tracker on >tracker-pw ~* &* -@all +@read +@connection -@write -@dangerous "
    "+ping +info +client|setname +client|tracking"
)

# Commands the gateway may send: reads, plus connection set-up.
ALLOWED = {
    "GET", "MGET", "HGET", "HMGET", "HGETALL", "HLEN", "HSCAN", "LRANGE", "LLEN", "SCAN",
    "EXISTS", "TYPE", "TTL", "PING", "INFO", "CLIENT", "HELLO", "AUTH", "SELECT",
}  # fmt: skip


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    """A redis-server whose `reader` user may only read."""
    with RedisServer(extra_config=[READER_ACL, TRACKING_READER_ACL]) as server:
        yield server


@pytest.fixture
async def seeded_acl(acl_server: RedisServer) -> RedisServer:
    admin = Redis(port=acl_server.port)
    await admin.flushall()
    await seed_surface(CacheWriter(admin))
    await admin.aclose()
    return acl_server


def test_reader_user_cannot_write(acl_server: RedisServer) -> None:
    """The ACL really forbids writes (so the next test proves something)."""
    with (
        redis.Redis(port=acl_server.port, username="reader", password="reader-pw") as reader,
        pytest.raises(redis.exceptions.NoPermissionError),
    ):
        reader.set("probe", "1")


@pytest.mark.parametrize(("user", "near_cache"), [("reader", False), ("tracker", True)])
async def test_surface_works_as_read_only_user(
    seeded_acl: RedisServer, user: str, near_cache: bool
) -> None:
    """Every route answers 200 (twice) as a read-only ACL user, with or without the near cache."""
    settings = Settings(redis_url=seeded_acl.url, redis_username=user, redis_password=f"{user}-pw")
    app = create_app(settings=settings, auth=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as http,
    ):
        for _ in range(2):  # the second crawl is served from the near cache where it is on
            for template, path in SAMPLES.items():
                response = await http.get(path)
                assert response.status_code == 200, (template, response.text)
        hits = app.state.reader.redis.store.hits
    assert (hits > 0) is near_cache


async def test_monitor_sees_no_write(seeded_acl: RedisServer) -> None:
    """MONITOR during a full crawl records only read and connection commands."""
    seen: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with redis.Redis(port=seeded_acl.port) as admin, admin.monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                if event["command"] == "ECHO end-of-crawl":
                    return
                seen.append(event["command"].split(" ", 1)[0].upper())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert ready.wait(5)
    app = create_app(settings=Settings(redis_url=seeded_acl.url), auth=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as http,
    ):
        for path in SAMPLES.values():
            assert (await http.get(path)).status_code == 200
    with redis.Redis(port=seeded_acl.port) as admin:
        admin.echo("end-of-crawl")
    watcher.join(5)
    assert seen, "MONITOR captured nothing"
    assert set(seen) <= ALLOWED, set(seen) - ALLOWED
