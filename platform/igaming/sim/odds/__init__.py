"""Odds feed simulator: fixtures, odds, bet stops, results and rollbacks pushed to the
platform's ``POST /sportsbook/feed``, with lag, outages and faults as knobs."""

from igaming.sim.odds.app import create_app, serve
from igaming.sim.odds.config import OddsSimConfig, load_config
from igaming.sim.odds.dispatcher import Delivery, FeedDispatcher
from igaming.sim.odds.simulator import OddsFeedSimulator
from igaming.sim.odds.world import FeedWorld

__all__ = [
    "Delivery",
    "FeedDispatcher",
    "FeedWorld",
    "OddsFeedSimulator",
    "OddsSimConfig",
    "create_app",
    "load_config",
    "serve",
]
