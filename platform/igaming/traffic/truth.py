"""Ground truth of a run: the incident log (JSON lines) and a summary of what the platform's
database holds afterwards, counted per flow, outcome and GEO, for scoring alerts and
reconciliations against."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, func, select

from igaming.affiliates.models import Click, Conversion, PostbackAttempt, PostbackJob
from igaming.casino.models import CasinoRound
from igaming.models import Deposit, KycCheck, Player, Withdrawal
from igaming.sportsbook.models import Bet


def _nest(rows: Iterable[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for geo, status, n in rows:
        out.setdefault(str(geo), {})[str(status)] = int(n)
    return {g: dict(sorted(v.items())) for g, v in sorted(out.items())}


def db_summary(engine: Engine, since: datetime | None = None) -> dict[str, Any]:
    """Counts per GEO and status of what the database holds (created at or after ``since``)."""

    def when(col: Any) -> Any:
        return col >= since if since is not None else True

    with engine.connect() as conn:

        def by_geo(model: Any, status: Any, created: Any) -> dict[str, dict[str, int]]:
            q = (
                select(Player.country, status, func.count())
                .join(Player, Player.id == model.player_id)
                .where(when(created))
                .group_by(Player.country, status)
            )
            return _nest(conn.execute(q))

        players = _nest(
            conn.execute(
                select(Player.country, Player.kyc_status, func.count())
                .where(when(Player.created_at))
                .group_by(Player.country, Player.kyc_status)
            )
        )
        approved = conn.execute(
            select(Player.country, Deposit.currency, func.sum(Deposit.amount))
            .join(Player, Player.id == Deposit.player_id)
            .where(Deposit.status == "approved", when(Deposit.created_at))
            .group_by(Player.country, Deposit.currency)
        ).all()
        rounds = _nest(
            conn.execute(
                select(Player.country, CasinoRound.status, func.count())
                .join(Player, Player.id == CasinoRound.player_id)
                .where(when(CasinoRound.started_at))
                .group_by(Player.country, CasinoRound.status)
            )
        )
        clicks = _nest(
            conn.execute(
                select(Click.affiliate, func.coalesce(Click.campaign, "-"), func.count())
                .where(when(Click.at))
                .group_by(Click.affiliate, Click.campaign)
            )
        )
        conversions = _nest(
            conn.execute(
                select(Conversion.affiliate, Conversion.type, func.count())
                .where(when(Conversion.created_at))
                .group_by(Conversion.affiliate, Conversion.type)
            )
        )
        postbacks = dict(
            conn.execute(
                select(PostbackJob.status, func.count())
                .where(when(PostbackJob.created_at))
                .group_by(PostbackJob.status)
            ).all()
        )
        attempts = conn.execute(
            select(func.count()).select_from(PostbackAttempt).where(when(PostbackAttempt.at))
        ).scalar_one()
        return {
            "players": players,
            "kyc_checks": by_geo(KycCheck, KycCheck.status, KycCheck.requested_at),
            "deposits": by_geo(Deposit, Deposit.status, Deposit.created_at),
            "deposits_approved_minor": {
                f"{geo}/{currency}": int(total) for geo, currency, total in sorted(approved)
            },
            "withdrawals": by_geo(Withdrawal, Withdrawal.status, Withdrawal.created_at),
            "bets": by_geo(Bet, Bet.status, Bet.placed_at),
            "casino_rounds": rounds,
            "clicks": clicks,
            "conversions": conversions,
            "postback_jobs": {str(k): int(v) for k, v in sorted(postbacks.items())},
            "postback_attempts": int(attempts),
        }


# Columns two runs of one seed write differently by design: the password hash's salt (scrypt
# draws it from the OS; the simulator hashes its one password once a run) and a postback's
# latency (the wall-clock time of an HTTP call).
UNSEEDED: dict[str, frozenset[str]] = {
    "players": frozenset({"password_hash"}),
    "postback_attempts": frozenset({"latency_ms"}),
}


def db_dump(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every table's rows as text, sorted, without the ``UNSEEDED`` columns: two runs of one
    seed and scenario must hold the same, row for row (a check on determinism, and on a
    change meant to leave what the platform writes as it was)."""
    tables = MetaData()
    tables.reflect(engine)
    out: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            skip = UNSEEDED.get(table.name, frozenset())
            columns = [c for c in table.c if c.name not in skip]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return out


def write_incident_log(path: Path, incidents: list[dict[str, Any]]) -> None:
    """One JSON object per line: type, scope, start, end, parameters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in incidents:
            f.write(json.dumps(row, sort_keys=True) + "\n")


def read_incident_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
