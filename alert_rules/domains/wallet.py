"""Wallet: the ledger's invariants, and spikes of idempotent replays and of invalid wallet
movements by transaction type. Team wallet; a broken ledger pages."""

from __future__ import annotations

from alert_rules.model import Alert, Domain, Param, Recording, Runbook
from collectors.catalog import BY_NAME

REPLAYS = BY_NAME["igaming_wallet_idempotent_replays"].exposed_name
FAILURES = BY_NAME["igaming_wallet_transaction_failures"].exposed_name
LEDGER_OK = BY_NAME["pitwatch_ledger_invariant_ok"].name
VIOLATIONS = BY_NAME["pitwatch_ledger_invariant_violations"].name
FULL_CHECK = BY_NAME["pitwatch_ledger_full_check_violations"].name

REPLAY_P = "tx_type:igaming_wallet_idempotent_replays"
INVALID_P = "tx_type:igaming_wallet_transaction_failures_invalid"
INVALID_SEL = f'{FAILURES}{{reason="invalid"}}'


def _spike_recordings(prefix: str, selector: str) -> tuple[Recording, ...]:
    return (
        Recording(f"{prefix}:rate5m", f"sum by (tx_type) (rate({selector}[5m]))"),
        # The trailing day's average rate: the baseline of the spike alerts.
        Recording(f"{prefix}:avg_rate1d", f"avg_over_time({prefix}:rate5m[1d])"),
    )


def _spike_expr(prefix: str, selector: str) -> str:
    """At least ``min_count`` events of a type in ``window`` and a rate more than ``factor``
    times the trailing day's; without six hours of history, ``fallback_count`` events."""
    current = f"sum by (tx_type) (increase({selector}[$window]))"
    return f"""{current} >= $min_count
and on(tx_type)
(
  sum by (tx_type) (rate({selector}[$window]))
  > $factor * ({prefix}:avg_rate1d and on(tx_type) {prefix}:avg_rate1d offset 6h)
  or
  (
    {current} >= $fallback_count
    unless on(tx_type) {prefix}:avg_rate1d offset 6h
  )
)"""


def _spike_params(min_count: int, fallback_count: int) -> dict[str, Param]:
    return {
        "window": Param("10m", "the short window the current count and rate are taken over"),
        "factor": Param(
            10,
            "how many times the trailing day's average rate the current rate must exceed "
            "(a 5x kickoff surge must stay below it)",
        ),
        "min_count": Param(min_count, "events needed in the window (a handful is not a spike)"),
        "fallback_count": Param(
            fallback_count,
            "events in the window that fire while the type has less than 6 hours of history",
        ),
    }


LEDGER_BROKEN = Alert(
    name="LedgerInvariantBroken",
    domain="wallet",
    team="wallet",
    severity="critical",
    summary="The wallet ledger breaks a double-entry invariant.",
    description=(
        "The ledger checks hold {value:int} open {kind} violation(s): "
        "balances or transactions no longer add up."
    ),
    expr=f"""max by (kind) ({VIOLATIONS}) > 0
or max by (kind) ({FULL_CHECK}) > 0
or on()
label_replace(1 - min({LEDGER_OK}) > 0, "kind", "unknown", "", "")""",
    for_="1m",
    scope=("kind",),
    dashboard="wallet",
    detection="3m",
    runbook=Runbook(
        meaning="The state exporter's incremental ledger check "
        "(`pitwatch_ledger_invariant_ok` is 0, `pitwatch_ledger_invariant_violations{kind}`) "
        "or the nightly full ledger check (`pitwatch_ledger_full_check_violations{kind}`: "
        "every entry read, so it also finds a transaction older than the exporter's window) "
        "found entries that break the wallet's invariants, one alert per kind: "
        "`unbalanced_transaction` (a transaction's entries do not sum to zero in a "
        "currency), `balance_mismatch` (an account's stored balance differs from the sum of "
        "its entries: a balance written behind the ledger's back), `negative_balance` (a "
        "player's cash below zero without a flagged chargeback or rollback). "
        "`kind=unknown` means the flag is 0 but no per-kind count is exported: treat it as "
        "any of them. Entries are append-only, so a violation never heals by itself: the "
        "alert stays until a correcting entry or a fixed balance makes the check pass.",
        impact="Money is created or lost in the books: player balances may be wrong (players "
        "can withdraw money they do not have, or miss money they do), and every report built "
        "on the ledger (GGR, tax, reconciliation with PSPs) is wrong from that point.",
        diagnosis=(
            "Find the culprits: the exporter does not name them, the full check does. Run "
            "`pitwatch reconcile ledger` (read-only on the platform's views; a replica is "
            "fine): it prints the transaction ids with their currency and the account ids "
            "with balance and sum, and keeps each as a break of the pair `ledger` "
            "(`unbalanced_transaction`, `balance_mismatch`) in the reconciliation report.",
            "unbalanced_transaction: list the transaction's entries in pw_ledger_entries; "
            "look for a deploy or a manual SQL change at its time.",
            "balance_mismatch: compare the account's balance with SUM(amount_minor) of its "
            "entries; find who updated the balance (audit log, database log).",
            "negative_balance: list the account's last transactions: a debit that raced "
            "another, or a chargeback/rollback that was not flagged.",
            "Several accounts at once, right after a deploy: suspect the deploy's wallet code.",
        ),
        mitigation=(
            "If the wallet code is at fault, roll back the deploy; consider freezing "
            "withdrawals of the affected accounts until the books are fixed.",
            "Correct with a reversal or an audited adjustment (never by editing entries or "
            "balances by hand); the alert resolves on the next scrape that finds no violation "
            "(for the full check's kinds: after the next `pitwatch reconcile ledger` or the "
            "nightly run).",
            "Tell finance: the next reconciliation will show the same accounts.",
        ),
    ),
)

