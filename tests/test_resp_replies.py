"""Our RESP client spells each read command once (`Commands`, shared by the client and its
pipeline), and reads error replies and INFO (owned, `_replies`) as redis-py does."""

from __future__ import annotations

import pytest
from redis._parsers.base import BaseParser  # the reference only: the package never imports it
from redis._parsers.helpers import parse_info as redis_parse_info

from fullon_cache_api.backend._resp import Pipeline, ReadOnlyRedis
from fullon_cache_api.backend._resp._commands import Commands
from fullon_cache_api.backend._resp._replies import parse_info, reply_error

ERRORS = [
    "ERR unknown command 'SET', with args beginning with: ",
    "ERR max number of clients reached",
    "ERR invalid password",
    "ERR wrong number of arguments for 'auth' command",
    "ERR Client sent AUTH, but no password is set",
    "WRONGPASS invalid username-password pair or user is disabled.",
    "NOAUTH Authentication required.",
    "NOPERM User reader has no permissions to run the 'set' command",
    "LOADING Redis is loading the dataset in memory",
    "READONLY You can't write against a read only replica.",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "Syntax error at offset 3",
]


@pytest.mark.parametrize("text", ERRORS)
def test_error_replies_become_redis_py_exceptions(text: str) -> None:
    """Each error reply becomes the exception class, with the message, redis-py gives it."""
    ours = reply_error(Exception(text))
    theirs = BaseParser.parse_error(text)  # type: ignore[no-untyped-call]
    assert (type(ours), ours.args) == (type(theirs), theirs.args)


def test_info_reads_like_redis_py() -> None:
    """INFO's lines read as redis-py reads them: numbers, lists, dicts, modules, raw lines."""
    reply = (
        b"# Server\r\nredis_version:7.2.4\r\nuptime_in_seconds:12\r\n"
        b"mem_fragmentation_ratio:1.5\r\n"
        b"db0:keys=3,expires=0,avg_ttl=0\r\nmodule:name=search,ver=20604\r\n"
        b"module:name=json,ver=20600\r\ncmdstat_host:calls=1,usec=2\r\nflags:a,b,c\r\n"
        b"a line without a colon\r\nexecutable:/usr/bin/redis-server\r\n"
    )
    assert parse_info(reply) == redis_parse_info(reply)
    assert parse_info(reply)["db0"] == {"keys": 3, "expires": 0, "avg_ttl": 0}


def test_client_and_pipeline_share_one_spelling_of_each_command() -> None:
    """Neither the client nor the pipeline defines a read command of its own: both take every
    command from `Commands`."""
    commands = {name for name in vars(Commands) if not name.startswith("_")}
    assert len(commands) >= 15
    for cls in (ReadOnlyRedis, Pipeline):
        assert sorted(set(vars(cls)) & commands) == []
        assert all(getattr(cls, name) is getattr(Commands, name) for name in commands)
