"""Platform: what the on-call SRE opens first. Are the targets up, how fast do the SLOs
burn, RED per route, the database, the outbox, and the suite's own collectors."""

from __future__ import annotations

from dashboards.alerts import AlertSource
from dashboards.build import Board, Var
from dashboards.links import runbook_links
from dashboards.panels import Cell, Q, gauge, stat, table, timeline, timeseries, up_down
from dashboards.promql import hist, m, quantile, rate, ratio, sum_by, var

REQUESTS = m("igaming_http_requests")
IN_FLIGHT = m("igaming_http_requests_in_flight")
DURATION = hist("igaming_http_request_duration_seconds")
DB_DURATION = hist("igaming_db_query_duration_seconds")
POOL_OUT = m("igaming_db_pool_checked_out_connections")
POOL_SIZE = m("igaming_db_pool_size_connections")
OUTBOX = m("igaming_outbox_backlog_events")
OUTBOX_OLDEST = m("igaming_outbox_backlog_oldest_age_seconds")
BUS_FAILURES = m("pitwatch_bus_subscriber_failures")
COLLECTOR_UP = m("pitwatch_collector_up")
COLLECTOR_DURATION = m("pitwatch_collector_duration_seconds")
COLLECTOR_ERRORS = m("pitwatch_collector_errors")
BUILD = m("igaming_build")

ROUTE = var("route")
ERRORS = 'status_class="5xx"'
TARGET_ALERTS = ("PlatformDown", "StateExporterDown")
# (burn window, the alert and parameter that fire on it): the multiwindow tiers.
BURN_TIERS = (
    ("1h", "SloErrorBudgetBurnFast", "burn_1h"),
    ("6h", "SloErrorBudgetBurnFast", "burn_6h"),
    ("3d", "SloErrorBudgetBurnSlow", "burn_3d"),
)


def error_ratio(by: str, window: str = "$__rate_interval") -> str:
    return ratio(
        sum_by(by, rate(REQUESTS, ERRORS, ROUTE, window=window)),
        sum_by(by, rate(REQUESTS, ROUTE, window=window)),
    )


def slo_panels(src: AlertSource) -> list[Cell]:
    """Burn rate per SLO and window from the SLO recording rules, with the tier's
    threshold; while they are not registered, the 5xx ratio per window instead."""
    cells: list[Cell] = []
    for window, alert, param in BURN_TIERS:
        recorded = src.recording(f"slo:burn_rate:ratio_rate{window}")
        if recorded:
            cells.append(
                timeseries(
                    f"SLO error budget burn rate ({window})",
                    Q(recorded, "{{slo}}"),
                    unit="short",
                    min_=0,
                    desc="Error ratio divided by the error budget (1 - objective): 1 spends "
                    "exactly the 30-day budget. The tier fires when this window and its short "
                    "window both exceed the line.",
                    limits=[src.limit(alert, param, op=">")],
                    w=8,
                )
            )
        else:
            cells.append(
                timeseries(
                    f"HTTP 5xx ratio ({window})",
                    Q(error_ratio("", window), "5xx ratio"),
                    unit="percentunit",
                    min_=0,
                    desc="The SLO burn-rate recording rules are not registered: the 5xx "
                    "ratio of the selected routes over the window.",
                    links=runbook_links(src, alert),
                    w=8,
                )
            )
    windows = ("5m", "30m", "1h", "6h", "3d")
    if all(src.recording(f"slo:burn_rate:ratio_rate{w}") for w in windows):
        cells.append(
            table(
                "SLO burn rate by window, now",
                *[
                    Q(f"max by (slo) (slo:burn_rate:ratio_rate{w})", column=w, unit="short")
                    for w in windows
                ],
                unit="short",
                sort_by="1h",
                desc="Pages when 1h and 5m (or 6h and 30m) both burn above the fast lines; a "
                "ticket when 3d and 6h burn above the slow line.",
                links=runbook_links(src, "SloErrorBudgetBurnFast", "SloErrorBudgetBurnSlow"),
                w=24,
                h=7,
            )
        )
    return cells


