"""Platform metrics test helpers: a sample read by catalog declaration, deposits and
signed PSP callbacks (shared by the metrics tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from collectors.catalog.base import Metric
from igaming.cashier import deposits
from igaming.cashier.callbacks import handle_callback
from tests.fakes import callback_body, signature


def sample(registry: CollectorRegistry, metric: Metric, suffix: str = "", **labels: str) -> float:
    """A sample's value by catalog declaration; a missing series fails the test."""
    name = (metric.name if metric.type == "histogram" else metric.exposed_name) + suffix
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"no series {name}{labels}"
    return value


def deliver(p, d, status, *, event_id=None, secret=None):
    body = callback_body(
        merchant_reference=d.id,
        status=status,
        amount=d.amount,
        currency=d.currency,
        psp=d.psp,
        occurred_at=p.clock.now(),
        event_id=event_id,
    )
    return handle_callback(p, d.psp, body, signature(body, p.clock.now(), d.psp, secret))


def deposit(p, player, key, amount=2_500):
    return deposits.request_deposit(
        p, player.id, amount=amount, currency=player.currency, method="card", idempotency_key=key
    )
