"""Reading ``/metrics`` the way Prometheus does (prometheus_client's own parser)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["P", "Samples", "label_values", "scrape", "value"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

P = "fullon_cache_api_"


async def scrape(client: httpx.AsyncClient) -> Samples:
    """Every sample of ``/metrics``, keyed by (name, sorted labels)."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for (sample, labels), _ in samples.items() if sample == name}
