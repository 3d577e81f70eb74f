"""Our read-only client answers exactly like redis-py, command by command and in pipelines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from fullon_cache_api._errors import CorruptEntry
from fullon_cache_api.backend._redis import translate_errors
from fullon_cache_api.backend._resp import ConnectionPool, ReadOnlyRedis, options_from_url
from fullon_cache_api.demo import RedisServer

pytestmark = pytest.mark.anyio


def resp_client(url: str, **options: Any) -> ReadOnlyRedis:
    """Our client on `url`, with a pool like the gateway's."""
    pool = ConnectionPool(options_from_url(url, socket_timeout=2.0, connect_timeout=2.0))
    return ReadOnlyRedis(pool)


@pytest.fixture
async def both(flushed: RedisServer) -> AsyncIterator[tuple[ReadOnlyRedis, Redis]]:
    """Our client and redis-py on the same freshly seeded database."""
    ours, theirs = resp_client(flushed.url), Redis(port=flushed.port)
    await theirs.set("s", "text")
    await theirs.set("n", 42)
    await theirs.set("u", "é€".encode())
    await theirs.set("ex", "v", ex=100)
    await theirs.hset("h", mapping={"a": "1", "b": "2", "ü": "3"})
    await theirs.hset("big", mapping={f"f{i}": str(i) for i in range(300)})
    await theirs.rpush("l", *[f"e{i}" for i in range(20)])
    for i in range(120):
        await theirs.set(f"k:{i}", i)
    try:
        yield ours, theirs
    finally:
        await ours.aclose()
        await theirs.aclose()


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("get", ("s",), {}),
    ("get", ("u",), {}),
    ("get", ("missing",), {}),
    ("mget", (["s", "n", "missing"],), {}),
    ("mget", ("s", "n"), {}),
    ("hget", ("h", "a"), {}),
    ("hget", ("h", "ü"), {}),
    ("hget", ("h", "zz"), {}),
    ("hmget", ("h", ["a", "zz", "b"]), {}),
    ("hmget", ("h", "a", "b"), {}),
    ("hgetall", ("h",), {}),
    ("hgetall", ("missing",), {}),
    ("hlen", ("big",), {}),
    ("hexists", ("h", "a"), {}),
    ("hexists", ("h", "zz"), {}),
    ("hexists", ("missing", "a"), {}),
    ("hscan", ("h", 0), {}),
    ("hscan", ("h", 0), {"match": "a*", "count": 10}),
    ("lrange", ("l", 0, -1), {}),
    ("lrange", ("l", -5, -1), {}),
    ("llen", ("l",), {}),
    ("lindex", ("l", 3), {}),
    ("lindex", ("l", 99), {}),
    ("ttl", ("s",), {}),
    ("ttl", ("missing",), {}),
    ("exists", ("s", "h", "missing"), {}),
    ("type", ("h",), {}),
    ("type", ("l",), {}),
    ("type", ("missing",), {}),
    ("ping", (), {}),
    ("scan", (0,), {"match": "k:*", "count": 1000}),
    ("scan", (0,), {"match": "*", "count": 1000, "_type": "hash"}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), CALLS)
