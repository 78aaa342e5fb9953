"""Sportsbook: the book, bets, cash-out, and the odds feed's pushes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ground.money import MAX_AMOUNT_MINOR
from igaming.api.deps import IdempotencyKey, PlatformDep, PlayerDep
from igaming.sportsbook import bets, cashout, catalogue, feed
from igaming.sportsbook.catalogue import MarketView
from igaming.sportsbook.errors import BetRefused
from igaming.sportsbook.models import Bet
from igaming.sportsbook.odds import format_odds

router = APIRouter(tags=["sportsbook"])


class SelectionOut(BaseModel):
    id: str
    name: str
    odds: str
    result: str | None


class MarketOut(BaseModel):
    id: str
    fixture_id: str
    type: str
    status: str
    odds_updated_at: datetime
    selections: list[SelectionOut]

    @classmethod
    def of(cls, view: MarketView) -> MarketOut:
        m = view.market
        return cls(
            id=m.id,
            fixture_id=m.fixture_id,
            type=m.type,
            status=m.status,
            odds_updated_at=m.odds_updated_at,
            selections=[
                SelectionOut(id=s.id, name=s.name, odds=format_odds(s.odds_milli), result=s.result)
                for s in view.selections
            ],
        )


class FixtureOut(BaseModel):
    id: str
    sport: str
    competition: str
    home: str
    away: str
    starts_at: datetime
    markets: list[MarketOut]


class BetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selection_id: str = Field(min_length=1, max_length=64)
    stake: int = Field(gt=0, le=MAX_AMOUNT_MINOR, description="minor units")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    # Read by igaming.sportsbook.odds.parse_odds, which refuses any other shape (422).
    odds: str = Field(
        max_length=20,
        description="decimal odds the player saw, e.g. '2.15': 1 to 4 digits, optionally a "
        "point and at most three decimals; no exponent, sign, NaN or inf",
    )


class BetOut(BaseModel):
    id: str
    status: str
    reason: str | None
    selection_id: str
    market_id: str
    sport: str
    stake: int
    currency: str
    odds: str
    requested_odds: str
    potential_payout: int
    payout: int | None
    placed_at: datetime
    result_at: datetime | None
    settled_at: datetime | None
    settlement_lag_seconds: float | None

    @classmethod
    def of(cls, b: Bet) -> BetOut:
        return cls(
            id=b.id,
            status=b.status,
            reason=b.reason,
            selection_id=b.selection_id,
            market_id=b.market_id,
            sport=b.sport,
            stake=b.stake,
            currency=b.currency,
            odds=format_odds(b.odds_milli),
            requested_odds=format_odds(b.requested_odds_milli),
            potential_payout=b.potential_payout,
            payout=b.payout,
            placed_at=b.placed_at,
            result_at=b.result_at,
            settled_at=b.settled_at,
            settlement_lag_seconds=b.settlement_lag_seconds,
        )


class CashoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minimum_amount: int | None = Field(None, ge=0, description="refuse if the value fell below")


class CashoutQuoteOut(BaseModel):
    bet_id: str
    amount: int
    currency: str
    current_odds: str


@router.get("/sportsbook/fixtures", response_model=list[FixtureOut])
def list_fixtures(
    p: PlatformDep, sport: Annotated[str | None, Query(max_length=32)] = None
) -> list[FixtureOut]:
    with p.session_factory() as session:
        views = catalogue.open_fixtures(session, sport)
    return [
        FixtureOut(
            id=v.fixture.id,
            sport=v.fixture.sport,
            competition=v.fixture.competition,
            home=v.fixture.home,
            away=v.fixture.away,
            starts_at=v.fixture.starts_at,
            markets=[MarketOut.of(m) for m in v.markets],
        )
        for v in views
    ]


@router.get("/sportsbook/markets/{market_id}", response_model=MarketOut)
def get_market(market_id: str, p: PlatformDep) -> MarketOut:
    with p.session_factory() as session:
        return MarketOut.of(catalogue.get_market(session, market_id))


@router.post("/sportsbook/bets", status_code=201, response_model=BetOut)
def place_bet(body: BetIn, p: PlatformDep, player_id: PlayerDep, key: IdempotencyKey) -> BetOut:
    bet = bets.place_bet(
        p,
        player_id,
        selection_id=body.selection_id,
        stake=body.stake,
        currency=body.currency,
        odds=body.odds,
        idempotency_key=key,
    )
    if bet.status == "rejected":
        raise BetRefused(f"bet rejected: {bet.reason}", reason=bet.reason or "", bet_id=bet.id)
    return BetOut.of(bet)


@router.get("/sportsbook/bets", response_model=list[BetOut])
def my_bets(p: PlatformDep, player_id: PlayerDep) -> list[BetOut]:
    with p.session_factory() as session:
        return [BetOut.of(b) for b in bets.list_bets(session, player_id)]


@router.get("/sportsbook/bets/{bet_id}", response_model=BetOut)
def get_bet(bet_id: str, p: PlatformDep, player_id: PlayerDep) -> BetOut:
    with p.session_factory() as session:
        return BetOut.of(bets.get_bet(session, player_id, bet_id))


@router.get("/sportsbook/bets/{bet_id}/cashout", response_model=CashoutQuoteOut)
def cashout_quote(bet_id: str, p: PlatformDep, player_id: PlayerDep) -> CashoutQuoteOut:
    q = cashout.quote(p, player_id, bet_id)
    return CashoutQuoteOut(
        bet_id=q.bet_id,
        amount=q.amount,
        currency=q.currency,
        current_odds=format_odds(q.current_odds_milli),
    )


@router.post("/sportsbook/bets/{bet_id}/cashout", response_model=BetOut)
def cash_out(bet_id: str, body: CashoutIn, p: PlatformDep, player_id: PlayerDep) -> BetOut:
    return BetOut.of(cashout.cash_out(p, player_id, bet_id, minimum_amount=body.minimum_amount))


@router.post("/sportsbook/feed", tags=["odds-feed"])
async def odds_feed(
    request: Request,
    p: PlatformDep,
    x_feed_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The odds feed's push. Answers in the feed's vocabulary: ``{"outcome": ...}``."""
    body = await request.body()
    try:
        result = await run_in_threadpool(feed.handle_feed_message, p, body, x_feed_signature)
    except feed.FeedRefused as exc:
        return JSONResponse({"outcome": exc.outcome, "detail": exc.detail}, exc.status)
    return JSONResponse(
        {"outcome": result.outcome, "message_id": result.message_id, "detail": result.detail}
    )
