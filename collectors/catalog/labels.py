"""Label domains: every value a label may carry, or a top-N rule that folds the rest
into ``other``. No label here can carry a player id, an email, a click id or a
transaction id."""

from __future__ import annotations

from collectors.catalog.base import OTHER, LabelDomain
from ground.vocabulary import (
    AFFILIATES,
    AFFILIATES_FROM_DATABASE,
    BRANDS,
    CAMPAIGNS,
    CURRENCIES,
    DEFAULT_GAME_PROVIDERS,
    DEFAULT_PSPS,
    GEOS,
    METHODS,
    SPORTS,
    TX_TYPES,
)

GEO = LabelDomain("geo", (*GEOS, OTHER), description="ISO 3166-1 alpha-2, else other")
PSP = LabelDomain("psp", (*DEFAULT_PSPS, OTHER))
METHOD = LabelDomain("method", (*METHODS, OTHER), description="payment method")


def _open(
    name: str, n: int, what: str, configured: tuple[str, ...], database: bool = False
) -> LabelDomain:
    """An open label: the operator's configured values when it lists them, the values the
    contract views list when it says "database", else the first ``n`` seen."""
    if configured:
        about = f"{what}: the {len(configured)} configured, else other"
    elif database:
        about = f"{what}: those with a conversion (first {n}), else other"
    else:
        about = f"{what}: first {n} seen, else other"
    return LabelDomain(
        name,
        open_top_n=max(n, len(configured)),
        description=about,
        configured=configured,
        from_database=database,
    )


BRAND = _open("brand", 20, "operator brand", BRANDS)
PRODUCT = LabelDomain("product", ("sportsbook", "casino"))
SPORT = LabelDomain("sport", (*SPORTS, OTHER))
PROVIDER = LabelDomain("provider", (*DEFAULT_GAME_PROVIDERS, OTHER), description="game provider")
AFFILIATE = _open("affiliate", 50, "affiliate", AFFILIATES, AFFILIATES_FROM_DATABASE)
CAMPAIGN = _open("campaign", 50, "campaign", CAMPAIGNS, AFFILIATES_FROM_DATABASE)
CURRENCY = LabelDomain("currency", (*CURRENCIES, OTHER))
HTTP_METHOD = LabelDomain("http_method", ("GET", "POST", "PUT", "PATCH", "DELETE", OTHER))
STATUS_CLASS = LabelDomain("status_class", ("1xx", "2xx", "3xx", "4xx", "5xx"))
ROUTE = LabelDomain(
    "route",
    open_top_n=200,
    description="the route template (/cashier/deposits/{deposit_id}), never the path",
)


def outcome(*values: str, name: str = "outcome") -> LabelDomain:
    """A fixed set of outcomes (or reasons) of one flow."""
    return LabelDomain(name, tuple(values))


# -- domains of the platform's own /metrics (collectors.catalog.platform) ----------------

TX_TYPE = LabelDomain("tx_type", tuple(sorted(TX_TYPES)), description="wallet transaction type")
KYC_STATUS = outcome("approved", "rejected", "manual_review", "provider_unavailable", name="status")
DB_STATEMENT = LabelDomain(
    "statement", ("select", "insert", "update", "delete", OTHER), description="SQL verb"
)

# State collectors (collectors/state): the collector families, the outbox consumers, and
# the ledger invariants the incremental check verifies.
COLLECTOR = outcome(
    "payments",
    "affiliates",
    "sportsbook",
    "kyc",
    "outbox",
    "ledger",
    "reconciliation",
    "backup",
    name="collector",
)
OUTBOX_CONSUMER = LabelDomain("consumer", ("affiliates", OTHER), description="outbox consumer")
LEDGER_VIOLATION = outcome(
    "unbalanced_transaction", "balance_mismatch", "negative_balance", name="kind"
)
