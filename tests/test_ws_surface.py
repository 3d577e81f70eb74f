"""The WebSocket surface: every action of both dialects has a sample, and each answers for the
seeded data."""

from __future__ import annotations

import pytest

from fullon_cache_api import Settings
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams._actions import DOMAINS
from fullon_cache_api.streams._original_actions import ORIGINAL_DOMAINS

from .support.streams import serve
from .support.surface import seed_surface
from .support.ws_surface import WS_SAMPLES, crawl, parts

pytestmark = pytest.mark.anyio


def test_every_action_has_a_sample() -> None:
    """An action added to a domain without a sample in tests/support/ws_surface.py fails
    this test."""
    actions = {
        (dialect, domain.name, action)
        for dialect, domains in (("v2", DOMAINS), ("original", ORIGINAL_DOMAINS))
        for domain in domains.values()
        for action in domain.actions
        if action != "ping" or not domain.name
    }
    assert {parts(sample) for sample in WS_SAMPLES} == actions


@pytest.mark.slow
async def test_every_action_answers_with_seeded_data(
    settings: Settings, writer: CacheWriter
) -> None:
    """Each sample succeeds: a reply, or a stream's confirmation then its first push."""
    await seed_surface(writer)
    async with serve(settings) as gateway:
        answers = await crawl(gateway.ws_url)
    for sample, frames in answers.items():
        assert frames[0].get("success") is True, (sample, frames)
        if parts(sample)[2].startswith("stream_"):
            assert "result" in frames[1], (sample, frames)
