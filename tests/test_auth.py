"""Authentication: identity sources in order, 401 problems, public routes, auth off."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from typing import Any

import jwt
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from fullon_cache_api import Settings
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import hash_api_key

from .support.apps import AppBuilder, caller, get

pytestmark = pytest.mark.anyio

SECRET = "jwt-test-secret-with-enough-length-for-hs256"
ADMIN_MAIL = "admin@fullon.test"


def token(
    sub: str = "trader@fullon.test", user_id: Any = 7, exp_in: float = 600.0, **extra: Any
) -> str:
    claims = {"sub": sub, "user_id": user_id, "exp": int(time.time() + exp_in), **extra}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    keys = (
        ApiKey(name="svc", sha256=hash_api_key("svc-key"), admin=False),
        ApiKey(name="ops", sha256=hash_api_key("ops-key"), admin=True),
    )
    config = AuthConfig(jwt_secret_key=SECRET, admin_mail=ADMIN_MAIL, api_keys=keys)
    return Settings(redis_url=settings.redis_url, auth=config)


async def test_no_identity_is_401_problem(make_app: AppBuilder, auth_settings: Settings) -> None:
    """Without credentials a data route answers 401, problem body, WWW-Authenticate: Bearer."""
    response = await get(make_app(settings=auth_settings), "/tickers")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Not authenticated"


async def test_health_is_public(make_app: AppBuilder, auth_settings: Settings) -> None:
    """/health answers without identity (liveness)."""
    response = await get(make_app(settings=auth_settings), "/health")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("header", "value", "identity"),
    [
        ("authorization", "Bearer " + token(), ("7", False)),
        ("authorization", "Bearer " + token(sub=ADMIN_MAIL, user_id=1), ("1", True)),
        ("x-api-key", "svc-key", (None, False)),
        ("x-api-key", "ops-key", (None, True)),
    ],
    ids=["jwt", "admin-mail-jwt", "api-key", "admin-api-key"],
)
async def test_jwt_and_api_key_authenticate(
    make_app: AppBuilder,
    auth_settings: Settings,
    header: str,
    value: str,
    identity: tuple[str | None, bool],
) -> None:
    """A valid JWT or API key opens market data, as the identity it names: the token's user id
    (an admin when its sub is ADMIN_MAIL), or the key's service (an admin key: admin)."""
    app = make_app(settings=auth_settings)
    response = await get(app, "/tickers", **{header: value})
    assert response.status_code == 200
    assert await caller(app, **{header: value}) == identity


