"""``fullon-cache-api token``: a JWT for standalone use and the docs' curl examples.

The token has the claims the gateway checks (and the fullon master issues): ``user_id``,
``sub`` (the mail), ``exp``, plus ``iat``; it is signed with ``JWT_SECRET_KEY`` using
``JWT_ALGORITHM`` (HS256 by default), so a gateway with the same environment accepts it. It is
printed on stdout and nowhere else.
"""

from __future__ import annotations

import time

import jwt

from .._settings import AuthConfig, SettingsError

__all__ = ["MAX_TTL", "make_token"]

MAX_TTL = 366 * 86400  # a year: longer-lived credentials should be API keys


def make_token(user_id: int, mail: str, ttl: int, auth: AuthConfig | None = None) -> str:
    """A JWT for `user_id` / `mail`, valid `ttl` seconds; SettingsError without a secret."""
    config = auth if auth is not None else AuthConfig.from_env()
    if not config.jwt_secret_key:
        raise SettingsError(
            "JWT_SECRET_KEY is not set: tokens are signed with it, and the gateway checks "
            "them with the same secret (set it in both environments)"
        )
    now = int(time.time())
    claims = {"sub": mail, "user_id": user_id, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, config.jwt_secret_key, algorithm=config.jwt_algorithm)
