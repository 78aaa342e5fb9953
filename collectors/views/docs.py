"""The "Views mode" section of docs/metrics.md: per platform metric, whether views mode
derives it and from what, or what a view lacks for it (rendered by ``pitwatch generate``)."""

from __future__ import annotations

from collectors.catalog import platform as c
from collectors.views import DERIVED
from collectors.views.base import ViewsCollector

# metric name -> how views mode derives it (for DERIVED), or what it would need.
HOW: dict[str, str] = {
    c.DEPOSIT_ATTEMPTS.name: "`pw_deposits`, read once by (`created_at`, `deposit_id`); "
    "`geo`, `psp`, `method`, `brand`",
    c.DEPOSIT_OUTCOMES.name: "`pw_deposits`: approved once, by (`completed_at`, `deposit_id`) "
    "(also when charged back or refunded since); declined, failed, timed_out each time the "
    "row is read in that status by (`updated_at`, `deposit_id`)",
    c.DEPOSITS_APPROVED_AMOUNT.name: "`pw_deposits`: `amount_minor` of an approval, in major "
    "units of `currency`",
    c.DEPOSIT_APPROVAL.name: "`pw_deposits`: `completed_at` − `created_at` of an approval",
    c.DEPOSIT_CHARGEBACKS.name: "`pw_deposits`: a row read in status chargeback",
    c.PSP_CALLBACKS.name: "`pw_callbacks` (append-only, by `callback_id`): `psp`, `outcome`. "
    "The reference platform stores no row for a callback refused before parsing "
    "(bad_signature, invalid): those stay 0; an operator whose view has them gets them",
    c.PSP_CALLBACK_DELAY.name: "`pw_callbacks`: `received_at` − `occurred_at`",
    c.WITHDRAWAL_REQUESTS.name: "`pw_withdrawals`, read once by (`created_at`, `withdrawal_id`)",
    c.WITHDRAWAL_OUTCOMES.name: "`pw_withdrawals`: a row read in status completed or failed",
    c.BETS_PLACED.name: "`pw_bets`, read once by (`placed_at`, `bet_id`): a bet not rejected; "
    "`sport`",
    c.BETS_REJECTED.name: "`pw_bets`: a bet in status rejected, by `reason`",
    c.BETS_SETTLED.name: "`pw_settlements` (append-only, by `settlement_id`): `action` won, "
    "lost or void",
    c.SETTLEMENT_LAG.name: "`pw_settlements.settlement_lag_seconds` of a won, lost or void",
    c.SETTLEMENT_ROLLBACKS.name: "`pw_settlements`: `action` rollback",
    c.BETS_CASHED_OUT.name: "`pw_settlements`: `action` cashout",
    c.CASHED_OUT_AMOUNT.name: "`pw_settlements`: `amount_minor` of a cashout, in major units",
    c.ODDS_FEED_MESSAGES.name: "`pw_feed_messages` (append-only, by `feed_message_id`): "
    "`message_type`, `outcome`, `sport`. A duplicate delivery adds no row in the reference "
    "platform (it counts on the first row's `duplicates`): duplicates are not derived",
    c.ODDS_FEED_DELAY.name: "`pw_feed_messages`: `received_at` − `sent_at`",
    c.AFFILIATE_REGISTRATIONS.name: "`pw_players`, read once by (`registered_at`, "
    "`player_id`): a player with an `affiliate`; `campaign`",
    c.AFFILIATE_FTDS.name: "`pw_conversions`, read once by (`created_at`, `conversion_id`): "
    "`conversion_type` ftd",
    c.AFFILIATE_QUALIFIED_FTDS.name: "`pw_conversions`, read once by (`qualified_at`, "
    "`conversion_id`): an FTD qualified",
    c.POSTBACKS.name: "`pw_postback_attempts` (append-only, by `attempt_id`): `outcome` "
    "delivered, failed, dead_letter (lease_lost counts nothing)",
    c.CASINO_LAUNCHES.name: "`pw_game_launches`, read once by (`at`, `session_id`): outcome "
    "launched (a launch still pending when read, 10 s after it began, is not counted)",
    c.CASINO_LAUNCH_FAILURES.name: "`pw_game_launches`: outcome failed, by `reason`",
    c.CASINO_ROUNDS.name: "`pw_casino_rounds`, read once by (`ended_at`, `round_id`): "
    "`status` completed or cancelled",
    c.CASINO_ROUND_RESULT_DELAY.name: "`pw_casino_rounds.result_delay_seconds` of a round ended",
    c.CASINO_ROLLBACKS.name: "`pw_casino_transactions`, read once by (`created_at`, "
    "`casino_transaction_id`): `kind` rollback with `outcome` applied",
    c.POSTBACK_DELAY.name: "`pw_postback_attempts.attempted_at` − `pw_postbacks.created_at` "
    "of a delivery",
}
NEEDS: dict[str, str] = {
    c.HTTP_REQUESTS.name: "the HTTP server's or the proxy's counters: see the mapping below",
    c.HTTP_DURATION.name: "the HTTP server's or the proxy's histogram: see the mapping below",
    c.KYC_OUTCOMES.name: "not derived: `pw_kyc_checks` keeps only a check's last status "
    "and no time of its change; approved, rejected and manual_review need an `updated_at` "
    "(moved on each status change) beside `check_id` and `geo`, and provider_unavailable, "
    "which happens once per vendor call (retries), a row per call (`pw_kyc_attempts`: "
    "`attempt_id`, `check_id`, `geo`, `status`, `at`)",
    c.KYC_VENDOR_ERRORS.name: "not derived: the same `pw_kyc_attempts` view of vendor calls",
    c.WALLET_FAILURES.name: "a refused movement writes no row in the reference platform: a "
    "view of refusals (`pw_wallet_refusals`: type, reason, at) is needed",
}


