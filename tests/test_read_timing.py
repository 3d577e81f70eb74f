"""Metrics time the data layer's reads through methods marked to be timed (`timed_read`), not
by patching reader instances: every public read is marked, and no instance holds a method."""

from __future__ import annotations

import inspect

import pytest

from fullon_cache_api import Settings, create_app
from fullon_cache_api.data._base import BaseReader
from fullon_cache_api.data._instrument import _timed_reads


def domains() -> dict[str, object]:
    """The domain readers of an app with metrics on (no I/O: nothing is contacted)."""
    app = create_app(settings=Settings(redis_url="redis://127.0.0.1:1/0"))
    parts = dict(vars(app.state.reader))
    return {name: part for name, part in parts.items() if name not in ("redis", "limits")}


def public_reads(cls: type) -> set[str]:
    """The public coroutine methods a domain reader defines (BaseReader's helpers excluded)."""
    return {
        name
        for klass in cls.__mro__
        if klass not in (BaseReader, object)
        for name, value in vars(klass).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(value)
    }


@pytest.mark.parametrize("domain", sorted(domains()))
def test_every_public_read_is_timed(domain: str) -> None:
    """A domain's every public read is marked to be timed, so a new read cannot go unmeasured."""
    cls = type(domains()[domain])
    assert public_reads(cls)  # a domain reader answers something
    assert set(_timed_reads(cls)) == public_reads(cls)


@pytest.mark.parametrize("domain", sorted(domains()))
def test_no_reader_instance_holds_a_method(domain: str) -> None:
    """Instrumenting leaves each reader's methods on its class: no instance attribute shadows
    one, and the reader holds one observer per read."""
    part = domains()[domain]
    methods = {name for name in dir(type(part)) if callable(getattr(type(part), name))}
    assert sorted(set(vars(part)) & methods) == []
    assert sorted(vars(part)["read_timers"]) == sorted(public_reads(type(part)))
