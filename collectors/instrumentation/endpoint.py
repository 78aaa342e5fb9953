"""The /metrics endpoint: Prometheus text by default, OpenMetrics (with exemplars) when
the scraper's Accept header asks for it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

METRICS_PATH = "/metrics"


def metrics_endpoint(registry: CollectorRegistry):
    """A Starlette endpoint serving ``registry``."""

    def endpoint(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    return endpoint
