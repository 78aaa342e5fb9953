"""The promtool cases of ``alert_rules.domains.reconciliation``: the normal, quiet-night and
surge traffic its alerts stay silent on, the incidents they must fire on in time, the
guards."""

from __future__ import annotations

from alert_rules.domains.reconciliation import (
    ABSENT_PAIR,
    ALERTS,
    AMOUNT,
    AMOUNT_AT_RISK,
    BREAKS_OPEN,
    LAST_SUCCESS,
    OLDEST,
    RUN_STALE,
)
from alert_rules.model import Case, Fires, Series, Silent, silence
from alert_rules.series import gauge, merge, series
from collectors.catalog import BY_NAME

OPEN = BY_NAME["pitwatch_reconciliation_open_breaks"].name
NAMES = tuple(a.name for a in ALERTS)

HOUR = 3600
PAIRS = ("wallet_psp", "wallet_affiliate", "wallet_internal")


def notation(values: list[float]) -> str:
    """promtool notation of one sample a minute from minute 0: runs of a constant step are
    written ``start+stepxN``."""
    terms: list[str] = []
    i = 0
    while i < len(values):
        j = i + 1
        step = values[j] - values[i] if j < len(values) else 0.0
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        if j >= len(values):
            j = len(values) - 1
        terms.append(f"{format(values[i], '.12g')}+{format(step, '.12g')}x{j - i}")
        i = j + 1
    return " ".join(terms)


def ages(minutes: int, *opened: tuple[int, int]) -> str:
    """The oldest-break age of one pair and type, for breaks (first seen at minute, open for
    so many minutes): seconds since the oldest still open was first seen, else 0."""
    values = []
    for t in range(minutes + 1):
        open_since = [start for start, life in opened if start <= t < start + life]
        values.append(60.0 * (t - min(open_since)) if open_since else 0.0)
    return notation(values)


def young_breaks(minutes: int, period: int, life: int) -> str:
    """One break every ``period`` minutes, each cleared ``life`` minutes after it was seen."""
    return ages(minutes, *[(start, life) for start in range(0, minutes, period)])


def books(
    minutes: int,
    *,
    eur: float,
    gbp: float,
    open_breaks: int,
    last_run_hours_ago: float,
    run_at: int | None = None,
) -> tuple[Series, ...]:
    """Healthy reconciliations: young breaks that clear within 40 minutes (wallet_psp) and
    20 minutes (wallet_affiliate), amounts at risk under the limit, runs on time (each pair
    ran ``last_run_hours_ago`` before minute 0, and again at ``run_at``)."""
    last = -last_run_hours_ago * HOUR

    def last_run() -> str:
        if run_at is None:
            return gauge((minutes, last))
        return gauge((run_at - 1, last), (minutes - run_at + 1, run_at * 60))

    return merge(
        series(OLDEST, young_breaks(minutes, 60, 40), pair="wallet_psp", type="missing_in_wallet"),
        series(
            OLDEST, young_breaks(minutes, 90, 20), pair="wallet_affiliate", type="missing_postback"
        ),
        series(OLDEST, gauge((minutes, 0)), pair="wallet_internal", type="balance_mismatch"),
        series(
            OPEN,
            gauge((minutes, open_breaks)),
            pair="wallet_psp",
            type="missing_in_wallet",
            psp="paybridge",
        ),
        series(AMOUNT, gauge((minutes, eur)), currency="EUR"),
        series(AMOUNT, gauge((minutes, gbp)), currency="GBP"),
        *[series(LAST_SUCCESS, last_run(), pair=p) for p in PAIRS],
    )


