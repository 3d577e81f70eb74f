"""Who is asking (authentication) and what they may read (authorization).

Identity sources, tried in order:

1. a user the host already authenticated: ``scope["state"]["user"]`` (duck-typed: ``uid``,
   ``mail``, ``name``), as the fullon master's JWT middleware leaves it;
2. ``Authorization: Bearer <JWT>`` validated with ``JWT_SECRET_KEY`` (claims ``user_id``,
   ``sub`` = mail, ``exp`` required);
3. ``X-API-Key``, compared in constant time against configured SHA-256 hashes;
4. on WebSockets, a token offered as a subprotocol: ``Sec-WebSocket-Protocol: bearer, <token>``
   (what a browser's ``new WebSocket(url, ["bearer", token])`` sends; the gateway then picks
   ``bearer``, never echoing the token);
5. ``?token=`` (a JWT or an API key) where the matched route accepts it: Server-Sent Events
   and WebSockets (browsers' EventSource and WebSocket cannot set headers), and the docs pages;
6. the docs cookie (`DOCS_COOKIE`), on the docs routes only (see ``routes/docs.py``).

Which of 5 and 6 a request may use is decided by the route it matches (`Authenticator.identify`
asks `accepts`), never by how its path is spelled. Mails are compared as UTF-8 bytes, so any
mail works (``hmac.compare_digest`` refuses non-ASCII text).

Admins (``mail == ADMIN_MAIL`` or an admin API key) read everything. Anyone else reads the
private domains only through what the host's ownership hook grants (cached briefly).
Operators (admins, and API keys flagged ``:ops``) also see the tenant-wide figures of
``/status`` and ``/health``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt
import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser
from starlette.types import Scope

from .._errors import Unauthenticated
from .._settings import ApiKey, AuthConfig

__all__ = [
    "BEARER_SUBPROTOCOL",
    "DOCS_COOKIE",
    "FROM_COOKIE",
    "FROM_QUERY",
    "HEALTH_ONLY",
    "PUBLIC_PATHS",
    "Authenticator",
    "Identity",
    "Ownership",
    "OwnershipHook",
    "hash_api_key",
    "subprotocol_token",
]

IDENTITY_SCOPE_KEY = "fullon_cache_api.identity"
# The WebSocket subprotocol that announces a token as the next offered subprotocol.
BEARER_SUBPROTOCOL = "bearer"
# The cookie that lets a browser read private docs (set by ``/docs?token=``).
DOCS_COOKIE = "fullon_cache_api_docs"

# Where a credential outside the headers may come from; a route names those it accepts.
Accepts = Callable[[Scope], frozenset[str]]
FROM_QUERY = "query"
FROM_COOKIE = "cookie"
_NOTHING: frozenset[str] = frozenset()


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller: a host user, a JWT subject or an API key."""

    source: str
    name: str
    uid: int | None = None
    mail: str | None = None
    admin: bool = False
    # May read the tenant-wide operational figures (admins, and API keys flagged ``:ops``).
    operations: bool = False

    @property
    def operator(self) -> bool:
        """Whether this caller sees the figures of every tenant (`/status`, `/health`)."""
        return self.admin or self.operations


class Ownership(msgspec.Struct, frozen=True, kw_only=True):
    """What a non-admin identity may read: exchange accounts, bots and user ids (as text)."""

    ex_ids: frozenset[str] = frozenset()
    bot_ids: frozenset[str] = frozenset()
    uids: frozenset[str] = frozenset()


OwnershipHook = Callable[[Identity], Awaitable[Ownership]]

_MAX_TOKENS = 10_000  # verified JWTs remembered per app


