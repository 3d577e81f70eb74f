"""Gateway settings: one frozen Struct, read from the environment only by `Settings.from_env()`.

The variable names are fullon_cache's own (``REDIS_HOST``, ``REDIS_PORT``, ...), so an existing
fullon ``.env`` works unchanged; ``REDIS_URL`` and ``REDIS_USERNAME`` are our additions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import msgspec

__all__ = ["Settings", "SettingsError"]

_T = TypeVar("_T")


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use; the message names the variable."""


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

    def __post_init__(self) -> None:
        if self.redis_url is not None:
            _check_url(self.redis_url, "redis_url")

    def __repr__(self) -> str:
        # Never show the password, neither the field nor one embedded in the URL.
        return (
            f"Settings(redis={self.redacted_target()!r}, db={self.redis_db}, "
            f"username={self.redis_username!r}, socket_timeout={self.redis_socket_timeout}, "
            f"max_connections={self.redis_max_connections})"
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
        values = {
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
        return cls(**{name: value for name, value in values.items() if value is not None})


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
    return "***" if "PASSWORD" in name else raw


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
        raise SettingsError(f"{name} must start with redis://, rediss:// or unix:// (got {scheme!r})")
