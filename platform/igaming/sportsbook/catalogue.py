"""Reading the book: fixtures with their markets and selections."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from igaming.errors import NotFound
from igaming.sportsbook.models import Fixture, Market, Selection


@dataclass(frozen=True)
class MarketView:
    market: Market
    selections: list[Selection]


@dataclass(frozen=True)
class FixtureView:
    fixture: Fixture
    markets: list[MarketView]


def _selections(session: Session, market_ids: list[str]) -> dict[str, list[Selection]]:
    out: dict[str, list[Selection]] = {m: [] for m in market_ids}
    if market_ids:
        for sel in session.execute(
            select(Selection).where(Selection.market_id.in_(market_ids)).order_by(Selection.id)
        ).scalars():
            out[sel.market_id].append(sel)
    return out


def open_fixtures(
    session: Session, sport: str | None = None, limit: int = 100
) -> list[FixtureView]:
    """Fixtures with at least one active or suspended market, soonest first."""
    open_markets = select(Market.fixture_id).where(Market.status.in_(("active", "suspended")))
    query = select(Fixture).where(Fixture.id.in_(open_markets))
    if sport is not None:
        query = query.where(Fixture.sport == sport)
    fixtures = list(
        session.execute(query.order_by(Fixture.starts_at, Fixture.id).limit(limit)).scalars()
    )
    markets = list(
        session.execute(
            select(Market)
            .where(Market.fixture_id.in_([f.id for f in fixtures]))
            .order_by(Market.id)
        ).scalars()
    )
    selections = _selections(session, [m.id for m in markets])
    by_fixture: dict[str, list[MarketView]] = {f.id: [] for f in fixtures}
    for m in markets:
        by_fixture[m.fixture_id].append(MarketView(m, selections[m.id]))
    return [FixtureView(f, by_fixture[f.id]) for f in fixtures]


def get_market(session: Session, market_id: str) -> MarketView:
    market = session.get(Market, market_id)
    if market is None:
        raise NotFound(f"market {market_id} not found")
    return MarketView(market, _selections(session, [market.id])[market.id])
