"""No secret in any log line: an authenticated crawl of the whole surface, every record checked.

Credentials travel every way the gateway accepts them (JWT, API key, ``?token=``), valid and
invalid, against a Redis that requires a password; then each captured record (message, extra
fields, formatted traceback) is searched for every secret and every JWT segment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
import redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.security._auth import hash_api_key

from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

REDIS_PASSWORD = "redis-pw-Qx81-never-logged"
WRONG_REDIS_PASSWORD = "wrong-redis-pw-Lk42"
JWT_SECRET = "jwt-secret-Hs256-never-logged-0123456789"
ADMIN_KEY = "admin-key-Zz91-never-logged"
SERVICE_KEY = "service-key-Yy72-never-logged"
UNKNOWN_KEY = "unknown-key-Ww53-never-logged"


def token(sub: str, user_id: int, exp_in: float = 600, secret: str = JWT_SECRET) -> str:
    claims = {"sub": sub, "user_id": user_id, "exp": int(time.time() + exp_in)}
    return jwt.encode(claims, secret, algorithm="HS256")


ADMIN_JWT = token("root@fullon.test", 1)
USER_JWT = token("user@fullon.test", 7)
EXPIRED_JWT = token("user@fullon.test", 7, exp_in=-60)
FORGED_JWT = token("root@fullon.test", 1, secret="forged-secret-Mm64-never-logged-000000")

# Header-borne and query-borne credentials, valid and not.
HEADERS = [
    {"authorization": f"Bearer {ADMIN_JWT}"},
    {"authorization": f"Bearer {USER_JWT}"},
    {"authorization": f"Bearer {EXPIRED_JWT}"},
    {"authorization": f"Bearer {FORGED_JWT}"},
    {"x-api-key": ADMIN_KEY},
    {"x-api-key": SERVICE_KEY},
    {"x-api-key": UNKNOWN_KEY},
]
QUERY_TOKENS = [ADMIN_JWT, USER_JWT, FORGED_JWT, ADMIN_KEY, UNKNOWN_KEY]


def secrets() -> list[str]:
    """Every secret, and each payload and signature segment of every JWT."""
    plain = [
        REDIS_PASSWORD,
        WRONG_REDIS_PASSWORD,
        JWT_SECRET,
        ADMIN_KEY,
        SERVICE_KEY,
        UNKNOWN_KEY,
        "forged-secret-Mm64",
    ]
    tokens = (ADMIN_JWT, USER_JWT, EXPIRED_JWT, FORGED_JWT)
    segments = [part for token_ in tokens for part in token_.split(".")[1:]]
    return [*plain, *segments]


@pytest.fixture(scope="module")
def locked_server() -> Iterator[RedisServer]:
    """A redis-server that requires a password."""
    with RedisServer(extra_config=[f"requirepass {REDIS_PASSWORD}"]) as server:
        yield server


def gateway_settings(server: RedisServer, password: str) -> Settings:
    keys = (
        ApiKey(name="ops", sha256=hash_api_key(ADMIN_KEY), admin=True),
        ApiKey(name="svc", sha256=hash_api_key(SERVICE_KEY), admin=False),
    )
    auth = AuthConfig(jwt_secret_key=JWT_SECRET, admin_mail="root@fullon.test", api_keys=keys)
    # The password travels both ways a deployment may give it: field and URL.
    url = f"redis://:{password}@127.0.0.1:{server.port}/0"
    return Settings(redis_url=url, redis_password=password, redis_socket_timeout=2.0, auth=auth)


async def crawl(app: Starlette) -> int:
    """Every sample path with every credential; returns how many requests were made."""
    made = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as h:
        for path in SAMPLES.values():
            for headers in HEADERS:
                await h.get(path, headers=headers)
                made += 1
            for value in QUERY_TOKENS:
                await h.get(path, params={"token": value})
                made += 1
    return made


# A secret leaks when any WINDOW consecutive characters of it show (a truncated token counts).
WINDOW = 10


def leaks(records: list[logging.LogRecord]) -> list[str]:
    """Every (logger, text) where a piece of a secret shows in a record, in any of its fields."""
    pieces = {s[i : i + WINDOW] for s in secrets() for i in range(len(s) - WINDOW + 1)}
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    found = []
    for record in records:
        # httpx/httpcore are the test client's own loggers (they print the URL it requests).
        if record.name.startswith(("httpx", "httpcore")):
            continue
        text = formatter.format(record) + repr(vars(record))
        windows = {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)}
        found += [f"{record.name}: {piece!r}" for piece in sorted(windows & pieces)[:1]]
    return found


@pytest.mark.slow
async def test_authenticated_crawl_logs_no_secret(
    locked_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A crawl with every kind of credential, good and bad, logs no token, key or password."""
    admin = redis.asyncio.Redis(port=locked_server.port, password=REDIS_PASSWORD)
    await admin.flushall()
    await seed_surface(CacheWriter(admin))
    await admin.aclose()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="fullon")
    made = 0
    for password in (REDIS_PASSWORD, WRONG_REDIS_PASSWORD):  # served, then 503s
        app = create_app(settings=gateway_settings(locked_server, password))
        async with app.router.lifespan_context(app):
            made += await crawl(app)
    logged = [r for r in caplog.records if r.name.startswith("fullon.api.cache")]
    assert len(logged) >= made  # one line per request at least: the crawl was logged
    assert {getattr(r, "status", None) for r in logged} >= {200, 401, 503}
    assert leaks(caplog.records) == []


def test_settings_repr_hides_secrets(locked_server: RedisServer) -> None:
    """Settings, as a host would log them, show neither password nor JWT secret."""
    settings = gateway_settings(locked_server, REDIS_PASSWORD)
    shown = repr(settings) + str(settings) + repr(settings.auth)
    assert REDIS_PASSWORD not in shown and JWT_SECRET not in shown
