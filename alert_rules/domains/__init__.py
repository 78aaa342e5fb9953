"""One module per alert domain: recording rules, alerts and their promtool cases."""
