"""A game provider's daily files, written from its books (``GameProviderSimulator.book``):
the transaction report and the GGR statement of docs/game-provider-reports.md, with
errors planted on request (``PLANTABLE``) and their ground truth (``GameDiscrepancy``).

Errors are planted in the report before the statement is summed from it, so that the
statement agrees with the report except where a ``ggr_difference`` is planted: each planted
error is one break for a reconciler, no more."""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ground.money import to_major
from igaming.sim.psp.ledger import iso_utc


@dataclass(frozen=True)
class BookedTransaction:
    """A transaction the provider counts as done (the wallet answered OK): a line of its
    daily transaction report (the simulator keeps them in its book)."""

    provider: str
    transaction_id: str
    round_id: str
    player_ref: str
    game_id: str
    kind: str  # bet, win, rollback
    amount: int  # minor units; a rollback: the stake it gives back
    currency: str
    at: datetime


TRANSACTION_COLUMNS = (
    "provider",
    "transaction_id",
    "round_id",
    "player_ref",
    "game_id",
    "type",
    "amount",
    "currency",
    "created_at",
)
GGR_COLUMNS = ("provider", "day", "game_id", "currency", "bets", "wins", "ggr")
TYPES = ("bet", "win", "rollback")
# What can be planted in a report. round_open_past_window is no error of a file: the
# provider leaves the round without a result (ProviderKnobs.no_result_rate).
PLANTABLE = (
    "missing_at_provider",  # a booked transaction left out of the report
    "missing_in_wallet",  # a transaction the wallet never saw (a phantom bet)
    "amount_mismatch",  # a transaction's amount off by a few cents
    "rollback_one_sided",  # a rollback of a bet the wallet kept
    "ggr_difference",  # a game's statement line off from the report's transactions
)


def transactions_name(provider: str, day: date) -> str:
    return f"{provider}-transactions-{day.isoformat()}.csv"


def ggr_name(provider: str, day: date) -> str:
    return f"{provider}-ggr-{day.isoformat()}.csv"


@dataclass(frozen=True)
class GgrLine:
    provider: str
    day: date
    game_id: str
    currency: str
    bets: int  # stakes net of rollbacks, minor units
    wins: int

    @property
    def ggr(self) -> int:
        return self.bets - self.wins


@dataclass(frozen=True)
class GameDiscrepancy:
    """Ground truth of a planted error: the break a reconciler should find, by its key
    (a transaction id, or a game id for ggr_difference)."""

    kind: str
    provider: str
    reference: str
    expected_minor: int | None
    reported_minor: int | None


@dataclass
class GameReports:
    provider: str
    day: date
    rows: list[BookedTransaction] = field(default_factory=list)
    ggr: list[GgrLine] = field(default_factory=list)
    discrepancies: list[GameDiscrepancy] = field(default_factory=list)
    paths: tuple[Path, Path] | None = None


