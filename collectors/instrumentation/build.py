"""``igaming_build_info{version}`` and ``igaming_deploy_timestamp_seconds``.

Set at start-up, and again by ``record_deploy`` when the platform reports a new version
while running (``PlatformDeployed``: an injected deploy marker, igaming.faults).

The deploy time is the environment variable PITWATCH_DEPLOYED_AT when the deploy tooling
sets it (Unix seconds, or an ISO 8601 time with an offset), else the time this process
started (when this module was first imported, which is start-up for the platform).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime

from collectors.catalog import platform as catalog
from collectors.instrumentation.registry import PlatformMetrics
from igaming.bus import MessageBus
from igaming.events import PlatformDeployed

log = logging.getLogger(__name__)

DEPLOYED_AT_ENV = "PITWATCH_DEPLOYED_AT"
PROCESS_STARTED = time.time()


def deploy_timestamp(environ: Mapping[str, str] = os.environ) -> float:
    """The deploy time from PITWATCH_DEPLOYED_AT, else the process start time."""
    raw = environ.get(DEPLOYED_AT_ENV, "").strip()
    if not raw:
        return PROCESS_STARTED
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        log.warning("%s=%r is neither Unix seconds nor ISO 8601 with an offset; using the "
                    "process start time", DEPLOYED_AT_ENV, raw)  # fmt: skip
        return PROCESS_STARTED
    return parsed.timestamp()


def install_build_info(
    metrics: PlatformMetrics, version: str, environ: Mapping[str, str] = os.environ
) -> None:
    metrics[catalog.BUILD_INFO].info({"version": version})
    metrics[catalog.DEPLOY_TIMESTAMP].set(deploy_timestamp(environ))


def record_deploy(metrics: PlatformMetrics, version: str, at: datetime) -> None:
    """A deploy while running: build info moves to ``version`` (the old label set goes:
    an Info holds one), the deploy time becomes ``at``."""
    metrics[catalog.BUILD_INFO].info({"version": version})
    metrics[catalog.DEPLOY_TIMESTAMP].set(at.timestamp())


def subscribe_deploys(bus: MessageBus, metrics: PlatformMetrics) -> None:
    """Record every deploy the platform publishes."""
    bus.subscribe(PlatformDeployed, lambda e: record_deploy(metrics, e.version, e.occurred_at))
