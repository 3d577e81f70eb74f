"""Where and how to connect: `Options`, built from keyword values or a ``redis://`` URL.

URLs are read the way redis-py's ``from_url`` reads them, for the parts a read-only client
needs: ``redis://[[user]:[password]@]host[:port][/db]``, ``rediss://`` (TLS) and
``unix://[[user]:[password]@]/path/to/socket``, with the query options ``db``,
``socket_timeout``, ``socket_connect_timeout`` and the TLS ones (``ssl_cert_reqs``,
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``). Values in the
URL win over the defaults passed beside it, as in redis-py.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

__all__ = ["Options", "options_from_url", "ssl_context"]

_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_TLS_QUERY = {"ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname"}
_QUERY = {"db", "socket_timeout", "socket_connect_timeout", *_TLS_QUERY}


@dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    """One Redis endpoint and the session set-up every new connection performs."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a Unix socket instead of host/port
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr or a log
    client_name: str | None = None
    socket_timeout: float | None = None  # per command; None waits forever
    connect_timeout: float | None = None
    ssl: ssl.SSLContext | None = None

    @property
    def address(self) -> str:
        """host:port or the socket path, for error messages (never credentials)."""
        return self.path if self.path is not None else f"{self.host}:{self.port}"


def options_from_url(url: str, **defaults: Any) -> Options:
    """`Options` for `url`; `defaults` (Options fields) apply where the URL says nothing.

    Anything the URL gets wrong raises ValueError with a one-line message naming the part
    (never the password); so does a TLS file that cannot be read.
    """
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(query) - _QUERY
    if unknown:
        raise ValueError(f"unsupported Redis URL option(s): {', '.join(sorted(unknown))}")
    given: dict[str, Any] = {}
    if parts.username:
        given["username"] = unquote(parts.username)
    if parts.password:
        given["password"] = unquote(parts.password)
    if parts.scheme == "unix":
        given["path"] = unquote(parts.path)
    elif parts.scheme in {"redis", "rediss"}:
        given["host"] = unquote(parts.hostname) if parts.hostname else "localhost"
        given["port"] = _port(parts)
        db_path = parts.path.lstrip("/")
        if db_path:
            given["db"] = _database(db_path, "the database in the URL path")
    else:
        raise ValueError("Redis URL must start with redis://, rediss:// or unix://")
    if "db" in query:
        given["db"] = _database(query["db"], "the db option")
    for name, attribute in (
        ("socket_timeout", "socket_timeout"),
        ("socket_connect_timeout", "connect_timeout"),
    ):
        if name in query:
            given[attribute] = _seconds(query[name], name)
    if parts.scheme == "rediss":
        given["ssl"] = ssl_context(
            cert_reqs=query.get("ssl_cert_reqs", "required"),
            ca_certs=query.get("ssl_ca_certs"),
            certfile=query.get("ssl_certfile"),
            keyfile=query.get("ssl_keyfile"),
            check_hostname=_bool(query.get("ssl_check_hostname", "true"), "ssl_check_hostname"),
        )
    elif set(query) & _TLS_QUERY:
        raise ValueError("ssl_* URL options need a rediss:// URL")
    return replace(Options(**defaults), **given)


def ssl_context(
    *,
    cert_reqs: str = "required",
    ca_certs: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    check_hostname: bool = True,
) -> ssl.SSLContext:
    """A client TLS context built like redis-py's (``RedisSSLContext``).

    ``cert_reqs`` is none, optional or required; with none the host name is not checked
    either (there is no verified certificate to check it against).
    """
    if cert_reqs not in _CERT_REQS:
        raise ValueError(f"ssl_cert_reqs must be none, optional or required (got {cert_reqs!r})")
    mode = _CERT_REQS[cert_reqs]
    context = ssl.create_default_context()
    context.check_hostname = check_hostname and mode != ssl.CERT_NONE
    context.verify_mode = mode
    try:
        if certfile or keyfile:
            what = "ssl_certfile / ssl_keyfile"
            context.load_cert_chain(certfile=certfile or "", keyfile=keyfile)
        if ca_certs:
            what = "ssl_ca_certs"
            context.load_verify_locations(cafile=ca_certs)
    except (OSError, ssl.SSLError) as exc:  # SSLError is an OSError; named for the reader
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise ValueError(f"{what} cannot be loaded: {reason}") from None
    return context


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        return 6379
    if not 1 <= port <= 65535:
        raise ValueError("the port must be an integer from 1 to 65535")
    return port


def _database(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{what} must be a database number >= 0 (got {value[:20]!r})")
    return int(value)


def _seconds(value: str, name: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a number of seconds > 0 (got {value[:20]!r})")
    return seconds


def _bool(value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (got {value!r})")
