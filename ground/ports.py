"""The local ports of the reference stack: each service's default listener."""

from __future__ import annotations

PLATFORM_PORT = 8600
PSP_SIM_PORT = 8601
KYC_SIM_PORT = 8602
COLLECT_PORT = 9108
ODDS_SIM_PORT = 8603
GAMES_SIM_PORT = 8604
AFFILIATE_SIM_PORT = 8605
NOTIFY_PORT = 8606  # the stack's Slack/PagerDuty receiver
PLATFORM_METRICS_PORT = 9600  # the platform's internal /metrics listener
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
NODE_EXPORTER_PORT = 9100  # prometheus-node-exporter's standard port
POSTGRES_EXPORTER_PORT = 9187  # prometheus-postgres-exporter's standard port
