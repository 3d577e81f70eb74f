"""Who is calling and what they may read: authentication, ownership rules, signed tokens, and
the redaction that keeps secrets out of logs."""

from __future__ import annotations

from ._access import ex_id_of, may_hold, owned, sees, sees_bot_mark, sees_corrupt, sees_in
from ._auth import (
    ANONYMOUS,
    BEARER_SUBPROTOCOL,
    DOCS_COOKIE,
    FROM_COOKIE,
    FROM_QUERY,
    IDENTITY_SCOPE_KEY,
    PUBLIC_PATHS,
    Accepts,
    Authenticator,
    Identity,
    Ownership,
    OwnershipHook,
)
from ._redact import RedactSecrets, protect_uvicorn_loggers, redact, suspect
from ._token import MAX_TTL, make_token

__all__ = [
    "ANONYMOUS",
    "BEARER_SUBPROTOCOL",
    "DOCS_COOKIE",
    "FROM_COOKIE",
    "FROM_QUERY",
    "IDENTITY_SCOPE_KEY",
    "MAX_TTL",
    "PUBLIC_PATHS",
    "Accepts",
    "Authenticator",
    "Identity",
    "Ownership",
    "OwnershipHook",
    "RedactSecrets",
    "ex_id_of",
    "make_token",
    "may_hold",
    "owned",
    "protect_uvicorn_loggers",
    "redact",
    "sees",
    "sees_bot_mark",
    "sees_corrupt",
    "sees_in",
    "suspect",
]
