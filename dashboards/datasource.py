"""The one Prometheus data source: provisioned under a fixed uid, read by every panel
through the ``datasource`` variable."""

from __future__ import annotations

DATASOURCE_UID = "pitwatch-prometheus"
DATASOURCE_NAME = "Prometheus"
DS = {"type": "prometheus", "uid": "${datasource}"}
