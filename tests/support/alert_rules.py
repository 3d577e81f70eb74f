"""The alert rules of the operations pack: deploy/prometheus/alerts.yml and the alerts it names."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["RULES", "alert_names"]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def alert_names() -> list[str]:
    """The alert of each rule of `RULES`, in the file's order."""
    rules = yaml.safe_load(RULES.read_text())
    return [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
