"""The promtool cases of ``alert_rules.domains.wallet``: the normal, quiet-night and surge
traffic its alerts stay silent on, the incidents they must fire on in time, the guards."""

from __future__ import annotations

from alert_rules.domains.wallet import (
    ALERTS,
    FAILURES,
    FULL_CHECK,
    INVALID_SPIKE,
    LEDGER_BROKEN,
    LEDGER_OK,
    REPLAY_SPIKE,
    REPLAYS,
    VIOLATIONS,
)
from alert_rules.model import Case, Fires, Series, Silent, silence, silent_all
from alert_rules.series import counter, counter_from, every, gauge, merge, series, stale_after

NAMES = tuple(a.name for a in ALERTS)
SPIKES = (REPLAY_SPIKE.name, INVALID_SPIKE.name)

KINDS = ("unbalanced_transaction", "balance_mismatch", "negative_balance")


def _seg(minutes: int, per: float, surge: tuple[int, int] | None) -> list[tuple[int, float]]:
    if surge is None:
        return [(minutes, per)]
    start, length = surge
    return [(start, per), (length, 5 * per), (minutes - start - length, per)]


def ledger_ok(minutes: int) -> list[Series]:
    return [
        series(LEDGER_OK, gauge((minutes, 1))),
        *[series(VIOLATIONS, gauge((minutes, 0)), kind=k) for k in KINDS],
    ]


def healthy(minutes: int, surge: tuple[int, int] | None = None) -> tuple[Series, ...]:
    """A busy evening: a few replays and invalid movements a minute, many stakes above the
    balance; the ledger check clean. ``surge``: (start, length) of a 5x kickoff."""
    replays = {"bet": 0.5, "win": 0.2, "deposit": 0.1, "rollback": 0}
    invalid = {"bet": 0.5, "win": 0.1, "deposit": 0.1, "rollback": 0}
    broke = {"bet": 3, "withdrawal": 0.2}
    return merge(
        *[
            series(REPLAYS, counter(*_seg(minutes, r, surge)), tx_type=t)
            for t, r in replays.items()
        ],
        *[
            series(FAILURES, counter(*_seg(minutes, r, surge)), tx_type=t, reason="invalid")
            for t, r in invalid.items()
        ],
        *[
            series(
                FAILURES, counter(*_seg(minutes, r, surge)), tx_type=t, reason="insufficient_funds"
            )
            for t, r in broke.items()
        ],
        ledger_ok(minutes),
    )


def quiet(minutes: int) -> tuple[Series, ...]:
    """A quiet night: three bet replays an hour, one invalid bet and a few stakes above the
    balance an hour."""
    return merge(
        series(REPLAYS, counter_from(every(minutes, 20)), tx_type="bet"),
        series(REPLAYS, counter((minutes, 0)), tx_type="win"),
        series(
            FAILURES, counter_from(every(minutes, 60, offset=31)), tx_type="bet", reason="invalid"
        ),
        series(
            FAILURES,
            counter_from(every(minutes, 15, offset=4)),
            tx_type="bet",
            reason="insufficient_funds",
        ),
        ledger_ok(minutes),
    )


