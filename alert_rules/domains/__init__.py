"""One module per alert domain: its recording rules and alerts (their promtool cases are in
``alert_rules.cases``)."""
