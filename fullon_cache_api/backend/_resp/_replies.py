"""Two reply readings redis-py keeps in private modules, owned here so a redis-py release cannot
move them: error replies as redis-py's public exceptions, and INFO's text as a dict.

Both read the way redis-py 5.2 to 8.x read them, for what a read-only client can meet (cluster
redirections are left out: the gateway does not speak cluster).
"""

from __future__ import annotations

from typing import Any

from redis import exceptions as redis_errors

__all__ = ["parse_info", "reply_error"]

# redis-py 8.2 added a ConnectionError subclass for "max number of clients reached"; 8.1
# raises ConnectionError itself (both versions are allowed).
_MAX_CLIENTS: type[redis_errors.RedisError] = getattr(
    redis_errors, "MaxClientsReachedError", redis_errors.ConnectionError
)
# ``ERR`` replies told apart by their whole message.
_ERR_MESSAGES: dict[str, type[redis_errors.RedisError]] = {
    "max number of clients reached": _MAX_CLIENTS,
    "invalid password": redis_errors.AuthenticationError,
    # Redis spells the command in lower or upper case, depending on the version.
    "wrong number of arguments for 'auth' command": (
        redis_errors.AuthenticationWrongNumberOfArgsError
    ),
    "wrong number of arguments for 'AUTH' command": (
        redis_errors.AuthenticationWrongNumberOfArgsError
    ),
    "AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?": redis_errors.AuthenticationError,  # Redis >= 6
    "Client sent AUTH, but no password is set": redis_errors.AuthenticationError,  # Redis < 6
    "Error loading the extension. Please check the server logs.": redis_errors.ModuleError,
    "Error unloading module: no such module with that name": redis_errors.ModuleError,
    "Error unloading module: the module exports one or more module-side data types, can't "
    "unload": redis_errors.ModuleError,
    "Error unloading module: operation not possible.": redis_errors.ModuleError,
}
# Replies told apart by their code, the first word.
_CODES: dict[str, type[redis_errors.RedisError]] = {
    "OOM": redis_errors.OutOfMemoryError,
    "WRONGPASS": redis_errors.AuthenticationError,
    "EXECABORT": redis_errors.ExecAbortError,
    "LOADING": redis_errors.BusyLoadingError,
    "NOSCRIPT": redis_errors.NoScriptError,
    "READONLY": redis_errors.ReadOnlyError,
    "NOAUTH": redis_errors.AuthenticationError,
    "NOPERM": redis_errors.NoPermissionError,
    "TRYAGAIN": redis_errors.TryAgainError,
    "MASTERDOWN": redis_errors.MasterDownError,
}


def reply_error(reply: Exception) -> redis_errors.RedisError:
    """redis-py's exception for an error reply (WRONGPASS -> AuthenticationError, ...)."""
    text = str(reply)
    code = text.split(" ")[0]
    if code == "ERR":
        message = text[4:]
        return _ERR_MESSAGES.get(message, redis_errors.ResponseError)(message)
    if code in _CODES:
        return _CODES[code](text[len(code) + 1 :])
    return redis_errors.ResponseError(text)


def parse_info(response: bytes | str) -> dict[str, Any]:
    """INFO's ``key:value`` lines as a dict, values as numbers, lists or dicts where they read
    as such (``db0:keys=1,expires=0`` -> ``{"keys": 1, "expires": 0}``)."""
    info: dict[str, Any] = {}
    text = response.decode("utf-8", errors="replace") if isinstance(response, bytes) else response
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if ":" not in line:  # a line that is not key:value is kept as it is
            info.setdefault("__raw__", []).append(line)
            continue
        key, value = line.split(":", 1)
        if key == "cmdstat_host":  # the one key holding a colon
            key, value = line.rsplit(":", 1)
        if key == "module":  # one line per loaded module
            info.setdefault("modules", []).append(_value(value))
        else:
            info[key] = _value(value)
    return info


def _value(value: str) -> Any:
    """One INFO value: a number if it reads as one, a list (``a,b``) or a dict (``k=v,...``)."""
    if "," not in value and "=" not in value:
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if "=" not in value:
        return [_value(part) for part in value.split(",") if part]
    found: dict[str, Any] = {}
    for item in value.split(","):
        if not item:
            continue
        if "=" in item:
            name, inner = item.rsplit("=", 1)
            found[name] = _value(inner)
        else:
            found[item] = True
    return found