async def test_command_equals_redis_py(
    both: tuple[ReadOnlyRedis, Redis], method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Each method returns what redis-py returns for the same call (bytes, ints, dicts)."""
    ours, theirs = both
    expected = await getattr(theirs, method)(*args, **kwargs)
    got = await getattr(ours, method)(*args, **kwargs)
    assert got == expected
    assert type(got) is type(expected)


async def test_hscan_walks_a_big_hash_like_redis_py(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """HSCAN cursors of a hash too big for a listpack: same pages, same cursors."""
    ours, theirs = both
    cursor, seen = 0, {}
    while True:
        got = await ours.hscan("big", cursor, count=50)
        assert got == await theirs.hscan("big", cursor, count=50)
        cursor, page = got
        seen.update(page)
        if cursor == 0:
            break
    assert seen == await theirs.hgetall("big")


async def test_scan_iter_finds_every_key(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """scan_iter walks all cursors: the same key set as redis-py's."""
    ours, theirs = both
    mine = {key async for key in ours.scan_iter(match="k:*", count=7)}
    assert mine == {key async for key in theirs.scan_iter(match="k:*", count=7)}
    assert len(mine) == 120
    hashes = {key async for key in ours.scan_iter(match="*", _type="hash")}
    assert hashes == {b"h", b"big"}


async def test_info_is_parsed_like_redis_py(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """INFO and INFO <section> come back as redis-py's dicts (numbers parsed)."""
    ours, theirs = both
    mine, reference = await ours.info("server"), await theirs.info("server")
    assert mine.keys() == reference.keys()
    assert mine["redis_version"] == reference["redis_version"]
    assert isinstance(mine["tcp_port"], int)
    replication = await ours.info("replication")
    assert replication["role"] == "master"
    assert "keyspace_hits" in await ours.info()


async def test_pipeline_equals_redis_py(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """A pipeline of every command answers redis-py's list, in order, in one round."""
    ours, theirs = both
    results = []
    for client in (ours, theirs):
        async with client.pipeline(transaction=False) as pipe:
            for method, args, kwargs in CALLS:
                getattr(pipe, method)(*args, **kwargs)
            results.append(await pipe.execute())
    assert results[0] == results[1]
    assert len(results[0]) == len(CALLS)


async def test_pipeline_wrongtype_in_the_middle(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """An error reply mid-pipeline is raised after all replies are read; the link stays sane."""
    ours, theirs = both
    for client in (ours, theirs):
        async with client.pipeline(transaction=False) as pipe:
            pipe.get("s")
            pipe.llen("h")
            pipe.hget("h", "a")
            with pytest.raises(redis_errors.ResponseError, match="WRONGTYPE") as raised:
                await pipe.execute()
        assert "Command # 2 (LLEN h)" in str(raised.value)
        with pytest.raises(CorruptEntry), translate_errors("h"):
            raise raised.value
    async with ours.pipeline(transaction=False) as pipe:
        pipe.get("s").llen("h").hget("h", "a")
        replies = await pipe.execute(raise_on_error=False)
    assert replies[0] == b"text" and replies[2] == b"1"
    assert isinstance(replies[1], redis_errors.ResponseError)
    assert await ours.get("n") == b"42"  # the next command gets its own reply


async def test_single_command_errors_are_redis_py_classes(
    both: tuple[ReadOnlyRedis, Redis],
) -> None:
    """WRONGTYPE is a ResponseError, an unencodable argument a DataError, as in redis-py."""
    ours, _ = both
    with pytest.raises(redis_errors.ResponseError, match=r"^WRONGTYPE"):
        await ours.get("h")
    with pytest.raises(redis_errors.DataError):
        await ours.get(None)  # type: ignore[arg-type]
    assert await ours.get("s") == b"text"


async def test_empty_pipeline_sends_nothing(both: tuple[ReadOnlyRedis, Redis]) -> None:
    """execute() on an empty pipeline is [] without touching the pool."""
    ours, _ = both
    async with ours.pipeline() as pipe:
        assert await pipe.execute() == []
    assert ours.connection_pool.open_connections == 0


def test_the_client_has_no_write_command() -> None:
    """Writes cannot even be spelled: no set/hset/delete/... on the client or its pipeline."""
    writes = {"set", "hset", "delete", "expire", "lpush", "rpush", "publish", "flushall",
              "execute_command", "incr", "eval", "hdel", "mset"}  # fmt: skip
    from fullon_cache_api.backend._resp import Pipeline

    for cls in (ReadOnlyRedis, Pipeline):
        assert not writes & set(dir(cls)), cls
    with pytest.raises(ValueError, match="transaction"):
        ReadOnlyRedis(ConnectionPool(options_from_url("redis://localhost"))).pipeline(True)
