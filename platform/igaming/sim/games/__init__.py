"""Game provider simulator: providers that open game sessions and play rounds against the
platform's seamless wallet, faults included (docs/casino-seamless-wallet.md)."""

from igaming.sim.games.app import create_app, serve
from igaming.sim.games.config import GamesSimConfig, ProviderKnobs, load_config
from igaming.sim.games.simulator import GameProviderSimulator, SimRound, SimSession

__all__ = [
    "GameProviderSimulator",
    "GamesSimConfig",
    "ProviderKnobs",
    "SimRound",
    "SimSession",
    "create_app",
    "load_config",
    "serve",
]