def board(src: AlertSource) -> Board:
    outbox_limit = src.limit("OutboxBacklogGrowing", "max_age_seconds", op=">")
    now = [
        stat(
            "Scrape targets up",
            Q("min by (job) (up)", "{{job}}"),
            unit="none",
            graph=False,
            mappings=up_down("UP", "DOWN"),
            links=runbook_links(src, *TARGET_ALERTS),
            w=6,
        ),
        stat(
            "Requests per second",
            Q(sum_by("", rate(REQUESTS, ROUTE))),
            unit="reqps",
        ),
        stat(
            "5xx ratio",
            Q(error_ratio("")),
            unit="percentunit",
            links=runbook_links(src, "SloErrorBudgetBurnFast"),
        ),
        stat(
            "Latency p95",
            Q(quantile(0.95, DURATION, "", ROUTE)),
            unit="s",
        ),
        stat(
            "Version",
            Q(f"count by (version) ({BUILD})", "{{version}}"),
            unit="short",
            instant=True,
            graph=False,
            desc="Platform instances per running version.",
            w=6,
        ),
    ]
    red = [
        timeseries(
            "Requests per second by route",
            Q(f"topk(15, {sum_by('route', rate(REQUESTS, ROUTE))})", "{{route}}"),
            unit="reqps",
            stack=True,
            w=8,
        ),
        timeseries(
            "5xx ratio by route",
            Q(error_ratio("route"), "{{route}}"),
            unit="percentunit",
            min_=0,
            w=8,
        ),
        timeseries(
            "Latency p95 by route",
            Q(f"topk(15, {quantile(0.95, DURATION, 'route', ROUTE)})", "{{route}}"),
            unit="s",
            w=8,
        ),
        table(
            "RED by route",
            Q(
                sum_by("route, http_method", rate(REQUESTS, ROUTE, window="5m")),
                column="req/s",
                unit="reqps",
            ),
            Q(
                ratio(
                    sum_by("route, http_method", rate(REQUESTS, ERRORS, ROUTE, window="5m")),
                    sum_by("route, http_method", rate(REQUESTS, ROUTE, window="5m")),
                ),
                column="5xx ratio",
                unit="percentunit",
            ),
            Q(
                quantile(0.95, DURATION, "route, http_method", ROUTE, window="5m"),
                column="p95",
                unit="s",
            ),
            Q(
                quantile(0.99, DURATION, "route, http_method", ROUTE, window="5m"),
                column="p99",
                unit="s",
            ),
            unit="short",
            sort_by="req/s",
            desc="Over the last 5 minutes.",
            w=16,
        ),
        timeseries(
            "Requests in flight",
            Q(f"sum({IN_FLIGHT})", "in flight"),
            unit="short",
            min_=0,
            w=8,
        ),
    ]
    database = [
        timeseries(
            "Query duration p95 / p99 by statement",
            Q(quantile(0.95, DB_DURATION, "statement"), "{{statement}} p95"),
            Q(quantile(0.99, DB_DURATION, "statement"), "{{statement}} p99"),
            unit="s",
            w=8,
        ),
        timeseries(
            "Queries per second by statement",
            Q(sum_by("statement", rate(DB_DURATION + "_count")), "{{statement}}"),
            unit="ops",
            stack=True,
            w=8,
        ),
        timeseries(
            "Connection pool: checked out and size",
            Q(f"sum({POOL_OUT})", "checked out"),
            Q(f"sum({POOL_SIZE})", "pool size"),
            unit="short",
            min_=0,
            w=5,
        ),
        gauge(
            "Pool in use",
            Q(ratio(f"sum({POOL_OUT})", f"sum({POOL_SIZE})")),
            unit="percentunit",
            min_=0,
            max_=1.5,
            desc="Checked-out connections over the pool size (above 100 % is overflow).",
            w=3,
        ),
    ]
    outbox = [
        timeseries(
            "Outbox backlog by consumer",
            Q(f"max by (consumer) ({OUTBOX})", "{{consumer}}"),
            unit="short",
            min_=0,
            links=runbook_links(src, "OutboxBacklogGrowing"),
            w=8,
        ),
        timeseries(
            "Oldest unhandled outbox event by consumer",
            Q(f"max by (consumer) ({OUTBOX_OLDEST})", "{{consumer}}"),
            unit="s",
            min_=0,
            limits=[outbox_limit],
            w=8,
        ),
        timeseries(
            "Bus subscriber failures per minute",
            Q(f"{sum_by('', rate(BUS_FAILURES))} * 60", "failures"),
            unit="cpm",
            desc="Subscribers that raised on an event (the event stays in the outbox).",
            w=8,
        ),
    ]
    collectors = [
        timeline(
            "State collectors up",
            Q(f"min by (collector) ({COLLECTOR_UP})", "{{collector}}"),
            unit="none",
            mappings=up_down("UP", "FAILING"),
            links=runbook_links(src, "CollectorFailing"),
            w=12,
            h=7,
        ),
        timeline(
            "Scrape targets",
            Q("min by (job) (up)", "{{job}}"),
            unit="none",
            mappings=up_down("UP", "DOWN"),
            links=runbook_links(src, *TARGET_ALERTS),
            w=12,
            h=7,
        ),
        timeseries(
            "Collector scrape duration",
            Q(f"max by (collector) ({COLLECTOR_DURATION})", "{{collector}}"),
            unit="s",
            desc="Each collector works within a time budget (1 s by default).",
            w=12,
        ),
        timeseries(
            "Collector failures per minute",
            Q(f"{sum_by('collector', rate(COLLECTOR_ERRORS))} * 60", "{{collector}}"),
            unit="cpm",
            links=runbook_links(src, "CollectorFailing"),
            w=12,
        ),
    ]
    return Board(
        key="platform",
        description="Targets, SLO burn rates, RED per route, database, outbox and the "
        "suite's own collectors.",
        variables=(Var("route", REQUESTS, title="Route"),),
        sections=(
            ("Now", now),
            ("SLOs", slo_panels(src)),
            ("Requests (RED)", red),
            ("Database", database),
            ("Outbox and bus", outbox),
            ("Collectors and targets", collectors),
        ),
        tags=("platform", "sre"),
    )