def hash_api_key(key: str) -> str:
    """The digest to configure for `key` (``FULLON_CACHE_API_KEYS=name:<digest>``).

    The digest of the key's UTF-8 bytes; a header's bytes that are not UTF-8 arrive as
    surrogates (see `_credential_headers`) and hash back to exactly the bytes sent."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


class Authenticator:
    """Resolves a request's identity, and a non-admin identity's ownership (cached)."""

    def __init__(self, config: AuthConfig, ownership_hook: OwnershipHook | None) -> None:
        self.config = config
        self.ownership_hook = ownership_hook
        self._cache: dict[Identity, tuple[float, Ownership]] = {}
        self._tokens: dict[str, tuple[float, Identity]] = {}  # verified JWT -> (exp, identity)
        # The paths answered without identity (`identify` then lets a caller with none in).
        self.public_paths: frozenset[str] = PUBLIC_PATHS if config.public_docs else HEALTH_ONLY

    def identify(self, scope: Scope, accepts: Accepts | None = None) -> Identity | None:
        """The caller's identity, None when they sent none; bad credentials raise 401.

        `accepts` tells which credentials outside the headers the request's route takes
        (`FROM_QUERY`, `FROM_COOKIE`); it is asked only when the request carries one.
        """
        host_user = _host_user(scope)
        if host_user is not None:
            return self._from_host_user(host_user)
        authorization, api_key, cookies = _credential_headers(scope)
        if authorization:
            return self._from_bearer(authorization)
        if api_key:
            return self._from_api_key(api_key)
        if scope["type"] == "websocket":
            offered = subprotocol_token(scope)
            if offered:
                return self._from_token(offered)
        query = scope.get("query_string", b"")
        token = QueryParams(query).get("token") if b"token=" in query else None
        cookie = cookie_parser(cookies).get(DOCS_COOKIE) if cookies else None
        if not token and not cookie:
            return None
        allowed = accepts(scope) if accepts is not None else _NOTHING
        if token and FROM_QUERY in allowed:
            return self._from_token(token)
        if cookie and FROM_COOKIE in allowed:
            return self._from_token(cookie)
        return None

    def verify_token(self, token: str) -> Identity:
        """The identity a JWT or API key stands for; Unauthenticated when it does not verify."""
        return self._from_token(token)

    async def ownership(self, identity: Identity) -> Ownership | None:
        """What `identity` may read; None means everything (admin)."""
        if identity.admin:
            return None
        if self.ownership_hook is None:
            return Ownership()
        now = time.monotonic()
        cached = self._cache.get(identity)
        if cached is not None and cached[0] > now:
            return cached[1]
        granted = await self.ownership_hook(identity)
        if len(self._cache) > 10_000:  # bound memory under many distinct identities
            self._cache.clear()
        self._cache[identity] = (now + self.config.ownership_ttl, granted)
        return granted

    def _from_host_user(self, user: Any) -> Identity:
        mail = getattr(user, "mail", None)
        uid = getattr(user, "uid", None)
        return Identity(
            source="host",
            name=str(getattr(user, "name", None) or mail or uid),
            uid=uid if isinstance(uid, int) else None,
            mail=mail,
            admin=self._is_admin_mail(mail),
        )

    def _from_bearer(self, authorization: str) -> Identity:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return self._from_jwt(token.strip())

    def _from_token(self, token: str) -> Identity:
        if token.count(".") == 2:
            return self._from_jwt(token)
        return self._from_api_key(token)

    def _from_jwt(self, token: str) -> Identity:
        secret = self.config.jwt_secret_key
        if not secret:
            raise Unauthenticated("bearer tokens are not accepted: no JWT_SECRET_KEY configured")
        # A token that verified gives the same identity until it expires: verifying it again
        # (~50-100 us of HMAC and claim checks) on each request of a client would be waste.
        known = self._tokens.get(token)
        if known is not None and time.time() < known[0]:
            return known[1]
        identity, expires = self._verify_jwt(token, secret)
        if len(self._tokens) >= _MAX_TOKENS:  # bound memory under many distinct tokens
            self._tokens.clear()
        self._tokens[token] = (expires, identity)
        return identity

    def _verify_jwt(self, token: str, secret: str) -> tuple[Identity, float]:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[self.config.jwt_algorithm],
                options={"require": ["exp", "sub", "user_id"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from None
        uid, mail = claims["user_id"], claims["sub"]
        if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(mail, str):
            raise Unauthenticated("invalid token: user_id must be an int and sub an email")
        identity = Identity(
            source="jwt", name=mail, uid=uid, mail=mail, admin=self._is_admin_mail(mail)
        )
        return identity, float(int(claims["exp"]))  # PyJWT's reading of exp: valid while now < exp

    def _from_api_key(self, key: str) -> Identity:
        digest = hash_api_key(key)
        match: ApiKey | None = None
        for candidate in self.config.api_keys:
            # Compare against every key (no early exit) so timing reveals nothing.
            if hmac.compare_digest(digest, candidate.sha256):
                match = candidate
        if match is None:
            raise Unauthenticated("unknown API key")
        return Identity(
            source="api_key", name=match.name, admin=match.admin, operations=match.operations
        )

    def _is_admin_mail(self, mail: object) -> bool:
        admin = self.config.admin_mail
        if not admin or not isinstance(mail, str):
            return False
        # Bytes: compare_digest refuses str holding non-ASCII characters (a 500 for "josé").
        return hmac.compare_digest(mail.encode("utf-8", "surrogatepass"), admin.encode())


def _host_user(scope: Scope) -> Any:
    state = scope.get("state")
    if type(state) is dict or isinstance(state, Mapping):  # dict first: an ABC check is slow
        return state.get("user")
    return getattr(state, "user", None)


def _credential_headers(scope: Scope) -> tuple[str, str, str]:
    """The first Authorization, X-API-Key and Cookie values ("" when absent), in one pass over
    the raw headers (ASGI names are lower-case), as `Headers.get` would find them."""
    # X-API-Key as UTF-8 (surrogates for other bytes): a key holding é is sent as its UTF-8
    # bytes and must hash like the key it was configured from (latin-1 would turn those two
    # bytes into two other characters). Authorization carries a JWT: ASCII, or refused.
    authorization = api_key = cookie = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            if api_key is None:
                api_key = value.decode("utf-8", "surrogateescape")
        elif name == b"cookie" and cookie is None:
            cookie = value.decode("latin-1")
    return authorization or "", api_key or "", cookie or ""


def subprotocol_token(scope: Scope) -> str | None:
    """The token a WebSocket offers after the ``bearer`` subprotocol, if it offers one."""
    offered: list[str] = scope.get("subprotocols") or []
    if BEARER_SUBPROTOCOL not in offered:
        return None
    return next((item for item in offered if item != BEARER_SUBPROTOCOL), None)


class _PublicPaths(frozenset[str]):
    """Exact public paths, plus everything under ``/docs/`` (the docs pages' static assets)."""

    def __contains__(self, path: object) -> bool:
        return super().__contains__(path) or (isinstance(path, str) and path.startswith("/docs/"))


# Routes anyone may call: liveness and the API description. Everything else needs an identity.
PUBLIC_PATHS = _PublicPaths({"/health", "/openapi.json", "/docs", "/redoc"})
# With FULLON_CACHE_API_PUBLIC_DOCS=false only liveness stays public.
HEALTH_ONLY = frozenset({"/health"})

ANONYMOUS = Identity(source="anonymous", name="anonymous", admin=True)
