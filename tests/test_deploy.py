"""The operations pack in deploy/: the alert rules pass promtool's checks and unit tests, each
rule has a test that makes it fire, and every metric the dashboard or the rules name is one
the gateway exports.

promtool comes with Debian's ``prometheus`` package. Under CI (``CI=true``) these tests run or
fail, never skip: `.ci/run` installs it. Elsewhere they are skipped when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.gauges import GaugeSettings

from .support.alert_rules import RULES, alert_names
from .support.credentials import ADMIN_KEY
from .support.gauges import seed_health

ROOT = Path(__file__).resolve().parent.parent
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "fullon_cache_api.json"
PROMTOOL = shutil.which("promtool")
NAME = re.compile(r"\bfullon_cache_api_[A-Za-z0-9_]+")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("CI") != "true",
    reason="promtool is not installed (apt-get install prometheus); CI never skips this",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "CI=true but promtool is missing: .ci/run installs it"
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=RULES.parent
    )


@needs_promtool
def test_rules_pass_promtool_check() -> None:
    """``promtool check rules`` accepts alerts.yml."""
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in checked.stdout


@needs_promtool
def test_rules_pass_their_unit_tests() -> None:
    """``promtool test rules`` passes every test of alerts_test.yml."""
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_rule_has_a_firing_test() -> None:
    """Each alert of alerts.yml is expected to fire in at least one promtool test (and no test
    names an alert that does not exist)."""
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    named = {case["alertname"] for case in cases}
    assert fired == set(alert_names())
    assert named <= set(alert_names())


def referenced() -> dict[str, set[str]]:
    """Metric names each deploy file mentions: the dashboard's and the rules' expressions,
    and the series the rule tests feed."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in _panels(dashboard) for target in panel.get("targets", [])]
    exprs.append(json.dumps(dashboard["templating"]))
    rules = yaml.safe_load(RULES.read_text())
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    return {
        "dashboard": _names(exprs),
        "rules": _names(rule["expr"] for group in rules["groups"] for rule in group["rules"]),
        "rule tests": _names(series["series"] for test in tests for series in test["input_series"]),
    }


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = dashboard["panels"]
    return [*panels, *(inner for panel in panels for inner in panel.get("panels", []))]


def _names(texts: Any) -> set[str]:
    return {name for text in texts for name in NAME.findall(text)}


def unknown(names: set[str], exported: set[str]) -> set[str]:
    """The names a scrape does not show (histogram ``_bucket``/``_sum``/``_count`` and counter
    ``_total`` samples are shown as such)."""
    return names - exported


async def exported(settings: Settings, writer: CacheWriter) -> set[str]:
    """Every sample name of a scrape, after a collector run over a seeded cache and a few
    requests (so that labelled families have their series)."""
    await seed_health(writer)
    app = create_app(settings=settings, gauges=GaugeSettings(interval=3600))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://g",
            headers={"X-API-Key": ADMIN_KEY},
        ) as http,
    ):
        await app.state.gauges.run_once()
        for path in ("/tickers/kraken", "/tickers/binance/BTC/USDT", "/tickers/none/X"):
            await http.get(path)
        text = (await http.get("/metrics")).text
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


@pytest.mark.anyio
async def test_deploy_files_name_only_exported_metrics(
    settings: Settings, writer: CacheWriter
) -> None:
    """Every metric the dashboard, the rules and their tests name is in a real scrape."""
    names = await exported(settings, writer)
    found = referenced()
    assert len(found["dashboard"]) >= 20 and len(found["rules"]) >= 10
    for where, mentioned in found.items():
        assert not unknown(mentioned, names), (where, unknown(mentioned, names))


@pytest.mark.anyio
async def test_an_unknown_metric_is_caught(settings: Settings, writer: CacheWriter) -> None:
    """The check above flags a name the gateway does not export, e.g. a histogram's family
    name without its suffix or a counter without ``_total``."""
    names = await exported(settings, writer)
    wrong = _names(
        [
            "rate(fullon_cache_api_request_duration_seconds[5m])",
            "fullon_cache_api_streams_refused",
            "fullon_cache_api_tickers_total",
        ]
    )
    assert unknown(wrong, names) == wrong
    assert not unknown({"fullon_cache_api_request_duration_seconds_bucket"}, names)


def test_dashboard_is_importable() -> None:
    """The dashboard asks for its Prometheus data source on import, every panel queries it,
    panel ids are unique, and panels fit Grafana's 24-column grid without overlapping."""
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {var["name"]: var for var in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = _panels(dashboard)
    assert len({panel["id"] for panel in panels}) == len(panels)
    boxes = [panel["gridPos"] for panel in panels]
    for n, one in enumerate(boxes):  # no two panels overlap
        for other in boxes[n + 1 :]:
            apart_x = one["x"] + one["w"] <= other["x"] or other["x"] + other["w"] <= one["x"]
            apart_y = one["y"] + one["h"] <= other["y"] or other["y"] + other["h"] <= one["y"]
            assert apart_x or apart_y, (one, other)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"] and target["refId"], panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
