"""Connection set-up of our client: AUTH (ACL user, password), SELECT, CLIENT SETNAME, URLs, TLS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
import redis
from redis import exceptions as redis_errors

from fullon_cache_api import Settings
from fullon_cache_api.backend._redis import build_client
from fullon_cache_api.backend._resp import (
    ConnectionPool,
    Options,
    ReadOnlyRedis,
    options_from_url,
    ssl_context,
)
from fullon_cache_api.demo import RedisServer

pytestmark = pytest.mark.anyio

READ_ONLY = "-@all +@read +hello +auth +select +ping +info +client|setname"
ACL = f"user reader on >reader-pw ~* &* {READ_ONLY}"


@pytest.fixture(scope="module")
def secured() -> Iterator[RedisServer]:
    """A redis-server with a default-user password and a read-only ACL user."""
    with RedisServer(extra_config=["requirepass main-pw", ACL]) as server:
        with redis.Redis(port=server.port, password="main-pw") as admin:
            admin.set("k", "v")
            admin.select(3)
            admin.set("k", "in db 3")
        yield server


def client_for(options: Options) -> ReadOnlyRedis:
    """Our client over a pool of `options`."""
    return ReadOnlyRedis(ConnectionPool(options))


async def names_listed(port: int, password: str | None = None) -> list[str]:
    """The names of every client connected to the Redis on `port`."""
    with redis.Redis(port=port, password=password) as admin:
        return [entry.get("name", "") for entry in admin.client_list()]


async def test_acl_user_can_read(secured: RedisServer) -> None:
    """AUTH user pass with a read-only ACL user: reads work, named in CLIENT LIST."""
    url = f"redis://reader:reader-pw@127.0.0.1:{secured.port}/0"
    client = client_for(options_from_url(url, client_name="fullon_cache_api"))
    try:
        assert await client.get("k") == b"v"
        assert "fullon_cache_api" in await names_listed(secured.port, "main-pw")
    finally:
        await client.aclose()


async def test_password_and_select(secured: RedisServer) -> None:
    """AUTH pass (default user) and SELECT 3 from the URL path: db 3's value is read."""
    client = client_for(options_from_url(f"redis://:main-pw@127.0.0.1:{secured.port}/3"))
    try:
        assert await client.get("k") == b"in db 3"
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "redis://reader:wrong@127.0.0.1:{port}/0",
        "redis://:wrong@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0",  # no credentials at all: NOAUTH on the first command
    ],
)
async def test_bad_credentials_are_authentication_errors(secured: RedisServer, url: str) -> None:
    """A wrong password (or none) is redis-py's AuthenticationError, and nothing leaks."""
    client = client_for(options_from_url(url.format(port=secured.port)))
    try:
        with pytest.raises(redis_errors.AuthenticationError):
            await client.get("k")
    finally:
        await client.aclose()
    assert client.connection_pool.open_connections <= 1


async def test_settings_credentials_and_db_without_url(secured: RedisServer) -> None:
    """build_client with REDIS_HOST/PORT/DB/USERNAME/PASSWORD: our client, set up from them."""
    settings = Settings(
        redis_host="127.0.0.1", redis_port=secured.port, redis_db=3, redis_password="main-pw"
    )
    client = build_client(settings)
    assert isinstance(client, ReadOnlyRedis)
    try:
        assert await client.get("k") == b"in db 3"
        assert "fullon_cache_api" in await names_listed(secured.port, "main-pw")
    finally:
        await client.aclose()


