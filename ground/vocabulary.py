"""The label vocabularies: every GEO, PSP, payment method, sport, game provider and
transaction type the metric catalog's label domains allow (collectors.catalog.labels).

They belong to the contract: the reference platform takes them from here, never the
other way round, so an operator plugging in a platform of its own reads them in one place.
"""

from __future__ import annotations

# The markets the reference operator serves (ISO 3166-1 alpha-2); any other is "other".
GEOS = (
    "DE",
    "GB",
    "SE",
    "FI",
    "NO",
    "NL",
    "ES",
    "IT",
    "AT",
    "DK",
    "IE",
    "PL",
    "BR",
    "CA",
    "IN",
    "MX",
    "JP",
)
DEFAULT_PSPS = ("paybridge", "nordpay", "ewallo", "pixgate")
METHODS = ("card", "ewallet", "bank_transfer", "pix", "upi", "interac")
SPORTS = (
    "football",
    "tennis",
    "basketball",
    "ice_hockey",
    "baseball",
    "american_football",
    "volleyball",
    "handball",
    "cricket",
    "rugby",
    "darts",
    "table_tennis",
    "mma",
    "esports",
)
DEFAULT_GAME_PROVIDERS = ("spinworks", "lucky_labs", "livetable")
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
DEFAULT_BRAND = "pitwatch"

# The simulator's incident types (igaming.traffic.scenario), which alerts declare they catch.
INCIDENT_TYPES = (
    "psp_degradation",
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
