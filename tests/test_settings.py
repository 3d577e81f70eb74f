"""Settings.from_env: fullon_cache's variable names, clear errors, no secrets in repr."""

from __future__ import annotations

import pytest

from fullon_cache_api import Settings, SettingsError


def test_defaults_match_fullon_cache() -> None:
    """An empty environment gives localhost:6379/0, 5 s timeout, 50 connections."""
    settings = Settings.from_env({})
    assert (settings.redis_host, settings.redis_port, settings.redis_db) == ("localhost", 6379, 0)
    assert settings.redis_socket_timeout == 5.0
    assert settings.redis_max_connections == 50
    assert settings.redis_url is None


def test_reads_every_variable() -> None:
    """Each documented variable lands in its field; a float timeout is accepted."""
    settings = Settings.from_env(
        {
            "REDIS_HOST": "cache.internal",
            "REDIS_PORT": "6380",
            "REDIS_DB": "3",
            "REDIS_USERNAME": "reader",
            "REDIS_PASSWORD": "s3cret",
            "REDIS_SOCKET_TIMEOUT": "2.5",
            "REDIS_MAX_CONNECTIONS": "10",
        }
    )
    assert settings.redis_host == "cache.internal"
    assert (settings.redis_port, settings.redis_db) == (6380, 3)
    assert (settings.redis_username, settings.redis_password) == ("reader", "s3cret")
    assert (settings.redis_socket_timeout, settings.redis_max_connections) == (2.5, 10)


def test_url_is_kept_and_validated() -> None:
    """REDIS_URL is taken as is (it wins when building the client); bad schemes are refused."""
    assert Settings.from_env({"REDIS_URL": "rediss://h:1/2"}).redis_url == "rediss://h:1/2"
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env({"REDIS_URL": "http://h:1"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_PORT", "abc"),
        ("REDIS_PORT", "70000"),
        ("REDIS_DB", "-1"),
        ("REDIS_SOCKET_TIMEOUT", "0"),
        ("REDIS_SOCKET_TIMEOUT", "nan"),
        ("REDIS_MAX_CONNECTIONS", "0"),
        ("FULLON_CACHE_API_PUBLIC_DOCS", "maybe"),
        ("FULLON_CACHE_API_AUTH", "disabled"),
        ("JWT_ALGORITHM", "none"),
        ("JWT_ALGORITHM", "RS256"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    """An unusable value raises SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_password_never_shown() -> None:
    """repr/str hide the password, including one embedded in REDIS_URL."""
    by_field = Settings.from_env({"REDIS_PASSWORD": "hunter2"})
    by_url = Settings.from_env({"REDIS_URL": "redis://user:hunter2@h:6379/0"})
    for settings in (by_field, by_url):
        assert "hunter2" not in repr(settings)
        assert "hunter2" not in str(settings)


def test_jwt_algorithm_names_are_case_insensitive() -> None:
    """JWT_ALGORITHM=hs512 means HS512 (PyJWT's spelling); unset means HS256."""
    assert Settings.from_env({"JWT_ALGORITHM": "hs512"}).auth.jwt_algorithm == "HS512"
    assert Settings.from_env({}).auth.jwt_algorithm == "HS256"
