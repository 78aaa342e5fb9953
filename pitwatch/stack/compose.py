"""The docker compose stack's generated configuration (``deploy/compose/``).

``docker-compose.yml`` at the repository root is written by hand; what it mounts and that
code can derive is rendered here, written by ``pitwatch generate`` and kept fresh by its
``--check``: Prometheus' configuration (the stack's targets by service name, the
generated rules as mounted in the container) and the odds feed simulator's knobs (its feed
goes to the platform service, not to 127.0.0.1).

The service names and ports below are the compose file's; ``tests/e2e/test_compose.py``
checks that the two agree (every target is a service listening on that port).
"""

from __future__ import annotations

import json

from ground.ports import (
    AFFILIATE_SIM_PORT,
    ALERTMANAGER_PORT,
    COLLECT_PORT,
    GAMES_SIM_PORT,
    KYC_SIM_PORT,
    NODE_EXPORTER_PORT,
    ODDS_SIM_PORT,
    PLATFORM_METRICS_PORT,
    PLATFORM_PORT,
    POSTGRES_EXPORTER_PORT,
    PSP_SIM_PORT,
)
from pitwatch.stack.prometheus import Targets, render_prometheus

DIR = "deploy/compose"
PROMETHEUS_CONFIG = f"{DIR}/prometheus.yml"
ODDS_SIM_CONFIG = f"{DIR}/odds-sim.json"
PSP_SIM_CONFIG = f"{DIR}/psp-sim.json"
# Where the PSP simulator drops settlement reports and the reconciler reads them (a volume).
REPORTS_MOUNT = "/app/var/psp-settlement"

# Where docker-compose.yml mounts alert_rules/rules/ in the Prometheus container.
RULES_MOUNT = "/etc/prometheus/rules"
SCRAPE_INTERVAL = "15s"

# Compose service name -> the port it listens on inside the network.
SERVICES: dict[str, int] = {
    "platform": PLATFORM_PORT,
    "psp-sim": PSP_SIM_PORT,
    "kyc-sim": KYC_SIM_PORT,
    "odds-sim": ODDS_SIM_PORT,
    "games-sim": GAMES_SIM_PORT,
    "affiliates-sim": AFFILIATE_SIM_PORT,
    "state-exporter": COLLECT_PORT,
    "alertmanager": ALERTMANAGER_PORT,
    "node-exporter": NODE_EXPORTER_PORT,
    "postgres-exporter": POSTGRES_EXPORTER_PORT,
}
SIMULATORS = ("psp-sim", "kyc-sim", "odds-sim", "games-sim", "affiliates-sim")


def _at(service: str) -> str:
    return f"{service}:{SERVICES[service]}"


def compose_targets() -> Targets:
    """Everything Prometheus talks to, as the compose network names it."""
    return Targets(
        # The platform's internal metrics listener (--metrics-port), never its API port.
        platform=f"platform:{PLATFORM_METRICS_PORT}",
        state_exporter=_at("state-exporter"),
        alertmanager=_at("alertmanager"),
        simulators={name: _at(name) for name in SIMULATORS},
        node_exporter=_at("node-exporter"),
        postgres_exporter=_at("postgres-exporter"),
    )


def prometheus_config() -> str:
    """deploy/compose/prometheus.yml: every target by service name, the mounted rules."""
    return render_prometheus(
        compose_targets(),
        [f"{RULES_MOUNT}/*.yml"],
        scrape_interval=SCRAPE_INTERVAL,
        evaluation_interval=SCRAPE_INTERVAL,
    )


def psp_sim_config() -> str:
    """deploy/compose/psp-sim.json: the PSPs drop yesterday's and today's settlement reports
    into the volume the reconciler reads, every five minutes."""
    body = {"report_dir": REPORTS_MOUNT, "report_every_seconds": 300}
    return json.dumps(body, indent=2) + "\n"


def odds_sim_config() -> str:
    """deploy/compose/odds-sim.json: the odds feed simulator's knobs that differ from the
    defaults (the feed URL: the platform service)."""
    from igaming.sim.odds.config import OddsSimConfig

    config = OddsSimConfig(feed_url=f"http://{_at('platform')}/sportsbook/feed")
    return json.dumps(config.model_dump(exclude_defaults=True), indent=2, sort_keys=True) + "\n"


def artefacts() -> dict[str, str]:
    """The generated files of the compose stack: repository path -> content."""
    return {
        PROMETHEUS_CONFIG: prometheus_config(),
        ODDS_SIM_CONFIG: odds_sim_config(),
        PSP_SIM_CONFIG: psp_sim_config(),
    }