REPLAY_SPIKE = Alert(
    name="WalletIdempotentReplaySpike",
    domain="wallet",
    team="wallet",
    severity="warning",
    summary="Wallet requests answered from an earlier result spike for a transaction type.",
    description=(
        "{value:int} {tx_type} wallet requests were idempotent replays in the last 10 "
        "minutes: far above the trailing day's rate (or, without history, above the floor)."
    ),
    expr=_spike_expr(REPLAY_P, REPLAYS),
    for_="5m",
    scope=("tx_type",),
    dashboard="wallet",
    detection="15m",
    params=_spike_params(min_count=20, fallback_count=100),
    runbook=Runbook(
        meaning="Requests carrying an idempotency key the wallet has already seen (answered "
        "with the first result, no money moved) of one transaction type came in at more "
        "than `factor` times the trailing day's average rate, at least `min_count` in "
        "`window`. While the type has less than 6 hours of history there is no baseline: "
        "`fallback_count` in `window` fires instead.",
        impact="Either a caller retries in a storm (timeouts between the caller and the "
        "wallet: load and latency for everyone), or a caller reuses idempotency keys for new "
        "movements: then genuine bets, wins or deposits are silently swallowed as replays and "
        "players miss their money.",
        diagnosis=(
            "Which caller sends the type (bets and wins: sportsbook or a game provider's "
            "seamless wallet; deposits: the cashier)? Check the casino seamless replays "
            "(igaming_casino_seamless_replays_total) per provider.",
            "Check the wallet's latency and timeouts on the platform dashboard: retries "
            "follow slow answers.",
            "Sample replayed keys in the logs: the same body each time (a retry storm) or "
            "different amounts/players under one key (key reuse: a bug)?",
            "Look for a deploy of the caller at the spike's start.",
        ),
        mitigation=(
            "Key reuse: roll back the caller's deploy; list the swallowed movements and "
            "replay them with fresh keys.",
            "Retry storm: fix the slowness behind it, or ask the provider to back off.",
        ),
    ),
)

INVALID_SPIKE = Alert(
    name="WalletTransactionFailureSpike",
    domain="wallet",
    team="wallet",
    severity="warning",
    summary="Invalid wallet movements spike for a transaction type.",
    description=(
        "{value:int} {tx_type} wallet movements were refused as invalid in the last 10 "
        "minutes: far above the trailing day's rate (or, without history, above the floor)."
    ),
    expr=_spike_expr(INVALID_P, INVALID_SEL),
    for_="5m",
    scope=("tx_type",),
    dashboard="wallet",
    detection="15m",
    params=_spike_params(min_count=20, fallback_count=100),
    runbook=Runbook(
        meaning="Wallet movements of one type refused with reason `invalid` (the request "
        "failed validation: bad amount, unknown currency, unknown account, conflicting body "
        "for a known idempotency key) came in at more than `factor` times the trailing day's "
        "average rate, at least `min_count` in `window`; `fallback_count` while there are "
        "less than 6 hours of history. Refusals for `insufficient_funds` are left out on "
        "purpose: they are player behaviour (a stake above the balance), not a fault, and "
        "they surge with every kickoff.",
        impact="The movements did not happen: bets refused, wins or refunds not credited, "
        "deposits not booked. Players see errors, and money owed to them may wait.",
        diagnosis=(
            "Look at the wallet's refusal log lines for the type: which validation fails "
            "(currency, amount, account, idempotency conflict)?",
            "Which caller sends the type, and did it deploy at the spike's start?",
            "Compare with the casino seamless refusals (by provider and code) and the "
            "sportsbook's rejected bets: is one provider or product behind it?",
        ),
        mitigation=(
            "Roll back the caller's (or the wallet's) deploy that introduced the bad requests.",
            "Wins or refunds refused: list them and credit them again once fixed.",
        ),
    ),
)

ALERTS = (LEDGER_BROKEN, REPLAY_SPIKE, INVALID_SPIKE)


DOMAIN = Domain(
    name="wallet",
    recordings=_spike_recordings(REPLAY_P, REPLAYS) + _spike_recordings(INVALID_P, INVALID_SEL),
    alerts=ALERTS,
    about="Wallet: ledger invariants, idempotent replay and invalid movement spikes.",
)
