"""The odds feed protocol: signed JSON messages pushed to ``POST /sportsbook/feed``
(docs/sportsbook.md). Odds travel as decimal strings, never floats."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from ground.vocabulary import SPORTS
from igaming.sportsbook.odds import parse_odds

FEED_SIGNATURE_HEADER = "X-Feed-Signature"

MESSAGE_TYPES = ("fixture", "odds_change", "bet_stop", "result", "cancel", "rollback")

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
MarketType = Annotated[str, Field(pattern=r"^[a-z0-9_.]{1,40}$")]
Odds = Annotated[str, Field(max_length=20)]
# The columns are 64-bit: a larger sequence was a database error (a 500), not a refusal.
MAX_SEQUENCE = 2**63 - 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: Annotated[str, Field(min_length=1, max_length=100)]
    # Times without a zone cannot be compared with the platform's clock: refused.
    sent_at: AwareDatetime
    # The feed's counter, increasing with every message it sends (order safety).
    sequence: Annotated[int, Field(ge=1, le=MAX_SEQUENCE)]


def _check_odds(odds: dict[str, str]) -> dict[str, str]:
    for text in odds.values():
        parse_odds(text)
    return odds


def _check_one(text: str) -> str:
    parse_odds(text)
    return text


class SelectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selection_id: Id
    name: Name
    odds: Odds

    _odds = field_validator("odds")(_check_one)


class MarketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    market_id: Id
    type: MarketType
    selections: Annotated[list[SelectionIn], Field(min_length=1, max_length=50)]


class FixtureMessage(_Message):
    """Creates a fixture and its markets (active), or updates the fixture's details."""

    type: Literal["fixture"]
    fixture_id: Id
    sport: Literal[SPORTS]  # type: ignore[valid-type]
    competition: Name
    home: Name
    away: Name
    starts_at: AwareDatetime
    markets: Annotated[list[MarketIn], Field(max_length=200)] = []


class OddsChange(_Message):
    """New odds for some selections; ``status`` may also suspend or reopen the market."""

    type: Literal["odds_change"]
    market_id: Id
    odds: Annotated[dict[Id, Odds], Field(max_length=50)]
    status: Literal["active", "suspended"] | None = None

    _odds = field_validator("odds")(_check_odds)


class BetStop(_Message):
    """Suspend the fixture's active markets (all, or those listed)."""

    type: Literal["bet_stop"]
    fixture_id: Id
    market_ids: Annotated[list[Id], Field(max_length=200)] | None = None


class Result(_Message):
    """The official result of a market: selections won or void; those not named lost."""

    type: Literal["result"]
    market_id: Id
    result_at: AwareDatetime
    results: Annotated[dict[Id, Literal["won", "lost", "void"]], Field(max_length=50)]


class Cancel(_Message):
    """The market is cancelled: every bet on it is void."""

    type: Literal["cancel"]
    market_id: Id
    result_at: AwareDatetime


class Rollback(_Message):
    """The market's last result was wrong: undo its settlement."""

    type: Literal["rollback"]
    market_id: Id


FeedMessageIn = Annotated[
    FixtureMessage | OddsChange | BetStop | Result | Cancel | Rollback,
    Field(discriminator="type"),
]
feed_message_adapter: TypeAdapter[FeedMessageIn] = TypeAdapter(FeedMessageIn)
