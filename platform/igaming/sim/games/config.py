"""Knobs of the game provider simulator, per provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from igaming.casino.catalogue import DEFAULT_CATALOGUE

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0)]


class ProviderKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    down: bool = False  # every launch answers 503
    launch_failure_rate: Rate = 0.0
    launch_refusal_share: Rate = Field(0.5, description="share of failures answered 422")
    result_delay_seconds: Seconds = 2.0  # first bet → result (win) sent
    result_jitter_seconds: Seconds = 0.0
    timeout_rate: Rate = Field(0.0, description="bets whose answer is treated as lost")
    request_timeout_seconds: Annotated[float, Field(gt=0.0)] = 5.0
    duplicate_rate: Rate = 0.0  # a request sent twice with the same transaction id
    rollback_before_bet_rate: Rate = 0.0
    win_before_bet_rate: Rate = 0.0
    # a round whose result is never sent: it stays open in the wallet (past the window)
    no_result_rate: Rate = 0.0
    bad_signature_rate: Rate = 0.0  # signed with a rotated secret the platform lacks
    rtp_bps: Annotated[int, Field(ge=0, le=20_000)] | None = None  # overrides the games'
    stakes: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [100, 200, 500])
    retry_backoff_seconds: Annotated[float, Field(gt=0.0)] = 5.0
    retry_max_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    secret: str | None = None
    # Errors planted in each daily report (igaming.sim.games.reports.PLANTABLE: how many of
    # each kind a day), the ground truth of what a reconciler should find.
    report_discrepancies: dict[str, Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=dict
    )


class GameInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    type: str
    rtp_bps: Annotated[int, Field(ge=0, le=20_000)]


def _default_providers() -> dict[str, ProviderKnobs]:
    return {g.provider: ProviderKnobs() for g in DEFAULT_CATALOGUE}


def _default_games() -> dict[str, GameInfo]:
    return {
        g.id: GameInfo(provider=g.provider, type=g.type, rtp_bps=g.rtp_bps)
        for g in DEFAULT_CATALOGUE
    }


class GamesSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    providers: dict[str, ProviderKnobs] = Field(default_factory=_default_providers)
    games: dict[str, GameInfo] = Field(default_factory=_default_games)
    # Live mode: every open session plays a round this often (0: only when asked to).
    autoplay_interval_seconds: Seconds = 0.0

    def secret_for(self, provider: str) -> str:
        knobs = self.providers.get(provider)
        return knobs.secret if knobs is not None and knobs.secret else f"dev-secret-{provider}"


def load_config(path: str | Path | None) -> GamesSimConfig:
    """Read a JSON config file; no path means the defaults."""
    if path is None:
        return GamesSimConfig()
    return GamesSimConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
