"""The label vocabularies: every GEO, PSP, payment method, sport, game provider, currency
and transaction type the metric catalog's label domains allow (collectors.catalog.labels).
The operator's own (markets, PSPs, ...) come from its configuration file (ground.operator,
docs/operator-config.md); transaction and incident types are pitwatch's.

They belong to the contract: the reference platform takes them from here, never the
other way round, so an operator plugging in a platform of its own reads them in one place.
"""

from __future__ import annotations

from ground.operator import OperatorConfig, load, selected_path

# The operator configuration in force: PITWATCH_OPERATOR_CONFIG, else the reference
# operator's (ground/reference-operator.toml). Read once, here, so that every importer
# (the catalog's label domains, the rules, the dashboards) sees the same operator; a
# process that wants another operator sets the variable before importing anything of
# ours (pitwatch.cli.operator does, or runs the command in a child process).
OPERATOR_SOURCE = selected_path()
OPERATOR: OperatorConfig = load(OPERATOR_SOURCE)

# The markets the operator serves (ISO 3166-1 alpha-2); any other is "other".
GEOS: tuple[str, ...] = OPERATOR.markets
DEFAULT_PSPS: tuple[str, ...] = tuple(OPERATOR.psps)
METHODS: tuple[str, ...] = OPERATOR.methods
SPORTS: tuple[str, ...] = OPERATOR.sports
DEFAULT_GAME_PROVIDERS: tuple[str, ...] = OPERATOR.game_providers
CURRENCIES: tuple[str, ...] = OPERATOR.currencies
# Open labels: a configured list wins over the first N values seen (empty: open).
BRANDS: tuple[str, ...] = OPERATOR.brands
AFFILIATES: tuple[str, ...] = () if OPERATOR.affiliates == "database" else OPERATOR.affiliates
AFFILIATES_FROM_DATABASE: bool = OPERATOR.affiliates == "database"
CAMPAIGNS: tuple[str, ...] = OPERATOR.campaigns
PRODUCTS: tuple[str, ...] = OPERATOR.products
TX_TYPES = frozenset(
    {
        "deposit",
        "withdrawal",
        "bet",
        "win",
        "rollback",
        "bonus_grant",
        "bonus_conversion",
        "bonus_forfeit",
        "adjustment",
        "chargeback",
        "reversal",
    }
)
# The brand a player registers under when none is given.
DEFAULT_BRAND: str = OPERATOR.default_brand

# The simulator's incident types (igaming.traffic.scenario), which alerts declare they catch.
INCIDENT_TYPES = (
    "psp_degradation",
    "psp_outage",
    "psp_callback_delay",
    "psp_callback_loss",
    "psp_callback_duplicates",
    "postback_outage",
    "postback_dispatcher_stall",
    "odds_feed_lag",
    "settlement_stall",
    "kyc_vendor_down",
    "game_provider_errors",
    "traffic_surge",
    "deploy",
    "db_slowdown",
)
# The scope an incident carries (igaming.traffic.scenario): the keys of incidents.jsonl's
# ``scope``, which an alert's labels are matched against when the backtest scores it.
INCIDENT_SCOPE_KEYS = ("psp", "geo", "method", "affiliate", "campaign", "provider")
