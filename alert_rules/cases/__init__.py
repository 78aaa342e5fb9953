"""One module per alert domain: the promtool cases that prove its alerts' promises, apart
from the rules (``alert_rules.domains``) as a monitoring mixin keeps its tests apart."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from alert_rules.cases import (
    affiliates,
    casino,
    infrastructure,
    kyc,
    payments,
    platform,
    reconciliation,
    sportsbook,
    wallet,
)
from alert_rules.model import Case

# By domain name: built on demand (the series strings are long), as promtool needs them.
CASES: Mapping[str, Callable[[], tuple[Case, ...]]] = {
    "payments": payments.cases,
    "wallet": wallet.cases,
    "sportsbook": sportsbook.cases,
    "casino": casino.cases,
    "affiliates": affiliates.cases,
    "kyc": kyc.cases,
    "reconciliation": reconciliation.cases,
    "platform": platform.cases,
    "infrastructure": infrastructure.cases,
}