def views_reference() -> list[str]:
    """Lines of docs/metrics.md's "Views mode" section."""
    settle = f"{ViewsCollector.settle_seconds:g}"
    lines = [
        "",
        "## Views mode: business metrics from the contract views",
        "",
        "For a platform that exports no business metrics of its own (a read-only replica is",
        "all the operator can give), `pitwatch collect serve --views-mode` (or",
        "`PITWATCH_VIEWS_MODE=1`) makes the state exporter derive them from the contract",
        "views, with the catalog's names, types, labels and buckets: the rules and dashboards",
        "work unchanged. Run the platform with `PITWATCH_INSTRUMENTATION=0` (or scrape none",
        "of its business metrics): the same series from both would add up in every `sum`.",
        "",
        "How it reads (`collectors/views/`):",
        "",
        "- a watermark per event a counter counts, on a time that marks it: `(created_at, id)`",
        "  for requests, `(completed_at, id)` for approvals, `(updated_at, id)` for the other",
        "  status changes of deposits and withdrawals; `(placed_at, bet_id)`, `(registered_at,",
        "  player_id)`, `(created_at, conversion_id)`, `(qualified_at, conversion_id)`, casino",
        "  launches, rounds (by `ended_at`) and transactions read once; the increasing id of",
        "  append-only views (callbacks, settlements, postback attempts). Migration 0013 of the",
        "  reference platform adds the indexes these range scans need. At most "
        f"{ViewsCollector.batch_rows:,} rows",
        "  per watermark per scrape, the rest at the next scrape (a backlog shows as a burst,",
        "  never as a slow scrape);",
        f"- only rows older than {settle} s: a row committed late, with an earlier time or id",
        "  than rows already read, is not skipped;",
        "- a deposit is an attempt once (by `created_at`), approved once (by `completed_at`),",
        "  and declined, failed or timed_out each time it is read in that status (its",
        "  `updated_at` moved). A deposit that passes through timed_out and on to approved",
        "  between two scrapes counts only approved (the platform's instrumentation counts",
        "  both); an `updated_at` that moves without a status change counts that status",
        "  again: keep `updated_at` for status changes;",
        "- counters start at 0 at the exporter's first scrape (history is not replayed):",
        "  after a restart they start at 0 again, which `rate()`/`increase()` read as a",
        "  counter reset, losing only the rows of the restart's own gap. Label sets appear",
        "  when first seen (all outcomes of a deposit scope at once), at zero for the fixed",
        "  domains (PSPs, currencies, sports, game providers);",
        "- affiliate and campaign labels keep the first 50 values seen (as the platform's",
        "  instrumentation does);",
        "- a failed scrape (the database away, the time budget spent) reports",
        "  `pitwatch_collector_up` 0 with the reason logged, keeps the counters as they were",
        "  (no gap in the series); what it had not counted is read again at the next scrape;",
        "- a collector whose views are an optional product's (sportsbook, casino, affiliates) is",
        "  switched off on a platform without them, as the state collectors are;",
        "- replicas: each views-mode exporter counts every row, so two of them scraped into",
        "  one Prometheus would double every `sum by (...)` the rules take. Run one per",
        "  Prometheus (an HA pair of Prometheus servers each scrapes its own replica; the",
        "  replicas report the same counts for the rows both have read: tested).",
        "",
        f"Delay the derivation adds: the settle time ({settle} s) plus the state job's scrape",
        "interval (60 s against the platform job's 30 s). The backtest proof",
        "(tests/backtest/test_views_mode_backtest.py) replays a PSP outage both ways: the",
        "same alerts fire, each at most that delay plus one evaluation later.",
        "",
        "| metric | emitted by the platform | views mode |",
        "|---|---|---|",
    ]
    for m in sorted(c.METRICS, key=lambda m: m.exposed_name):
        if m.name in DERIVED:
            how = "derived from " + HOW[m.name]
        elif m.name in NEEDS:
            how = NEEDS[m.name]
        else:
            continue
        lines.append(f"| `{m.exposed_name}` | yes | {how} |")
    lines += [
        "",
        "Every other platform metric (database pool and query time, bus failures, build,",
        "bonus amounts, seamless-wallet refusals and replays, market suspensions, clicks, FTD",
        "qualification) is emitted by the platform only.",
        "",
        "### HTTP RED and SLO alerts without the platform's histograms",
        "",
        "The SLO burn-rate rules read `igaming_http_requests_total{route, http_method,",
        "status_class}` and `igaming_http_request_duration_seconds_bucket{route, http_method,",
        "le}` (buckets 0.005 … 10 s), summed over every other label. An ingress-nginx",
        "controller serves the same data: `nginx_ingress_controller_requests{method, path,",
        "status}` and `nginx_ingress_controller_request_duration_seconds{method, path}`, whose",
        "default buckets are the catalog's. Give each SLO route its own ingress `path`",
        "(`/sessions`, `/cashier/deposits`, `/sportsbook/bets`) and rename on the scrape job:",
        "",
        "```yaml",
        "metric_relabel_configs:",
        "  - source_labels: [__name__]",
        "    regex: nginx_ingress_controller_requests",
        "    target_label: __name__",
        "    replacement: igaming_http_requests_total",
        "  - source_labels: [__name__]",
        "    regex: nginx_ingress_controller_request_duration_seconds_(bucket|count|sum)",
        "    target_label: __name__",
        "    replacement: igaming_http_request_duration_seconds_$1",
        "  - {source_labels: [path], target_label: route}",
        "  - {source_labels: [method], target_label: http_method}",
        "  - source_labels: [status]",
        "    regex: '([1-5])..'",
        "    target_label: status_class",
        "    replacement: '${1}xx'",
        "```",
        "",
        "The `status` label stays (200 and 201 remain two series: both `2xx`, no duplicate);",
        "the rules sum it away. Latency then includes the proxy's own time, which the",
        "platform's histogram does not.",
    ]
    return lines
