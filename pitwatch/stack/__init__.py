"""The whole stack: the platform, its simulators, the collectors, the reconciliation
scheduler, Prometheus and Alertmanager, run natively or with docker compose."""
