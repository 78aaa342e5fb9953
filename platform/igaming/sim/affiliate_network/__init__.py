"""Affiliate network simulator: receives signed postbacks, faults on demand, exports CSV."""

from igaming.sim.affiliate_network.app import DEFAULT_PORT, create_app, export_for, serve
from igaming.sim.affiliate_network.config import (
    AffiliateNetworkConfig,
    NetworkAffiliate,
    NetworkKnobs,
    load_config,
)
from igaming.sim.affiliate_network.network import COLUMNS, Network, Record, export_csv

__all__ = [
    "COLUMNS",
    "DEFAULT_PORT",
    "AffiliateNetworkConfig",
    "Network",
    "NetworkAffiliate",
    "NetworkKnobs",
    "Record",
    "create_app",
    "export_csv",
    "export_for",
    "load_config",
    "serve",
]
