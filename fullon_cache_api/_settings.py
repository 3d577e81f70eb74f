"""Gateway settings: one frozen Struct, read from the environment only by `Settings.from_env()`.

The variable names are fullon_cache's own (``REDIS_HOST``, ``REDIS_PORT``, ...), so an existing
fullon ``.env`` works unchanged; ``REDIS_URL`` and ``REDIS_USERNAME`` are our additions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import msgspec

__all__ = ["ApiKey", "AuthConfig", "Settings", "SettingsError"]

_T = TypeVar("_T")


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use; the message names the variable."""


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A service key: its name, the SHA-256 hex digest of the key, and whether it is admin."""

    name: str
    sha256: str
    admin: bool = False


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Authentication settings; `enabled` is True unless explicitly turned off."""

    enabled: bool = True
    jwt_secret_key: str | None = None
    jwt_algorithm: str = "HS256"
    admin_mail: str | None = None
    api_keys: tuple[ApiKey, ...] = ()
    ownership_ttl: float = 30.0

    def __repr__(self) -> str:
        return (
            f"AuthConfig(enabled={self.enabled}, jwt={'set' if self.jwt_secret_key else 'unset'},"
            f" admin_mail={self.admin_mail!r}, api_keys={[k.name for k in self.api_keys]})"
        )


_JWT_ALGORITHMS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """How the gateway reaches Redis."""

    redis_url: str | None = None
    redis_host: str = "localhost"
    redis_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 6379
    redis_db: Annotated[int, msgspec.Meta(ge=0)] = 0
    redis_username: str | None = None
    redis_password: str | None = None
    redis_socket_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    redis_max_connections: Annotated[int, msgspec.Meta(ge=1)] = 50
    auth: AuthConfig = AuthConfig()

    def __post_init__(self) -> None:
        if self.redis_url is not None:
            _check_url(self.redis_url, "redis_url")

    def __repr__(self) -> str:
        # Never show the password, neither the field nor one embedded in the URL.
        return (
            f"Settings(redis={self.redacted_target()!r}, db={self.redis_db}, "
            f"username={self.redis_username!r}, socket_timeout={self.redis_socket_timeout}, "
            f"max_connections={self.redis_max_connections}, auth={self.auth!r})"
        )

    __str__ = __repr__

    def redacted_target(self) -> str:
        """The Redis address, safe to log: no password."""
        if self.redis_url is None:
            return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"
        parts = urlsplit(self.redis_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `environ` (default: ``os.environ``); invalid values raise."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "redis_url": _read(env, "REDIS_URL", str),
            "redis_host": _read(env, "REDIS_HOST", str),
            "redis_port": _read(env, "REDIS_PORT", _port),
            "redis_db": _read(env, "REDIS_DB", _non_negative_int),
            "redis_username": _read(env, "REDIS_USERNAME", str),
            "redis_password": _read(env, "REDIS_PASSWORD", str),
            "redis_socket_timeout": _read(env, "REDIS_SOCKET_TIMEOUT", _positive_float),
            "redis_max_connections": _read(env, "REDIS_MAX_CONNECTIONS", _positive_int),
        }
        if values["redis_url"] is not None:
            _check_url(values["redis_url"], "REDIS_URL")
        given = {name: value for name, value in values.items() if value is not None}
        return cls(**given, auth=_auth_from_env(env))


def _auth_from_env(env: Mapping[str, str]) -> AuthConfig:
    values: dict[str, Any] = {
        "enabled": _read(env, "FULLON_CACHE_API_AUTH", _on_off),
        "jwt_secret_key": _read(env, "JWT_SECRET_KEY", str),
        "jwt_algorithm": _read(env, "JWT_ALGORITHM", _jwt_algorithm),
        "admin_mail": _read(env, "ADMIN_MAIL", str),
        "api_keys": _read(env, "FULLON_CACHE_API_KEYS", _api_keys),
    }
    return AuthConfig(**{name: value for name, value in values.items() if value is not None})


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], _T]) -> _T | None:
    """Parse one variable; empty means unset (as in fullon_cache, which ignores empty values)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={_shown(name, raw)!r} is invalid: {exc}") from None


def _shown(name: str, raw: str) -> str:
    secret = any(word in name for word in ("PASSWORD", "SECRET", "KEYS"))
    return "***" if secret else raw


def _on_off(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"on", "true", "1", "yes"}:
        return True
    if lowered in {"off", "false", "0", "no"}:
        return False
    raise ValueError("expected on or off")


def _jwt_algorithm(raw: str) -> str:
    if raw not in _JWT_ALGORITHMS:
        raise ValueError(f"expected one of {', '.join(sorted(_JWT_ALGORITHMS))}")
    return raw


def _api_keys(raw: str) -> tuple[ApiKey, ...]:
    """``name:sha256hex[:admin]`` entries, comma-separated; plaintext keys are refused."""
    keys = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, rest = entry.partition(":")
        digest, _, flag = rest.partition(":")
        if not name or not re.fullmatch(r"[0-9a-f]{64}", digest) or flag not in {"", "admin"}:
            raise ValueError(
                f"entry {name or entry[:12]!r} must be name:<sha256 hex of the key>[:admin]"
            )
        keys.append(ApiKey(name=name, sha256=digest, admin=flag == "admin"))
    return tuple(keys)


def _port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("expected an integer from 1 to 65535")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected an integer >= 0")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected an integer >= 1")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number of seconds > 0")
    return value


def _check_url(url: str, name: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(
            f"{name} must start with redis://, rediss:// or unix:// (got {scheme!r})"
        )
