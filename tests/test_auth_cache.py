"""Verified JWTs are remembered until they expire, and never past it."""

from __future__ import annotations

import time

import jwt
import pytest

from fullon_cache_api._errors import Unauthenticated
from fullon_cache_api._settings import AuthConfig
from fullon_cache_api.security._auth import Authenticator

SECRET = "jwt-cache-test-secret-with-enough-length"


def scope_with(token: str) -> dict[str, object]:
    return {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}


def token(exp: float, secret: str = SECRET) -> str:
    return jwt.encode({"sub": "t@fullon.test", "user_id": 3, "exp": exp}, secret, "HS256")


def test_a_verified_token_is_not_verified_again() -> None:
    """The second request with a token returns the remembered identity (same object)."""
    auth = Authenticator(AuthConfig(jwt_secret_key=SECRET), None)
    bearer = token(time.time() + 600)
    first = auth.identify(scope_with(bearer))
    assert first is not None and first.uid == 3 and first.source == "jwt"
    assert auth.identify(scope_with(bearer)) is first


def test_a_remembered_token_expires_on_time() -> None:
    """Once past its exp, a token verified before is refused like any expired token."""
    auth = Authenticator(AuthConfig(jwt_secret_key=SECRET), None)
    exp = int(time.time()) + 1
    bearer = token(exp)
    assert auth.identify(scope_with(bearer)) is not None
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    with pytest.raises(Unauthenticated, match="ExpiredSignature"):
        auth.identify(scope_with(bearer))


def test_refused_tokens_are_not_remembered() -> None:
    """A token with a bad signature is refused every time (never cached)."""
    auth = Authenticator(AuthConfig(jwt_secret_key=SECRET), None)
    forged = token(time.time() + 600, secret="another-secret-of-enough-length-000")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="InvalidSignature"):
            auth.identify(scope_with(forged))


def test_first_credential_headers_win() -> None:
    """Authorization is read before X-API-Key; an empty Authorization counts as absent."""
    auth = Authenticator(AuthConfig(jwt_secret_key=SECRET), None)
    bearer = token(time.time() + 600)
    scope = {
        "type": "http",
        "headers": [(b"authorization", b""), (b"x-api-key", b"nope")],
    }
    with pytest.raises(Unauthenticated, match="unknown API key"):
        auth.identify(scope)
    scope["headers"] = [(b"x-api-key", b"nope"), (b"authorization", f"Bearer {bearer}".encode())]
    identity = auth.identify(scope)
    assert identity is not None and identity.source == "jwt"