def cases() -> tuple[Case, ...]:
    return (
        silence(
            "busy day: a few young breaks clearing within the hour, 1 500 EUR at risk, the "
            "daily run on time",
            "normal",
            books(360, eur=1500, gbp=300, open_breaks=6, last_run_hours_ago=20, run_at=240),
            NAMES,
            at=(30, 120, 239, 240, 300, 360),
        ),
        silence(
            "after a 5x kickoff: 5x the young breaks and the amount at risk, same ages",
            "surge",
            books(360, eur=7500, gbp=1500, open_breaks=30, last_run_hours_ago=20, run_at=240),
            NAMES,
            at=(30, 120, 240, 300, 360),
        ),
        silence(
            "quiet night: one small break, run 8 hours ago",
            "quiet_night",
            books(360, eur=20, gbp=0, open_breaks=1, last_run_hours_ago=8),
            NAMES,
            at=(60, 180, 360),
        ),
        # -- breaks
        Case(
            "a paybridge deposit settled but never credited stays open for 2h20m",
            "incident",
            (
                series(
                    OLDEST,
                    ages(260, (60, 140)),
                    pair="wallet_psp",
                    type="missing_in_wallet",
                ),
                series(
                    OLDEST,
                    young_breaks(260, 90, 20),
                    pair="wallet_affiliate",
                    type="missing_postback",
                ),
            ),
            (
                Silent("120m"),
                Silent("183m"),
                Fires("190m", {"pair": "wallet_psp", "type": "missing_in_wallet"}, 130 * 60),
                Silent("205m"),
            ),
            incident_start="60m",
            recovery="200m",
            alerts=(BREAKS_OPEN.name,),
        ),
        Case(
            "a spinworks round left open past the provider's window stays open for 2h20m",
            "incident",
            (
                series(
                    OLDEST,
                    ages(260, (60, 140)),
                    pair="wallet_game_provider",
                    type="round_open_past_window",
                ),
                series(
                    OLDEST,
                    young_breaks(260, 60, 40),
                    pair="wallet_psp",
                    type="missing_in_wallet",
                ),
            ),
            (
                Silent("120m"),
                Silent("183m"),
                Fires(
                    "190m",
                    {"pair": "wallet_game_provider", "type": "round_open_past_window"},
                    130 * 60,
                ),
                Silent("205m"),
            ),
            incident_start="60m",
            recovery="200m",
            alerts=(BREAKS_OPEN.name,),
        ),
        Case(
            "a break resolved after 1h55m: inside the 2h tolerance",
            "guard",
            (
                series(
                    OLDEST,
                    ages(240, (60, 115)),
                    pair="wallet_psp",
                    type="amount_mismatch",
                ),
            ),
            (Silent("170m"), Silent("174m"), Silent("180m")),
            alerts=(BREAKS_OPEN.name,),
        ),
        # -- amount at risk
        Case(
            "a PSP settlement report with 42 000 EUR of deposits the wallet never booked",
            "incident",
            (
                series(AMOUNT, gauge((59, 1500), (61, 42000), (60, 1500)), currency="EUR"),
                series(AMOUNT, gauge((180, 300)), currency="GBP"),
            ),
            (
                Silent("70m"),
                Fires("80m", {"currency": "EUR"}, 42000),
                Silent("125m"),
            ),
            incident_start="60m",
            recovery="120m",
            alerts=(AMOUNT_AT_RISK.name,),
        ),
        Case(
            "exactly 10 000 EUR at risk: not above the limit",
            "guard",
            (series(AMOUNT, gauge((120, 10000)), currency="EUR"),),
            (Silent("30m"), Silent("100m")),
            alerts=(AMOUNT_AT_RISK.name,),
        ),
        # -- runs
        Case(
            "the wallet_psp run due at minute 60 fails (no settlement report) until minute 240",
            "incident",
            (
                series(LAST_SUCCESS, gauge((239, -23 * HOUR), (61, 240 * 60)), pair="wallet_psp"),
                series(
                    LAST_SUCCESS,
                    gauge((119, -22 * HOUR), (181, 120 * 60)),
                    pair="wallet_affiliate",
                ),
                series(LAST_SUCCESS, gauge((300, -HOUR)), pair="wallet_internal"),
            ),
            (
                Silent("120m"),
                Silent("185m"),
                Fires("192m", {"pair": "wallet_psp"}, 192 * 60 + 23 * HOUR),
                Fires("230m", {"pair": "wallet_psp"}, 230 * 60 + 23 * HOUR),
                Silent("241m"),
            ),
            incident_start="60m",
            recovery="240m",
            alerts=(RUN_STALE.name,),
        ),
        Case(
            "no reconciler exports its metrics (down, or not deployed yet): absent() fires",
            "incident",
            tuple(series(LAST_SUCCESS, gauge((60, None), (60, 50 * 60)), pair=p) for p in PAIRS),
            (
                Silent("5m"),
                Fires("30m", {"pair": ABSENT_PAIR}, 30 * 60),
                Silent("62m"),
            ),
            incident_start="0m",
            recovery="60m",
            alerts=(RUN_STALE.name,),
        ),
        Case(
            "every pair's last run 25h30m ago, still 26h old 30 minutes later: no fire",
            "guard",
            tuple(series(LAST_SUCCESS, gauge((30, -(25 * HOUR + 1800))), pair=p) for p in PAIRS),
            (Silent("15m"), Silent("29m")),
            alerts=(RUN_STALE.name,),
        ),
    )
