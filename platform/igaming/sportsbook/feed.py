"""Odds feed messages: verified, recorded (refused ones as bounded samples), applied once
and in order. A redelivered message id is a duplicate; an odds change or bet stop older
than the market's last applied sequence is stale; a result for a settled market is a
duplicate. While settlement is paused (igaming.faults) a result is recorded and deferred;
``settle_deferred`` applies the deferred ones once it resumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from igaming.bootstrap import Platform
from igaming.errors import DomainError
from igaming.partner_body import prune_samples, refused_fields, sample_body
from igaming.partners.signing import SignatureError, verify
from igaming.sportsbook.events import FeedMessageReceived, MarketSuspended
from igaming.sportsbook.models import FeedMessage, Fixture, Market, Selection
from igaming.sportsbook.odds import parse_odds
from igaming.sportsbook.protocol import (
    MESSAGE_TYPES,
    BetStop,
    Cancel,
    FeedMessageIn,
    FixtureMessage,
    OddsChange,
    Result,
    Rollback,
    feed_message_adapter,
)
from igaming.sportsbook.settlement import rollback_market, settle_market
from igaming.uow import UnitOfWork

# Outcomes after which a redelivery of the same message id is a duplicate.
CLAIMING = ("applied", "stale", "duplicate", "deferred")
# Outcomes answered 409 so that the feed redelivers later (the market the message is about
# has not arrived yet).
RETRYABLE = ("orphan",)
# Outcomes of messages refused (never applied): kept as samples only (igaming.partner_body).
REFUSED = ("bad_signature", "invalid")


class FeedRefused(DomainError):
    """A message the platform will not process; the feed answer names the outcome."""

    def __init__(self, detail: str, *, outcome: str, status: int) -> None:
        super().__init__(detail, outcome=outcome)
        self.outcome, self.status = outcome, status
        self.type, self.title = f"feed-{outcome.replace('_', '-')}", "Feed message refused"


@dataclass(frozen=True)
class FeedResult:
    outcome: str
    message_id: str
    detail: str | None = None


def handle_feed_message(p: Platform, body: bytes, signature: str | None) -> FeedResult:
    """Verify, record and apply one feed message. Raises FeedRefused: 401 bad signature,
    422 invalid, 409 orphan (a market not known yet: worth a redelivery later)."""
    now = p.clock.now()
    try:
        verify(p.settings.odds_feed_secret, signature, body, now.timestamp())
    except SignatureError as exc:
        _record_refused(p, body, now, "bad_signature", str(exc))
        raise FeedRefused(
            f"feed signature rejected: {exc}", outcome="bad_signature", status=401
        ) from exc
    try:
        msg = feed_message_adapter.validate_json(body)
    except ValidationError as exc:
        _record_refused(p, body, now, "invalid", str(exc.errors()[:3]))
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        raise FeedRefused(
            f"not a valid feed message: {where}: {err['msg']}", outcome="invalid", status=422
        ) from exc

    with p.uow() as uow:
        row_id = _claim(uow, msg, body, now)
        if row_id is None:
            uow.session.execute(
                update(FeedMessage)
                .where(FeedMessage.dedup_key == msg.message_id)
                .values(duplicates=FeedMessage.duplicates + 1)
            )
            sport = _sport_of(uow, msg)
            _emit_received(uow, msg.type, "duplicate", sport, msg.sent_at, now)
            uow.commit()
            return FeedResult("duplicate", msg.message_id, "message already received")
        outcome, sport, detail = APPLY[msg.type](p, uow, msg, now)  # type: ignore[operator]
        if outcome == "invalid":
            uow.rollback()  # nothing of a message that contradicts the book is kept
        else:
            _finish(uow, row_id, msg, outcome, sport, detail, now)
    if outcome == "invalid":
        _record_refused(p, body, now, "invalid", detail or "inconsistent message")
        raise FeedRefused(detail or "inconsistent message", outcome="invalid", status=422)
    if outcome in RETRYABLE:
        raise FeedRefused(detail or outcome, outcome=outcome, status=409)
    return FeedResult(outcome, msg.message_id, detail)


def _finish(
    uow: UnitOfWork,
    row_id: int,
    msg: FeedMessageIn,
    outcome: str,
    sport: str,
    detail: str | None,
    now: datetime,
) -> None:
    row = uow.session.get(FeedMessage, row_id)
    assert row is not None
    row.outcome, row.sport, row.detail = outcome, sport, detail
    if outcome not in CLAIMING:
        row.dedup_key = None  # let a redelivery try again
    _emit_received(uow, msg.type, outcome, sport, msg.sent_at, now)
    uow.commit()


def _claim(uow: UnitOfWork, msg: FeedMessageIn, body: bytes, now: datetime) -> int | None:
    """Insert the message's row keyed by its id; None if that id was already processed.
    A concurrent redelivery waits on the unique index, then finds it taken."""
    session = uow.session
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return session.execute(
        dialect.insert(FeedMessage)
        .values(
            dedup_key=msg.message_id,
            message_id=msg.message_id,
            type=msg.type,
            outcome="received",
            sport="unknown",
            fixture_id=getattr(msg, "fixture_id", None),
            market_id=getattr(msg, "market_id", None),
            sequence=msg.sequence,
            duplicates=0,
            sent_at=msg.sent_at,
            received_at=now,
            body=body.decode(errors="replace")[:20000],
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(FeedMessage.id)
    ).scalar_one_or_none()


def _emit_received(
    uow: UnitOfWork,
    message_type: str,
    outcome: str,
    sport: str,
    sent_at: datetime | None,
    now: datetime,
) -> None:
    uow.emit(_received_event(message_type, outcome, sport, sent_at, now))


def _received_event(
    message_type: str, outcome: str, sport: str, sent_at: datetime | None, now: datetime
) -> FeedMessageReceived:
    delay = max(0.0, (now - sent_at).total_seconds()) if sent_at is not None else None
    return FeedMessageReceived(
        occurred_at=now,
        message_type=message_type,
        outcome=outcome,
        sport=sport,
        delay_seconds=delay,
    )


def _sport_of(uow: UnitOfWork, msg: FeedMessageIn) -> str:
    fixture_id = getattr(msg, "fixture_id", None)
    if fixture_id is None:
        market = uow.session.get(Market, getattr(msg, "market_id", ""))
        fixture_id = market.fixture_id if market is not None else None
    fixture = uow.session.get(Fixture, fixture_id) if fixture_id else None
    return fixture.sport if fixture is not None else "unknown"


def _locked_market(uow: UnitOfWork, market_id: str) -> tuple[Market, Fixture] | None:
    market = uow.session.get(Market, market_id, with_for_update=True)
    if market is None:
        return None
    fixture = uow.session.get(Fixture, market.fixture_id)
    assert fixture is not None
    return market, fixture


Applied = tuple[str, str, str | None]  # outcome, sport, detail


def _apply_fixture(p: Platform, uow: UnitOfWork, msg: FixtureMessage, now: datetime) -> Applied:
    s = uow.session
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    # Insert-or-nothing, then lock: concurrent creations of one fixture do not collide.
    s.execute(
        dialect.insert(Fixture)
        .values(
            id=msg.fixture_id,
            sport=msg.sport,
            competition=msg.competition,
            home=msg.home,
            away=msg.away,
            starts_at=msg.starts_at,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    fixture = s.get(Fixture, msg.fixture_id, with_for_update=True)
    assert fixture is not None
    if fixture.sport != msg.sport:
        return "invalid", fixture.sport, f"fixture is {fixture.sport}, not {msg.sport}"
    fixture.competition, fixture.home, fixture.away = msg.competition, msg.home, msg.away
    fixture.starts_at, fixture.updated_at = msg.starts_at, now
    created = 0
    for m in msg.markets:
        existing = s.get(Market, m.market_id)
        if existing is not None:
            if existing.fixture_id != fixture.id:
                return "invalid", fixture.sport, f"market {m.market_id} is of another fixture"
            continue
        s.add(
            Market(
                id=m.market_id,
                fixture_id=fixture.id,
                type=m.type,
                status="active",
                feed_sequence=msg.sequence,
                settle_sequence=0,
                odds_updated_at=now,
                generation=1,
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()
        for sel in m.selections:
            s.add(
                Selection(
                    id=sel.selection_id,
                    market_id=m.market_id,
                    name=sel.name,
                    odds_milli=parse_odds(sel.odds),
                    updated_at=now,
                )
            )
        created += 1
    return "applied", fixture.sport, f"{created} markets created"


def _apply_odds(p: Platform, uow: UnitOfWork, msg: OddsChange, now: datetime) -> Applied:
    found = _locked_market(uow, msg.market_id)
    if found is None:
        return "orphan", "unknown", f"market {msg.market_id} not known"
    market, fixture = found
    if market.status in ("settled", "cancelled"):
        return "stale", fixture.sport, f"market is {market.status}"
    if msg.sequence <= market.feed_sequence:
        return "stale", fixture.sport, f"sequence {msg.sequence} <= {market.feed_sequence}"
    selections = {
        sel.id: sel
        for sel in uow.session.execute(
            select(Selection).where(Selection.market_id == market.id)
        ).scalars()
    }
    unknown = sorted(set(msg.odds) - set(selections))
    if unknown:
        return "invalid", fixture.sport, f"unknown selections {unknown[:5]}"
    for sel_id, text in msg.odds.items():
        selections[sel_id].odds_milli, selections[sel_id].updated_at = parse_odds(text), now
    market.feed_sequence, market.odds_updated_at, market.updated_at = msg.sequence, now, now
    if msg.status == "suspended" and market.status == "active":
        _suspend(uow, market, fixture, now, "odds_change")
    elif msg.status == "active":
        market.status = "active"
    return "applied", fixture.sport, None


def _suspend(uow: UnitOfWork, market: Market, fixture: Fixture, now: datetime, why: str) -> None:
    market.status, market.updated_at = "suspended", now
    uow.emit(
        MarketSuspended(
            occurred_at=now,
            market_id=market.id,
            fixture_id=fixture.id,
            sport=fixture.sport,
            market_type=market.type,
            reason=why,
        )
    )


def _apply_bet_stop(p: Platform, uow: UnitOfWork, msg: BetStop, now: datetime) -> Applied:
    fixture = uow.session.get(Fixture, msg.fixture_id)
    if fixture is None:
        return "orphan", "unknown", f"fixture {msg.fixture_id} not known"
    query = select(Market).where(Market.fixture_id == fixture.id)
    if msg.market_ids is not None:
        query = query.where(Market.id.in_(msg.market_ids))
    markets = list(uow.session.execute(query.order_by(Market.id).with_for_update()).scalars())
    suspended = stale = 0
    for market in markets:
        if msg.sequence <= market.feed_sequence:
            stale += 1
            continue
        if market.status in ("active", "suspended"):
            market.feed_sequence = max(market.feed_sequence, msg.sequence)
        if market.status == "active":  # settled and cancelled markets stay as they are
            _suspend(uow, market, fixture, now, "bet_stop")
            suspended += 1
    if markets and stale == len(markets):
        return "stale", fixture.sport, "older than every market's state"
    return "applied", fixture.sport, f"{suspended} markets suspended"


def _apply_result(p: Platform, uow: UnitOfWork, msg: Result | Cancel, now: datetime) -> Applied:
    found = _locked_market(uow, msg.market_id)
    if found is None:
        return "orphan", "unknown", f"market {msg.market_id} not known"
    market, fixture = found
    settled = market.status in ("settled", "cancelled")
    if msg.sequence <= market.settle_sequence and not settled:
        return "stale", fixture.sport, "withdrawn by a later rollback"
    if settled:
        # Kept as a duplicate; if a rollback older than it arrives later, it applies then.
        return "duplicate", fixture.sport, f"market already {market.status}"
    if p.faults.current.settlement_paused:
        # A stalled settlement worker: the result is known (the backlog shows it), the bets
        # wait for settle_deferred.
        market.result_at, market.updated_at = msg.result_at, now
        return "deferred", fixture.sport, "settlement paused; bets stay open"
    n = _settle(p, uow, market, msg, now)
    return "applied", fixture.sport, f"{n} bets settled"


def settle_deferred(p: Platform, limit: int = 500) -> int:
    """Apply the results and cancels deferred by a settlement pause, in the order they were
    received, one unit of work each; returns how many were handled (none while paused)."""
    if p.faults.current.settlement_paused:
        return 0
    with p.session_factory() as session:
        rows = session.execute(
            select(FeedMessage.id, FeedMessage.market_id)
            .where(FeedMessage.outcome == "deferred")
            .order_by(FeedMessage.id)
            .limit(limit)
        ).all()
    handled = 0
    for row_id, market_id in rows:
        if p.faults.current.settlement_paused:
            break  # paused again meanwhile: the rest waits
        now = p.clock.now()
        with p.uow() as uow:
            # The market's lock first, as every feed message takes it: no lock-order cycle.
            _locked_market(uow, market_id)
            row = uow.session.get(FeedMessage, row_id, with_for_update=True)
            if row is None or row.outcome != "deferred":
                continue  # handled by someone else meanwhile
            msg = feed_message_adapter.validate_json(row.body)
            assert isinstance(msg, Result | Cancel)
            outcome, _sport, detail = _apply_result(p, uow, msg, now)
            if outcome == "deferred":
                uow.rollback()
                break
            row.outcome, row.detail = outcome, f"{outcome} after a settlement stall: {detail}"
            uow.commit()
        handled += 1
    return handled


def _settle(
    p: Platform, uow: UnitOfWork, market: Market, msg: Result | Cancel, now: datetime
) -> int:
    market.settle_sequence = msg.sequence
    return settle_market(
        p,
        uow,
        market,
        dict(msg.results) if isinstance(msg, Result) else {},
        result_at=msg.result_at,
        now=now,
        cancelled=isinstance(msg, Cancel),
    )


def _apply_rollback(p: Platform, uow: UnitOfWork, msg: Rollback, now: datetime) -> Applied:
    found = _locked_market(uow, msg.market_id)
    if found is None:
        return "orphan", "unknown", f"market {msg.market_id} not known"
    market, fixture = found
    if msg.sequence <= market.settle_sequence:
        return "stale", fixture.sport, f"sequence {msg.sequence} <= {market.settle_sequence}"
    market.settle_sequence = msg.sequence
    if market.status not in ("settled", "cancelled"):
        # It overtook the result it withdraws: that result will be stale when it comes
        # (a result deferred by a settlement pause, when it is applied).
        market.result_at = None
        return "applied", fixture.sport, "nothing settled yet; older results withdrawn"
    n = rollback_market(p, uow, market, now=now)
    detail = f"{n} bets reopened"
    parked = _newer_result(uow, market.id, msg.sequence)
    if parked is not None and p.faults.current.settlement_paused:
        row, corrected = parked
        row.outcome, row.detail = "deferred", f"deferred after rollback {msg.message_id}"
        market.result_at = corrected.result_at
        detail += f"; re-settlement by {corrected.message_id} deferred (settlement paused)"
    elif parked is not None:
        row, corrected = parked
        _settle(p, uow, market, corrected, now)
        row.outcome, row.detail = "applied", f"applied after rollback {msg.message_id}"
        detail += f"; re-settled by {corrected.message_id}, which had overtaken the rollback"
    return "applied", fixture.sport, detail


def _newer_result(
    uow: UnitOfWork, market_id: str, sequence: int
) -> tuple[FeedMessage, Result | Cancel] | None:
    """The latest result sent after this rollback that arrived before it (kept as a
    duplicate of the settlement the rollback withdrew)."""
    row = uow.session.execute(
        select(FeedMessage)
        .where(
            FeedMessage.market_id == market_id,
            FeedMessage.type.in_(("result", "cancel")),
            FeedMessage.outcome == "duplicate",
            FeedMessage.sequence > sequence,
        )
        .order_by(FeedMessage.sequence.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    parsed = feed_message_adapter.validate_json(row.body)
    assert isinstance(parsed, Result | Cancel)
    return row, parsed


APPLY = {
    "fixture": _apply_fixture,
    "odds_change": _apply_odds,
    "bet_stop": _apply_bet_stop,
    "result": _apply_result,
    "cancel": _apply_result,
    "rollback": _apply_rollback,
}


def _record_refused(p: Platform, body: bytes, now: datetime, outcome: str, detail: str) -> None:
    """Keep a refused message (bad signature, not parseable, inconsistent) as one of the
    feed's newest samples (igaming.partner_body) and count it: no outbox row, and the
    oldest sample goes."""
    text = refused_fields(body, 64)

    # Only known values reach the event: its fields become metric labels.
    message_type = t if (t := text("type")) in MESSAGE_TYPES else "unknown"
    with p.uow() as uow:
        uow.session.add(
            FeedMessage(
                dedup_key=None,
                message_id=text("message_id"),
                type=message_type,
                outcome=outcome,
                sport="unknown",
                fixture_id=text("fixture_id"),
                market_id=text("market_id"),
                detail=detail[:1000],
                duplicates=0,
                received_at=now,
                body=sample_body(body),
            )
        )
        uow.session.flush()
        prune_samples(
            uow.session,
            FeedMessage.id,
            FeedMessage.dedup_key.is_(None),
            FeedMessage.outcome.in_(REFUSED),
        )
        uow.commit()
    p.bus.publish([_received_event(message_type, outcome, "unknown", None, now)])
