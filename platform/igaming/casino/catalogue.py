"""The game catalogue: providers, their games, and the idempotent seeding at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from igaming.casino.models import CasinoGame

if TYPE_CHECKING:
    from igaming.bootstrap import Platform


@dataclass(frozen=True)
class GameSpec:
    id: str
    provider: str
    name: str
    type: str
    rtp_bps: int


# Default catalogue, one block per provider of ground.vocabulary.DEFAULT_GAME_PROVIDERS.
DEFAULT_CATALOGUE: tuple[GameSpec, ...] = (
    GameSpec("spinworks:pit-of-gold", "spinworks", "Pit of Gold", "slots", 9620),
    GameSpec("spinworks:neon-reels", "spinworks", "Neon Reels", "slots", 9450),
    GameSpec("spinworks:mega-wheel", "spinworks", "Mega Wheel", "slots", 9600),
    GameSpec("lucky_labs:blackjack-classic", "lucky_labs", "Blackjack Classic", "table", 9950),
    GameSpec("lucky_labs:euro-roulette", "lucky_labs", "European Roulette", "table", 9730),
    GameSpec("lucky_labs:lucky-sevens", "lucky_labs", "Lucky Sevens", "slots", 9500),
    GameSpec("livetable:live-roulette", "livetable", "Live Roulette", "live", 9730),
    GameSpec("livetable:live-baccarat", "livetable", "Live Baccarat", "live", 9894),
    GameSpec("livetable:live-blackjack", "livetable", "Live Blackjack", "live", 9928),
)


def seed_catalogue(p: Platform, games: tuple[GameSpec, ...] = DEFAULT_CATALOGUE) -> int:
    """Insert the games that are not in the database yet; returns how many were added.

    Idempotent: an existing game is left as it is (an operator may have disabled it).
    """
    now = p.clock.now()
    with p.uow() as uow:
        known = set(uow.session.execute(select(CasinoGame.id)).scalars())
        rows = [
            {
                "id": g.id,
                "provider": g.provider,
                "name": g.name,
                "type": g.type,
                "rtp_bps": g.rtp_bps,
                "active": True,
                "created_at": now,
            }
            for g in games
            if g.id not in known
        ]
        if rows:
            # Two platform processes may start at once: the loser's inserts do nothing.
            dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
            uow.session.execute(
                dialect.insert(CasinoGame).on_conflict_do_nothing(index_elements=["id"]), rows
            )
        uow.commit()
    return len(rows)


def list_games(p: Platform, provider: str | None = None) -> list[CasinoGame]:
    with p.session_factory() as session:
        query = select(CasinoGame).where(CasinoGame.active.is_(True))
        if provider is not None:
            query = query.where(CasinoGame.provider == provider)
        return list(session.execute(query.order_by(CasinoGame.id)).scalars())
