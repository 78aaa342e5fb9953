"""Knobs of the odds feed simulator (all changeable at run time through /admin/config)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ground.ports import ODDS_SIM_PORT, PLATFORM_PORT

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(ge=0.0)]

DEFAULT_SPORTS = {"football": 0.5, "tennis": 0.2, "basketball": 0.15, "ice_hockey": 0.15}
COMPETITIONS = {
    "football": ("Bundesliga", "Premier League", "LaLiga", "Serie A"),
    "tennis": ("ATP Vienna", "WTA Linz"),
    "basketball": ("EuroLeague", "NBA"),
    "ice_hockey": ("NHL", "SHL"),
}
DEFAULT_PORT = ODDS_SIM_PORT


class OddsSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    feed_url: str = f"http://127.0.0.1:{PLATFORM_PORT}/sportsbook/feed"
    secret: str = "dev-secret-oddsfeed"
    # Delivery: every message leaves ``lag_seconds`` (+ up to ``lag_jitter_seconds``, which
    # may reorder messages) after the feed produced it. ``down`` is an outage: nothing is
    # delivered, the backlog waits and goes out late when the outage ends.
    lag_seconds: Seconds = 1.0
    lag_jitter_seconds: Seconds = 0.5
    down: bool = False
    duplicate_rate: Rate = 0.0
    bad_signature_rate: Rate = 0.0
    retry_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    retry_backoff_seconds: Annotated[float, Field(gt=0.0)] = 2.0
    # The world: how many fixtures are open at a time and how they unfold.
    open_fixtures: Annotated[int, Field(ge=0, le=1000)] = 6
    # At most one new fixture per this many seconds (0: open them all at once), so that
    # kick-offs spread over the day instead of arriving in waves.
    stagger_seconds: Seconds = 0.0
    sports: dict[str, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=lambda: dict(DEFAULT_SPORTS)
    )
    pre_match_seconds: Seconds = 900.0
    match_seconds: Seconds = 1800.0
    odds_change_interval_seconds: Annotated[float, Field(gt=0.0)] = 60.0
    margin_bps: Annotated[int, Field(ge=0, le=3000)] = 600
    cancel_rate: Rate = 0.0
    rollback_rate: Rate = 0.0
    rollback_delay_seconds: Seconds = 120.0


def load_config(path: str | Path | None) -> OddsSimConfig:
    """Read a JSON config file; no path means the defaults."""
    if path is None:
        return OddsSimConfig()
    return OddsSimConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