async def test_refused_connection_is_connection_error() -> None:
    """Nothing listening: redis-py's ConnectionError (the gateway answers 503)."""
    from fullon_cache_api.demo.server import free_port

    client = client_for(options_from_url(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with pytest.raises(redis_errors.ConnectionError, match="connecting to"):
            await client.ping()
    finally:
        await client.aclose()
    assert client.connection_pool.open_connections == 0


def test_url_options() -> None:
    """URLs read like redis-py's from_url: credentials, db, timeouts, unix sockets."""
    options = options_from_url(
        "redis://us%40er:p%3Ass@h:7000/2?socket_timeout=1.5&socket_connect_timeout=3",
        client_name="n",
        socket_timeout=9.0,
    )
    assert (options.host, options.port, options.db) == ("h", 7000, 2)
    assert (options.username, options.password) == ("us@er", "p:ss")
    assert (options.socket_timeout, options.connect_timeout, options.client_name) == (1.5, 3, "n")
    unix = options_from_url("unix:///tmp/redis.sock?db=4", password="pw")
    assert (unix.path, unix.db, unix.password, unix.ssl) == ("/tmp/redis.sock", 4, "pw", None)
    assert options_from_url("redis://h", db=5).db == 5  # the URL says nothing: defaults apply
    with pytest.raises(ValueError, match="unsupported"):
        options_from_url("redis://h?health_check_interval=3")
    with pytest.raises(ValueError, match="rediss"):
        options_from_url("redis://h?ssl_cert_reqs=none")


def test_ssl_context_options(tmp_path: Path) -> None:
    """rediss:// builds a verifying context by default; none/required and a CA file honoured."""
    default = options_from_url("rediss://h:6380/0").ssl
    assert default is not None
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    loose = options_from_url("rediss://h/0?ssl_cert_reqs=none").ssl
    assert loose is not None
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    no_host = options_from_url("rediss://h/0?ssl_check_hostname=false").ssl
    assert no_host is not None and not no_host.check_hostname
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        ssl_context(cert_reqs="sometimes")
    with pytest.raises(ValueError, match="ssl_ca_certs cannot be loaded: No such file"):
        options_from_url(f"rediss://h/0?ssl_ca_certs={tmp_path / 'missing.pem'}")


async def test_unix_socket(tmp_path: Path) -> None:
    """unix:// connects through the server's Unix socket."""
    sock = tmp_path / "redis.sock"
    with RedisServer(extra_config=[f"unixsocket {sock}", "unixsocketperm 700"]) as server:
        with redis.Redis(port=server.port) as admin:
            admin.set("k", "over unix")
        client = client_for(options_from_url(f"unix://{sock}?db=0"))
        try:
            assert await client.get("k") == b"over unix"
        finally:
            await client.aclose()


# -- TLS: the bundled redis-server is built without TLS, so a TLS terminator fronts it -------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 (made with the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@asynccontextmanager
async def tls_terminator(target_port: int, cert: Path, key: Path) -> AsyncIterator[int]:
    """A loopback TLS server forwarding plaintext to Redis (a TLS-enabled Redis's stand-in)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tasks: set[asyncio.Task[None]] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", target_port)
        for task in (pump(reader, upstream_w), pump(upstream_r, writer)):
            tasks.add(asyncio.create_task(task))

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def test_tls_with_ca_file(flushed: RedisServer, certificate: tuple[Path, Path]) -> None:
    """rediss:// with ssl_ca_certs verifies the server and reads through TLS."""
    cert, key = certificate
    with redis.Redis(port=flushed.port) as admin:
        admin.set("k", "over tls")
    async with tls_terminator(flushed.port, cert, key) as port:
        for host in ("localhost", "127.0.0.1"):
            url = f"rediss://{host}:{port}/0?ssl_ca_certs={cert}"
            client = client_for(options_from_url(url, client_name="fullon_cache_api"))
            try:
                assert await client.get("k") == b"over tls"
            finally:
                await client.aclose()


async def test_tls_verification_failure_and_cert_reqs_none(
    flushed: RedisServer, certificate: tuple[Path, Path]
) -> None:
    """An unknown CA is a ConnectionError when required; ssl_cert_reqs=none accepts it."""
    cert, key = certificate
    async with tls_terminator(flushed.port, cert, key) as port:
        strict = client_for(options_from_url(f"rediss://localhost:{port}/0"))
        try:
            with pytest.raises(redis_errors.ConnectionError):
                await strict.ping()
        finally:
            await strict.aclose()
        loose = client_for(options_from_url(f"rediss://localhost:{port}/0?ssl_cert_reqs=none"))
        try:
            assert await loose.ping() is True
        finally:
            await loose.aclose()


def test_options_repr_never_shows_the_password() -> None:
    """Options parsed from a URL with credentials keep the password out of their repr."""
    options = options_from_url("redis://reader:s3cret-pw@127.0.0.1:6379/0")
    assert options.password == "s3cret-pw"
    assert "s3cret-pw" not in repr(options)
