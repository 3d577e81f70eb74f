"""What the gateway says about itself: Prometheus metrics, the request log, logging
configuration, and the event loop's lag."""

from __future__ import annotations

from ._logconfig import LogConfig, configure_logging
from ._metrics import Metrics, metrics_routes
from ._requestlog import active_lane, log_request
from ._route_names import ROUTE_SCOPE_KEY, route_template
from ._runtime import LoopMonitor, Runtime

__all__ = [
    "ROUTE_SCOPE_KEY",
    "LogConfig",
    "LoopMonitor",
    "Metrics",
    "Runtime",
    "active_lane",
    "configure_logging",
    "log_request",
    "metrics_routes",
    "route_template",
]