def cases() -> tuple[Case, ...]:
    t0 = 420  # seven hours of history: the trailing-day baseline exists
    total = t0 + 120
    return (
        silence(
            "busy evening: replays, invalid movements and broke players at their usual rate",
            "normal",
            healthy(total),
            NAMES,
            at=(30, 120, t0, t0 + 60, total),
        ),
        silence(
            "5x kickoff surge of every wallet movement, same shares",
            "surge",
            healthy(total, surge=(t0, 60)),
            NAMES,
            at=(t0 + 10, t0 + 30, t0 + 60, t0 + 75),
        ),
        silence(
            "quiet night: three replays, one invalid bet and four broke stakes an hour",
            "quiet_night",
            quiet(total),
            NAMES,
            at=(60, 180, t0, total),
        ),
        # -- the ledger
        Case(
            "a balance written behind the ledger's back: two balance mismatches",
            "incident",
            merge(
                series(LEDGER_OK, gauge((59, 1), (31, 0), (60, 1))),
                series(VIOLATIONS, gauge((59, 0), (31, 2), (60, 0)), kind="balance_mismatch"),
                series(VIOLATIONS, gauge((150, 0)), kind="unbalanced_transaction"),
                series(VIOLATIONS, gauge((150, 0)), kind="negative_balance"),
            ),
            (
                Silent("60m"),
                Fires("61m", {"kind": "balance_mismatch"}, 2),
                Fires("90m", {"kind": "balance_mismatch"}, 2),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=(LEDGER_BROKEN.name,),
        ),
        Case(
            "a bad deploy posts one-legged transactions that overdraw players: two kinds",
            "incident",
            merge(
                series(LEDGER_OK, gauge((59, 1), (61, 0), (30, 1))),
                series(VIOLATIONS, gauge((59, 0), (61, 1), (30, 0)), kind="unbalanced_transaction"),
                series(
                    VIOLATIONS, gauge((59, 0), (10, 1), (51, 3), (30, 0)), kind="negative_balance"
                ),
                series(VIOLATIONS, gauge((150, 0)), kind="balance_mismatch"),
            ),
            (
                Silent("60m"),
                Fires("61m", {"kind": "unbalanced_transaction"}, 1),
                Fires("61m", {"kind": "negative_balance"}, 1),
                Fires("100m", {"kind": "unbalanced_transaction"}, 1),
                Fires("100m", {"kind": "negative_balance"}, 3),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=(LEDGER_BROKEN.name,),
        ),
        Case(
            "the nightly full check finds an old unbalanced transaction the exporter's "
            "window never reached",
            "incident",
            merge(
                series(LEDGER_OK, gauge((150, 1))),
                *[series(VIOLATIONS, gauge((150, 0)), kind=k) for k in KINDS],
                series(FULL_CHECK, gauge((59, 0), (61, 1), (30, 0)), kind="unbalanced_transaction"),
                series(FULL_CHECK, gauge((150, 0)), kind="balance_mismatch"),
            ),
            (
                Silent("60m"),
                Fires("61m", {"kind": "unbalanced_transaction"}, 1),
                Fires("119m", {"kind": "unbalanced_transaction"}, 1),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=(LEDGER_BROKEN.name,),
        ),
        Case(
            "the check reports ok=0 but no per-kind count (the violations gauge is gone)",
            "incident",
            merge(
                series(LEDGER_OK, gauge((59, 1), (31, 0), (60, 1))),
                *[series(VIOLATIONS, stale_after(gauge((59, 0))), kind=k) for k in KINDS],
            ),
            (
                Silent("60m"),
                Fires("62m", {"kind": "unknown"}, 1),
                Silent("92m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=(LEDGER_BROKEN.name,),
        ),
        # -- idempotent replays
        Case(
            "a provider retries every bet: replays jump from 0.5 to 20 a minute",
            "incident",
            merge(
                series(
                    REPLAYS, counter((t0, 0.5), (30, 20), (total - t0 - 30, 0.5)), tx_type="bet"
                ),
                series(REPLAYS, counter((total, 0.2)), tx_type="win"),
            ),
            (
                Silent(f"{t0 + 2}m"),
                Fires(f"{t0 + 15}m", {"tx_type": "bet"}, 200),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=(REPLAY_SPIKE.name,),
        ),
        Case(
            "no history yet (Prometheus started an hour ago): win replays at 15 a minute",
            "incident",
            merge(
                series(REPLAYS, counter((60, 0.2), (30, 15), (60, 0.2)), tx_type="win"),
                series(REPLAYS, counter((150, 0.5)), tx_type="bet"),
            ),
            (
                Silent("65m"),
                Fires("75m", {"tx_type": "win"}, 150),
                Silent("105m"),
            ),
            incident_start="60m",
            recovery="90m",
            alerts=(REPLAY_SPIKE.name,),
        ),
        Case(
            "bet replays rise 9x (0.5 to 4.5 a minute): below the 10x factor",
            "guard",
            merge(
                series(
                    REPLAYS, counter((t0, 0.5), (60, 4.5), (total - t0 - 60, 0.5)), tx_type="bet"
                )
            ),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 20}m"), Silent(f"{t0 + 40}m")),
            alerts=(REPLAY_SPIKE.name,),
        ),
        Case(
            "no history yet: 5 win replays a minute, below the 100-in-10-minutes floor",
            "guard",
            merge(series(REPLAYS, counter((60, 0.2), (60, 5)), tx_type="win")),
            (Silent("75m"), Silent("110m")),
            alerts=(REPLAY_SPIKE.name,),
        ),
        Case(
            "rollback replays and invalid rollbacks go from none to one a minute: far above a "
            "zero baseline, but under 20 in 10 minutes",
            "guard",
            merge(
                series(REPLAYS, counter((t0, 0), (60, 1)), tx_type="rollback"),
                series(FAILURES, counter((t0, 0), (60, 1)), tx_type="rollback", reason="invalid"),
            ),
            silent_all(SPIKES, t0 + 10, t0 + 30, t0 + 60),
            alerts=SPIKES,
        ),
        # -- invalid movements
        Case(
            "a cashier deploy books deposits in an unknown currency: 12 invalid a minute",
            "incident",
            merge(
                series(
                    FAILURES,
                    counter((t0, 0.1), (30, 12), (total - t0 - 30, 0.1)),
                    tx_type="deposit",
                    reason="invalid",
                ),
                series(FAILURES, counter((total, 0.2)), tx_type="bet", reason="invalid"),
                series(FAILURES, counter((total, 3)), tx_type="bet", reason="insufficient_funds"),
            ),
            (
                Silent(f"{t0 + 2}m"),
                Fires(f"{t0 + 15}m", {"tx_type": "deposit"}, 120),
                Silent(f"{t0 + 45}m"),
            ),
            incident_start=f"{t0}m",
            recovery=f"{t0 + 30}m",
            alerts=(INVALID_SPIKE.name,),
        ),
        Case(
            "players stake above their balance 20x more (a promotion ends): not a fault",
            "guard",
            merge(
                series(
                    FAILURES,
                    counter((t0, 3), (60, 60), (total - t0 - 60, 3)),
                    tx_type="bet",
                    reason="insufficient_funds",
                ),
                series(FAILURES, counter((total, 0.2)), tx_type="bet", reason="invalid"),
            ),
            (Silent(f"{t0 + 15}m"), Silent(f"{t0 + 40}m")),
            alerts=(INVALID_SPIKE.name,),
        ),
    )