def build_game_reports(
    book: Iterable[BookedTransaction],
    provider: str,
    day: date,
    *,
    seed: int = 0,
    plant: Mapping[str, int] | None = None,
) -> GameReports:
    """One provider's transaction report and GGR statement for ``day`` (UTC), with
    ``plant[kind]`` errors of each kind planted (on distinct transactions of the day)."""
    unknown = sorted(set(plant or {}) - set(PLANTABLE))
    if unknown:
        raise ValueError(f"cannot plant {unknown}; plantable: {', '.join(PLANTABLE)}")
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    rows = [t for t in book if t.provider == provider and start <= t.at < end]
    rows.sort(key=lambda t: (t.at, t.transaction_id))
    out = GameReports(provider, day)
    rng = random.Random(f"{seed}:{provider}:{day.isoformat()}:game-reports")
    wanted = dict(plant or {})
    rolled_back = {(t.round_id) for t in rows if t.kind == "rollback"}
    taken: set[int] = set()

    def pick(ok: Callable[[BookedTransaction], bool]) -> int | None:
        choices = [i for i, t in enumerate(rows) if i not in taken and ok(t)]
        if not choices:
            return None
        at = rng.choice(choices)
        taken.add(at)
        return at

    dropped: set[int] = set()
    extra: list[BookedTransaction] = []
    for _ in range(wanted.get("missing_at_provider", 0)):
        at = pick(lambda t: t.kind != "rollback" and t.round_id not in rolled_back)
        if at is not None:
            dropped.add(at)
            t = rows[at]
            out.discrepancies.append(
                GameDiscrepancy("missing_at_provider", provider, t.transaction_id, t.amount, None)
            )
    for _ in range(wanted.get("amount_mismatch", 0)):
        at = pick(lambda t: t.kind == "bet" and t.round_id not in rolled_back)
        if at is not None:
            t = rows[at]
            off = replace(t, amount=t.amount + rng.randint(1, 99))
            rows[at] = off
            out.discrepancies.append(
                GameDiscrepancy("amount_mismatch", provider, t.transaction_id, t.amount, off.amount)
            )
    for _ in range(wanted.get("rollback_one_sided", 0)):
        at = pick(lambda t: t.kind == "bet" and t.round_id not in rolled_back)
        if at is not None:
            t = rows[at]
            n = len(out.discrepancies)
            rollback = replace(
                t, transaction_id=f"{t.transaction_id}-rb{n}", kind="rollback", at=t.at
            )
            extra.append(rollback)
            out.discrepancies.append(
                GameDiscrepancy(
                    "rollback_one_sided", provider, rollback.transaction_id, None, t.amount
                )
            )
    template = rows[0] if rows else None
    for n in range(wanted.get("missing_in_wallet", 0)):
        if template is None:
            break
        token = rng.getrandbits(48)
        phantom = replace(
            template,
            transaction_id=f"{provider}-phantom-{token:012x}",
            round_id=f"{provider}-phantom-r{token:012x}",
            kind="bet",
            amount=rng.randint(100, 5_000),
            at=start + timedelta(seconds=rng.randint(0, 86_399), milliseconds=n),
        )
        extra.append(phantom)
        out.discrepancies.append(
            GameDiscrepancy("missing_in_wallet", provider, phantom.transaction_id, None, 0)
        )
    kept = [t for i, t in enumerate(rows) if i not in dropped] + extra
    kept.sort(key=lambda t: (t.at, t.transaction_id))
    out.rows = kept
    out.ggr = _statement(kept, provider, day)
    lines = list(range(len(out.ggr)))
    for _ in range(wanted.get("ggr_difference", 0)):
        if not lines:
            break
        at = lines.pop(rng.randrange(len(lines)))
        true_line = out.ggr[at]
        off_line = replace(true_line, wins=true_line.wins + rng.randint(1, 999))
        out.ggr[at] = off_line
        out.discrepancies.append(
            GameDiscrepancy(
                "ggr_difference", provider, true_line.game_id, true_line.ggr, off_line.ggr
            )
        )
    return out


def _statement(rows: Iterable[BookedTransaction], provider: str, day: date) -> list[GgrLine]:
    """Per game and currency: stakes net of rollbacks, wins."""
    sums: dict[tuple[str, str], list[int]] = {}
    for t in rows:
        bets_wins = sums.setdefault((t.game_id, t.currency), [0, 0])
        if t.kind == "bet":
            bets_wins[0] += t.amount
        elif t.kind == "rollback":
            bets_wins[0] -= t.amount
        else:
            bets_wins[1] += t.amount
    return [
        GgrLine(provider, day, game, currency, bets, wins)
        for (game, currency), (bets, wins) in sorted(sums.items())
    ]


def render_transactions(rows: Iterable[BookedTransaction]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for t in rows:
        writer.writerow(
            [
                t.provider,
                t.transaction_id,
                t.round_id,
                t.player_ref,
                t.game_id,
                t.kind,
                to_major(t.amount, t.currency),
                t.currency,
                iso_utc(t.at),
            ]
        )
    return buffer.getvalue()


def render_ggr(lines: Iterable[GgrLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GGR_COLUMNS)
    for g in lines:
        writer.writerow(
            [
                g.provider,
                g.day.isoformat(),
                g.game_id,
                g.currency,
                to_major(g.bets, g.currency),
                to_major(g.wins, g.currency),
                to_major(g.ggr, g.currency),
            ]
        )
    return buffer.getvalue()


def write_game_reports(
    book: Iterable[BookedTransaction],
    providers: Iterable[str],
    day: date,
    out_dir: Path,
    *,
    seed: int = 0,
    plant: Mapping[str, Mapping[str, int]] | None = None,
) -> list[GameReports]:
    """Both files of ``day`` for every provider into ``out_dir`` (header only on a quiet
    day), atomic per file; ``plant`` per provider: the errors to plant."""
    booked = list(book)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for provider in sorted(providers):
        reports = build_game_reports(
            booked, provider, day, seed=seed, plant=(plant or {}).get(provider)
        )
        tx_path = out_dir / transactions_name(provider, day)
        ggr_path = out_dir / ggr_name(provider, day)
        _write_atomic(tx_path, render_transactions(reports.rows))
        _write_atomic(ggr_path, render_ggr(reports.ggr))
        reports.paths = (tx_path, ggr_path)
        written.append(reports)
    return written


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a reconciler polling the folder never sees half a file
