"""Gateway settings: one frozen Struct, read from the environment only by `Settings.from_env()`.

The variable names are fullon_cache's own (``REDIS_HOST``, ``REDIS_PORT``, ...), so an existing
fullon ``.env`` works unchanged; ``REDIS_URL`` and ``REDIS_USERNAME`` are our additions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec

from ._redis_url import options_from_url

__all__ = ["ApiKey", "AuthConfig", "Settings", "SettingsError"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use; the message names the variable."""


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A service key: its name, the SHA-256 hex digest of the key, whether it is admin, and
    whether it may read the tenant-wide operational figures (`operations`, flag ``:ops``)."""

    name: str
    sha256: str
    admin: bool = False
    operations: bool = False


# JWTs are checked with JWT_SECRET_KEY, a shared secret: only the HMAC algorithms use one.
# Never "none" (an unsigned token), nor an asymmetric one (it would need a public key).
_JWT_ALGORITHMS = ("HS256", "HS384", "HS512")


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Authentication settings; `enabled` is True unless explicitly turned off.

    `public_docs`: the docs pages, their assets and the OpenAPI document answer without
    identity (the default); False makes them require one, like the data routes.
    """

    enabled: bool = True
    jwt_secret_key: str | None = None
    jwt_algorithm: str = "HS256"
    admin_mail: str | None = None
    api_keys: tuple[ApiKey, ...] = ()
    ownership_ttl: float = 30.0
    public_docs: bool = True

    def __post_init__(self) -> None:
        if self.jwt_algorithm not in _JWT_ALGORITHMS:  # a config built in code, not from env
            raise SettingsError(
                f"jwt_algorithm={self.jwt_algorithm!r} is invalid: {_JWT_ALGORITHM_EXPECTED}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthConfig:
        """Read the authentication variables alone (``JWT_*``, ``ADMIN_MAIL``, ...)."""
        return _auth_from_env(os.environ if environ is None else environ)

    def __repr__(self) -> str:
        return (
            f"AuthConfig(enabled={self.enabled}, jwt={'set' if self.jwt_secret_key else 'unset'},"
            f" jwt_algorithm={self.jwt_algorithm}, admin_mail={self.admin_mail!r},"
            f" api_keys={[k.name for k in self.api_keys]}, public_docs={self.public_docs})"
        )


_JWT_ALGORITHM_EXPECTED = f"expected one of {', '.join(_JWT_ALGORITHMS)} (HMAC with JWT_SECRET_KEY)"


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
    # Scale-out: a read replica, or Sentinel (the primary's, or the replicas', address comes
    # from the sentinels; REDIS_URL / REDIS_HOST / REDIS_PORT are then not used).
    redis_read_url: str | None = None
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None
    redis_sentinel_read: Literal["primary", "replica"] = "primary"
    redis_sentinel_password: str | None = None
    # Near cache: hot keys served from memory, invalidated by Redis; the max age of an entry
    # in seconds (bounds staleness if an invalidation is lost); 0 turns it off.
    near_cache_ttl: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    # Bounds of every read (see `data._limits`): entries per Redis reply, the largest stored
    # value decoded, the seconds a whole-key read may take before answering what it has.
    read_chunk: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_value_bytes: Annotated[int, msgspec.Meta(ge=1)] = 1024 * 1024
    read_budget: Annotated[float, msgspec.Meta(gt=0)] = 0.9
    auth: AuthConfig = AuthConfig()

    def __post_init__(self) -> None:
        if self.redis_url is not None:
            _check_url(self.redis_url, "redis_url")
        _check_topology(msgspec.structs.asdict(self), str)

    def __repr__(self) -> str:
        # Never show the password, neither the field nor one embedded in the URL.
        return (
            f"Settings(redis={self.redacted_target()!r}, db={self.redis_db}, "
            f"username={self.redis_username!r}, socket_timeout={self.redis_socket_timeout}, "
            f"max_connections={self.redis_max_connections}, auth={self.auth!r})"
        )

    __str__ = __repr__

    def redacted_target(self) -> str:
        """The Redis the gateway reads from, safe to log: no password."""
        if self.redis_sentinels:
            nodes = ",".join(_host_port(host, port) for host, port in self.redis_sentinels)
            return (
                f"sentinel://{nodes}/{self.redis_sentinel_master}"
                f" ({self.redis_sentinel_read}, db {self.redis_db})"
            )
        if self.redis_read_url is not None:
            return f"{_redacted_url(self.redis_read_url)} (read replica)"
        if self.redis_url is None:
            return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"
        return _redacted_url(self.redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `environ` (default: ``os.environ``); invalid values raise."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "redis_url": _read(env, "REDIS_URL", str),
            "redis_host": _read(env, "REDIS_HOST", _host),
            "redis_port": _read(env, "REDIS_PORT", _port),
            "redis_db": _read(env, "REDIS_DB", _non_negative_int),
            "redis_username": _read(env, "REDIS_USERNAME", str),
            "redis_password": _read(env, "REDIS_PASSWORD", str),
            "redis_socket_timeout": _read(env, "REDIS_SOCKET_TIMEOUT", _positive_float),
            "redis_max_connections": _read(env, "REDIS_MAX_CONNECTIONS", _positive_int),
            "redis_read_url": _read(env, "REDIS_READ_URL", str),
            "redis_sentinels": _read(env, "REDIS_SENTINELS", _sentinels),
            "redis_sentinel_master": _read(env, "REDIS_SENTINEL_MASTER", str),
            "redis_sentinel_read": _read(env, "REDIS_SENTINEL_READ", _sentinel_read),
            "redis_sentinel_password": _read(env, "REDIS_SENTINEL_PASSWORD", str),
            "near_cache_ttl": _read(env, "FULLON_CACHE_API_NEAR_CACHE_TTL", _seconds_or_zero),
            "read_chunk": _read(env, "FULLON_CACHE_API_READ_CHUNK", _positive_int),
            "max_value_bytes": _read(env, "FULLON_CACHE_API_MAX_VALUE_BYTES", _positive_int),
            "read_budget": _read(env, "FULLON_CACHE_API_READ_BUDGET", _positive_float),
        }
        if values["redis_url"] is not None:
            _check_url(values["redis_url"], "REDIS_URL")
        _check_topology(values, str.upper)  # errors name the variables, not the fields
        given = {name: value for name, value in values.items() if value is not None}
        return cls(**given, auth=_auth_from_env(env))


def _auth_from_env(env: Mapping[str, str]) -> AuthConfig:
    values: dict[str, Any] = {
        "enabled": _read(env, "FULLON_CACHE_API_AUTH", _on_off),
        "jwt_secret_key": _read(env, "JWT_SECRET_KEY", str),
        "jwt_algorithm": _read(env, "JWT_ALGORITHM", _jwt_algorithm),
        "admin_mail": _read(env, "ADMIN_MAIL", str),
        "api_keys": _read(env, "FULLON_CACHE_API_KEYS", _api_keys),
        "public_docs": _read(env, "FULLON_CACHE_API_PUBLIC_DOCS", _on_off),
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


def struct_from_env(
    cls: type[_S], variables: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> _S:
    """`cls` from the `variables` (environment variable -> field) set in `environ` (default
    ``os.environ``), converted by msgspec; an invalid value raises `SettingsError` naming the
    variable (one line)."""
    env = os.environ if environ is None else environ
    given: dict[str, Any] = {
        field: value for name, field in variables.items() if (value := _read(env, name, str))
    }
    try:
        return msgspec.convert(given, cls, strict=False)
    except msgspec.ValidationError as exc:
        if " - at `$." not in str(exc):  # from `__post_init__`, whose message names its variables
            raise SettingsError(str(exc)) from None
        raise _named(exc, variables, given) from None


def _named(
    exc: msgspec.ValidationError, variables: Mapping[str, str], given: Mapping[str, str]
) -> SettingsError:
    """`exc` ("Expected `int` >= 1 - at `$.queue_size`") as a message naming the variable."""
    reason, _, where = str(exc).rpartition(" - at `$.")
    field = where.rstrip("`")
    name = next((env for env, attribute in variables.items() if attribute == field), field)
    expected = reason.replace("`", "").partition(", got")[0] or str(exc)
    for word, said in (("Expected", "expected"), ("float", "a number"), ("int", "an integer")):
        expected = expected.replace(word, said)
    return SettingsError(f"{name}={given.get(field, '')!r} is invalid: {expected}")


def _shown(name: str, raw: str) -> str:
    secret = any(word in name for word in ("PASSWORD", "SECRET", "KEYS"))
    return "***" if secret else raw


def _on_off(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"on", "true", "1", "yes"}:
        return True
    if lowered in {"off", "false", "0", "no"}:
        return False
    raise ValueError("expected on or off (also true/false, 1/0, yes/no)")


def _jwt_algorithm(raw: str) -> str:
    algorithm = raw.upper()  # "hs512" means HS512; "none" stays refused as "NONE"
    if algorithm not in _JWT_ALGORITHMS:
        raise ValueError(_JWT_ALGORITHM_EXPECTED)
    return algorithm


def _api_keys(raw: str) -> tuple[ApiKey, ...]:
    """``name:sha256hex[:admin|:ops]`` entries, comma-separated; plaintext keys are refused."""
    keys = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, rest = entry.partition(":")
        digest, _, flag = rest.partition(":")
        if not name or not re.fullmatch(r"[0-9a-f]{64}", digest) or flag not in _KEY_FLAGS:
            raise ValueError(
                f"entry {name or entry[:12]!r} must be name:<sha256 hex of the key>[:admin|:ops]"
            )
        admin, operations = flag == "admin", flag == "ops"
        keys.append(ApiKey(name=name, sha256=digest, admin=admin, operations=operations))
    return tuple(keys)


# ``admin``: reads everything; ``ops``: reads the operational figures (``/status``, ``/health``)
# and only the market data, like any other key.
_KEY_FLAGS = frozenset({"", "admin", "ops"})


def _host(raw: str) -> str:
    if re.search(r"[\s/?#@]", raw):
        raise ValueError("expected a host name or address (no spaces, '/', '?', '#' or '@')")
    return raw


def _integer(raw: str, minimum: int, maximum: int | None, expected: str) -> int:
    """`raw` as an integer within bounds; any other text raises ValueError(`expected`)."""
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(expected) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(expected)
    return value


def _port(raw: str) -> int:
    return _integer(raw, 1, 65535, "expected an integer from 1 to 65535")


def _non_negative_int(raw: str) -> int:
    return _integer(raw, 0, None, "expected an integer >= 0")


def _positive_int(raw: str) -> int:
    return _integer(raw, 1, None, "expected an integer >= 1")


def _number(raw: str, expected: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(expected) from None


def _seconds_or_zero(raw: str) -> float:
    expected = "expected a number of seconds >= 0 (0: off)"
    value = _number(raw, expected)
    if not 0 <= value < float("inf"):
        raise ValueError(expected)
    return value


def _positive_float(raw: str) -> float:
    expected = "expected a number of seconds > 0"
    value = _number(raw, expected)
    if not value > 0 or value == float("inf"):
        raise ValueError(expected)
    return value


def _sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """``host:port`` entries, comma-separated (``[v6]:port``; the port defaults to 26379)."""
    nodes = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port or 26379
        except ValueError:
            raise ValueError(f"entry {entry!r} has an invalid port") from None
        if not parts.hostname or parts.path or parts.username or parts.password:
            raise ValueError(f"entry {entry!r} must be host:port")
        nodes.append((parts.hostname, port))
    if not nodes:
        raise ValueError("expected host:port[,host:port...]")
    return tuple(nodes)


def _sentinel_read(raw: str) -> Literal["primary", "replica"]:
    lowered = raw.lower()
    if lowered == "primary":
        return "primary"
    if lowered == "replica":
        return "replica"
    raise ValueError("expected primary or replica")


def _check_topology(values: Mapping[str, Any], shown: Callable[[str], str]) -> None:
    """Refuse scale-out settings that contradict each other; messages name them via `shown`."""
    read_url = values.get("redis_read_url")
    if read_url is not None:
        _check_url(read_url, shown("redis_read_url"))
    sentinels, master = values.get("redis_sentinels"), values.get("redis_sentinel_master")
    if bool(sentinels) != bool(master):
        given, missing = (
            ("redis_sentinels", "redis_sentinel_master")
            if sentinels
            else ("redis_sentinel_master", "redis_sentinels")
        )
        raise SettingsError(
            f"{shown(given)} is set but {shown(missing)} is not: Sentinel needs both"
        )
    if not sentinels:
        return
    for other in ("redis_url", "redis_read_url"):
        if values.get(other) is not None:
            raise SettingsError(
                f"{shown(other)} cannot be combined with {shown('redis_sentinels')}: the sentinels"
                f" tell where the primary and replicas are (reads from replicas:"
                f" {shown('redis_sentinel_read')}=replica)"
            )


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _redacted_url(url: str) -> str:
    """`url` without its credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{shown}{port}{parts.path}"


def _check_url(url: str, name: str) -> None:
    """Refuse a URL the client could not use, at start: scheme, port, db, every option, the
    TLS files. The message names the variable and the part, never the URL (it may hold a
    password)."""
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(
            f"{name} must start with redis://, rediss:// or unix:// (got {scheme!r})"
        )
    try:
        options_from_url(url)
    except ValueError as exc:
        raise SettingsError(f"{name} is invalid: {' '.join(str(exc).split())}") from None
