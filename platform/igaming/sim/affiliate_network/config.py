"""Knobs of the affiliate network simulator: faults, per-affiliate secrets and terms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class NetworkKnobs(BaseModel):
    """Faults: down (503), slow (latency), 5xx rate, accepting-but-losing rate."""

    model_config = ConfigDict(extra="forbid")

    down: bool = False
    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 0
    error_rate: Rate = 0.0
    loss_rate: Rate = 0.0


class NetworkAffiliate(BaseModel):
    """An affiliate as the network knows it: its secret and the commission it expects."""

    model_config = ConfigDict(extra="forbid")

    secret: str | None = None
    cpa: str = "50.00"  # per approved FTD, major units of the conversion's currency
    revshare_bps: Annotated[int, Field(ge=0, le=10_000)] = 2500
    knobs: NetworkKnobs | None = None  # overrides the network-wide knobs


class AffiliateNetworkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    knobs: NetworkKnobs = Field(default_factory=NetworkKnobs)
    affiliates: dict[str, NetworkAffiliate] = Field(default_factory=dict)

    def affiliate(self, name: str) -> NetworkAffiliate:
        return self.affiliates.get(name) or NetworkAffiliate()

    def secret_for(self, name: str) -> str:
        return self.affiliate(name).secret or f"dev-secret-{name}"

    def knobs_for(self, name: str) -> NetworkKnobs:
        return self.affiliate(name).knobs or self.knobs


def load_config(path: str | Path | None) -> AffiliateNetworkConfig:
    """Read a JSON config file; no path means the defaults."""
    if path is None:
        return AffiliateNetworkConfig()
    return AffiliateNetworkConfig.model_validate(json.loads(Path(path).read_text("utf-8")))