@pytest.mark.parametrize(
    "value",
    [
        "Bearer " + token(exp_in=-60),
        "Bearer " + jwt.encode({"sub": "a@b", "user_id": 1, "exp": 2**40}, "wrong-secret-" * 4),
        "Bearer " + token(user_id="7"),
        "Bearer " + jwt.encode({"sub": "a@b", "exp": 2**40}, SECRET, algorithm="HS256"),
        "Bearer not.a.jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_bad_bearer_is_401(make_app: AppBuilder, auth_settings: Settings, value: str) -> None:
    """Expired, wrongly signed, malformed or claim-less tokens are refused."""
    response = await get(make_app(settings=auth_settings), "/tickers", authorization=value)
    assert response.status_code == 401


async def test_unknown_api_key_is_401(make_app: AppBuilder, auth_settings: Settings) -> None:
    """An API key whose hash is not configured is refused."""
    response = await get(make_app(settings=auth_settings), "/tickers", **{"x-api-key": "nope"})
    assert response.status_code == 401


async def test_jwt_refused_without_secret(make_app: AppBuilder, settings: Settings) -> None:
    """With no JWT_SECRET_KEY configured a bearer token cannot authenticate."""
    response = await get(make_app(settings=settings), "/tickers", authorization="Bearer " + token())
    assert response.status_code == 401


async def test_host_user_is_trusted_first(
    make_app: AppBuilder, auth_settings: Settings, writer: CacheWriter
) -> None:
    """A user the host put in scope['state'] authenticates, even beside a bad header."""
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0, "used": 0.0, "total": 1.0}})
    cache_app = make_app(settings=auth_settings)

    async def host(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["user"] = SimpleNamespace(
                uid=1, mail=ADMIN_MAIL, name="A"
            )
        await mounted(scope, receive, send)

    mounted = Starlette(routes=[Mount("/api/v1/cache", cache_app)])
    response = await get(host, "/api/v1/cache/accounts/1", authorization="Bearer junk")
    assert response.status_code == 200
    assert await caller(host, "/api/v1/cache", authorization="Bearer junk") == ("1", True)


async def test_auth_off_warns_once(
    make_app: AppBuilder, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """auth=False serves without identity and warns at the first request only."""
    app = make_app(settings=settings, auth=False)
    with caplog.at_level(logging.WARNING, logger="fullon.api.cache.auth"):
        assert (await get(app, "/tickers")).status_code == 200
        assert (await get(app, "/tickers")).status_code == 200
    warnings = [r for r in caplog.records if r.name == "fullon.api.cache.auth"]
    assert len(warnings) == 1 and "OFF" in warnings[0].getMessage()


def test_env_turns_auth_off_and_reads_keys() -> None:
    """FULLON_CACHE_API_AUTH=off and FULLON_CACHE_API_KEYS are read by Settings.from_env."""
    digest = hash_api_key("k")
    settings = Settings.from_env(
        {"FULLON_CACHE_API_AUTH": "off", "FULLON_CACHE_API_KEYS": f"svc:{digest}:admin"}
    )
    assert settings.auth.enabled is False
    assert settings.auth.api_keys == (ApiKey(name="svc", sha256=digest, admin=True),)
    assert Settings.from_env({}).auth.enabled is True


def test_plaintext_api_key_in_config_is_refused() -> None:
    """Configured keys must be SHA-256 digests, never the key itself."""
    from fullon_cache_api import SettingsError

    with pytest.raises(SettingsError, match="FULLON_CACHE_API_KEYS"):
        Settings.from_env({"FULLON_CACHE_API_KEYS": "svc:my-plain-key"})


DOCS_PATHS = ("/docs", "/redoc", "/docs/assets/swagger-ui.css", "/openapi.json")


@pytest.mark.parametrize("path", DOCS_PATHS)
async def test_docs_are_public_by_default(
    make_app: AppBuilder, auth_settings: Settings, path: str
) -> None:
    """The docs pages, their assets and the OpenAPI document answer without identity."""
    assert auth_settings.auth.public_docs is True
    response = await get(make_app(settings=auth_settings), path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", DOCS_PATHS)
async def test_private_docs_need_identity(
    make_app: AppBuilder, auth_settings: Settings, path: str
) -> None:
    """public_docs=False: the docs answer 401 like a data route, and 200 with an identity;
    /health stays public (liveness)."""
    config = msgspec.structs.replace(auth_settings.auth, public_docs=False)
    app = make_app(settings=msgspec.structs.replace(auth_settings, auth=config))
    refused = await get(app, path)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await get(app, path, **{"x-api-key": "svc-key"})).status_code == 200
    assert (await get(app, "/health")).json() == {"status": "ok"}


def test_env_makes_docs_private() -> None:
    """FULLON_CACHE_API_PUBLIC_DOCS=false lands in the settings; unset means public."""
    assert Settings.from_env({"FULLON_CACHE_API_PUBLIC_DOCS": "false"}).auth.public_docs is False
    assert Settings.from_env({"FULLON_CACHE_API_PUBLIC_DOCS": "on"}).auth.public_docs is True
    assert Settings.from_env({}).auth.public_docs is True


LONG_SECRET = "jwt-test-secret-long-enough-for-hs512-" * 2  # HS512 wants >= 64 bytes


def signed(algorithm: str, secret: str = LONG_SECRET) -> str:
    claims = {"sub": "trader@fullon.test", "user_id": 7, "exp": int(time.time() + 600)}
    return "Bearer " + jwt.encode(claims, secret, algorithm=algorithm)


def hs512_settings(settings: Settings) -> Settings:
    """Settings as JWT_SECRET_KEY + JWT_ALGORITHM=HS512 give them."""
    auth = Settings.from_env({"JWT_SECRET_KEY": LONG_SECRET, "JWT_ALGORITHM": "HS512"}).auth
    return Settings(redis_url=settings.redis_url, auth=auth)


async def test_configured_algorithm_is_accepted(make_app: AppBuilder, settings: Settings) -> None:
    """JWT_ALGORITHM=HS512: a token signed with HS512 authenticates."""
    app = make_app(settings=hs512_settings(settings))
    response = await get(app, "/tickers", authorization=signed("HS512"))
    assert response.status_code == 200
    assert await caller(app, authorization=signed("HS512")) == ("7", False)


@pytest.mark.parametrize("algorithm", ["HS256", "HS384"])
async def test_other_algorithm_is_refused(
    make_app: AppBuilder, settings: Settings, algorithm: str
) -> None:
    """JWT_ALGORITHM=HS512: a token signed with the same secret but another algorithm is
    401 (no algorithm confusion)."""
    app = make_app(settings=hs512_settings(settings))
    response = await get(app, "/tickers", authorization=signed(algorithm))
    assert response.status_code == 401
    assert "InvalidAlgorithmError" in response.json()["detail"]


async def test_default_algorithm_refuses_hs512(make_app: AppBuilder, settings: Settings) -> None:
    """Unset JWT_ALGORITHM means HS256 only: an HS512 token is 401."""
    auth = Settings.from_env({"JWT_SECRET_KEY": LONG_SECRET}).auth
    app = make_app(settings=Settings(redis_url=settings.redis_url, auth=auth))
    assert (await get(app, "/tickers", authorization=signed("HS256"))).status_code == 200
    assert await caller(app, authorization=signed("HS256")) == ("7", False)
    assert (await get(app, "/tickers", authorization=signed("HS512"))).status_code == 401


async def test_unsigned_token_is_refused(make_app: AppBuilder, auth_settings: Settings) -> None:
    """A token with alg "none" (no signature) never authenticates."""
    claims = {"sub": ADMIN_MAIL, "user_id": 1, "exp": int(time.time() + 600)}
    unsigned = jwt.encode(claims, None, algorithm="none")
    response = await get(
        make_app(settings=auth_settings), "/tickers", authorization=f"Bearer {unsigned}"
    )
    assert response.status_code == 401


@pytest.mark.parametrize("value", ["none", "None", "RS256", "ES256", "HS1024", "sha256"])
def test_unsupported_algorithm_is_a_settings_error(value: str) -> None:
    """JWT_ALGORITHM must be an HMAC algorithm (the key is a shared secret); "none" and
    asymmetric algorithms are a SettingsError naming the variable."""
    from fullon_cache_api import SettingsError

    with pytest.raises(SettingsError, match="JWT_ALGORITHM"):
        Settings.from_env({"JWT_SECRET_KEY": LONG_SECRET, "JWT_ALGORITHM": value})
    with pytest.raises(SettingsError, match="jwt_algorithm"):
        AuthConfig(jwt_secret_key=LONG_SECRET, jwt_algorithm=value)
