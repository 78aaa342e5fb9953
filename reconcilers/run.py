"""One reconciliation run: read the sources, match, keep the breaks, write the reports,
tell Slack. The CLI and the scheduler both call ``reconcile_day``.

Two databases: the SOURCE, the platform's (the wallet through the contract views, only
ever read: a read-only login on a replica will do), and the STATE, pitwatch's own (the
break ledger and the run records, reconcilers.ledger). On the reference platform they are
one database, and the same engine may be given twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, Engine

from reconcilers import frames
from reconcilers.errors import SourceError
from reconcilers.summary import RunSummary

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
# Each phase of a run (PHASES) runs inside ``phase(name)``: a caller that times the run (the
# benchmark) passes a context manager that measures; the default does nothing.
Phase = Callable[[str], AbstractContextManager[object]]
PHASES = (
    "record_run",
    "read_psp",
    "read_wallet",
    "match_psp",
    "match_internal",
    "read_affiliate",
    "match_affiliate",
    "read_games",
    "match_games",
    "write_breaks",
    "write_reports",
    "tell_slack",
)


def untimed(_name: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class WalletFrames:
    """What a run reads of the wallet (the contract views), as ``reconcilers.frames``."""

    movements: pd.DataFrame  # of the day and its two neighbours
    orphans: pd.DataFrame
    balances: pd.DataFrame
    clearing: pd.DataFrame
    conversions: pd.DataFrame | None  # when there is an affiliate export to match


# Where a run's wallet frames come from: (engine, day, whether conversions are needed).
WalletReader = Callable[[Engine, date, bool], WalletFrames]


@dataclass(frozen=True)
class SlackTarget:
    token: str
    channel: str
    base_url: str = "https://slack.com/api/"


@dataclass(frozen=True)
class RunOptions:
    psp_reports_dir: Path
    out_dir: Path
    psps: Sequence[str]
    affiliate_export: Path | None = None
    settlement_window: timedelta = timedelta(hours=48)
    postback_grace: timedelta = timedelta(hours=6)
    slack: SlackTarget | None = None
    kind: str = "manual"  # manual, daily, intraday
    progress: Progress = field(default=lambda _msg: None)
    phase: Phase = untimed
    wallet: WalletReader | None = None  # None: read_wallet (a benchmark feeds its own)
    # PSP → the file format it delivers (docs/psp-settlement-formats.md); default ours
    psp_formats: Mapping[str, str] = field(default_factory=dict)
    affiliate_format: str | None = None  # the network's export format; None: ours
    # wallet ⟷ game provider (docs/game-provider-reports.md): run when a folder is given
    game_reports_dir: Path | None = None
    game_providers: Sequence[str] = ()
    round_window: timedelta = timedelta(hours=6)  # a round open longer is a break
    # DuckDB's memory for the pairs that run out of core (wallet ⟷ game provider): past it
    # they spill to a temporary folder in work_dir (None: the system's temporary folder)
    work_memory: str = "4GB"
    work_dir: Path | None = None


@dataclass(frozen=True)
class RunResult:
    summary: RunSummary
    csv: Path | None
    html: Path | None
    rejects: Path | None
    found: Found | None = None  # what the matchers found, before the ledger


def day_period(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, clock_time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def reconcile_day(
    source: Engine, state: Engine, day: date, options: RunOptions, now: datetime
) -> RunResult:
    """Reconcile ``day`` (UTC): every pair whose sources are there. The wallet is read from
    ``source`` (the contract views; nothing is written there), the run and its breaks are
    recorded in ``state`` (its tables must exist: ``ledger.create_tables``). A source that
    is missing or malformed (a view the platform lacks included) fails the run (recorded,
    then raised as SourceError); a bad row becomes an invalid_record break."""
    from reconcilers import ledger

    started = time.monotonic()

    def clock() -> datetime:  # the run's time: ``now`` plus the wall time spent so far
        return now + timedelta(seconds=time.monotonic() - started)

    start, end = day_period(day)
    pairs = ["wallet_psp", "wallet_internal"]
    if options.affiliate_export is not None:
        pairs.append("wallet_affiliate")
    if options.game_reports_dir is not None:
        pairs.append("wallet_game_provider")
    with options.phase("record_run"), state.begin() as conn:
        run_id = ledger.start_run(
            conn, kind=options.kind, period_start=start, period_end=end, pairs=pairs, now=now
        )
    try:
        found = _match(source, day, options, now)
    except Exception as exc:
        message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        with state.begin() as conn:
            ledger.finish_run(
                conn,
                run_id,
                outcome="failed",
                now=clock(),
                rows={},
                matched=0,
                in_flight=0,
                error=message,
            )
        if isinstance(exc, SourceError):
            exc.run_id = run_id
        raise
    options.progress(f"matched: {found.matched} rows, {found.in_flight} in flight")
    with options.phase("write_breaks"), state.begin() as conn:
        change = {}
        for pair in pairs:
            pair_breaks = found.breaks[found.breaks["pair"] == pair]
            # "none": breaks of the pair that name no PSP (a rejected row without one)
            psps = (
                [*options.psps, "none"]
                if pair == "wallet_psp"
                else [*options.game_providers, "none"]
                if pair == "wallet_game_provider"
                else None
            )
            change[pair] = ledger.apply_breaks(
                conn, pair_breaks, run_id=run_id, scope_day=day, pairs=[pair], psps=psps, now=now
            )
        finished = clock()
        ledger.finish_run(
            conn,
            run_id,
            outcome="success",
            now=finished,
            rows=found.rows,
            matched=found.matched,
            in_flight=found.in_flight,
        )
        open_breaks = ledger.ledger_breaks(conn, status="open", now=now)
    summary = summarise(run_id, start, end, now, finished, found, change, open_breaks)
    options.progress(
        f"breaks: {summary.new_breaks} new, {summary.resolved_breaks} resolved, "
        f"{summary.open_breaks} open"
    )
    with options.phase("write_reports"):
        csv, html, rejects = _write_reports(
            options.out_dir, day, summary, open_breaks, found.rejects
        )
    options.progress(f"reports: {csv} {html}")
    if options.slack is not None:
        with options.phase("tell_slack"):
            _tell_slack(options.slack, summary, open_breaks, csv)
    return RunResult(summary, csv, html, rejects, found)


@dataclass
class Found:
    """What the matchers found: the breaks (BREAKS), the rejected rows, the rows read per
    source and each pair's stats (STATS_KEYS)."""

    breaks: pd.DataFrame
    rejects: pd.DataFrame
    rows: dict[str, int]
    stats_by_pair: dict[str, dict[str, int]]

    @property
    def matched_by_pair(self) -> dict[str, int]:
        return {p: s.get("matched", 0) for p, s in self.stats_by_pair.items()}

    @property
    def in_flight_by_pair(self) -> dict[str, int]:
        return {p: s.get("in_flight", 0) for p, s in self.stats_by_pair.items()}

    @property
    def matched(self) -> int:
        return sum(self.matched_by_pair.values())

    @property
    def in_flight(self) -> int:
        return sum(self.in_flight_by_pair.values())


def read_wallet(engine: Engine, day: date, conversions: bool) -> WalletFrames:
    """The wallet's frames for reconciling ``day``, through the contract views; a view the
    platform's database lacks is a SourceError naming it."""
    from reconcilers.sources import wallet

    start, end = day_period(day)
    # Movements of the day's neighbours too: a deposit approved at 23:59:59 settles in the
    # next day's file, one settled just after midnight was approved the day before.
    with wallet.connect(engine) as conn:
        wallet.require_views(conn, conversions)
        return WalletFrames(
            movements=wallet.load_wallet_movements(
                conn, start - timedelta(days=1), end + timedelta(days=1)
            ),
            orphans=wallet.load_orphan_callbacks(conn, start, end),
            balances=wallet.load_balances(conn),
            clearing=wallet.load_clearing(conn, start, end),
            conversions=wallet.load_platform_conversions(conn, start, end) if conversions else None,
        )


def _match(engine: Engine, day: date, options: RunOptions, now: datetime) -> Found:
    from reconcilers.match import affiliate, internal, psp, rejects
    from reconcilers.sources import affiliate_export, psp_reports

    phase = options.phase
    export = options.affiliate_export
    if export is not None and not export.is_file():  # before the long reads, recorded
        raise SourceError(export, "no such affiliate export")
    options.progress(f"reading PSP settlement reports from {options.psp_reports_dir}")
    with phase("read_psp"):
        psp_rows, rejected, files = psp_reports.read_psp_reports(
            options.psp_reports_dir, day, options.psps, formats=options.psp_formats
        )
    options.progress(f"  {len(files)} files, {len(psp_rows)} rows, {len(rejected)} rejected")
    with phase("read_wallet"):
        wallet = (options.wallet or read_wallet)(engine, day, options.affiliate_export is not None)
    movements = wallet.movements
    options.progress(f"  wallet: {len(movements)} movements, {len(wallet.balances)} accounts")
    with phase("match_psp"):
        results = {
            "wallet_psp": psp.match_wallet_psp(
                movements,
                psp_rows,
                wallet.orphans,
                day=day,
                now=now,
                settlement_window=options.settlement_window,
            )
        }
    with phase("match_internal"):
        results["wallet_internal"] = internal.check_wallet_internal(
            wallet.balances, wallet.clearing, psp_rows, day=day
        )
    rows = {"wallet": len(movements), "psp_report": len(psp_rows) + len(rejected)}
    all_rejects = [rejected]
    if options.affiliate_export is not None and wallet.conversions is not None:
        options.progress(f"reading the affiliate export {options.affiliate_export}")
        with phase("read_affiliate"):
            network, net_rejected = affiliate_export.read_affiliate_export(
                options.affiliate_export, options.affiliate_format
            )
        with phase("match_affiliate"):
            results["wallet_affiliate"] = affiliate.match_wallet_affiliate(
                wallet.conversions, network, day=day, now=now, grace=options.postback_grace
            )
        rows["affiliate_export"] = len(network) + len(net_rejected)
        all_rejects.append(net_rejected)
    if options.game_reports_dir is not None:
        _match_games(engine, day, options, now, results, rows, all_rejects)
    rejects_frame = pd.concat(all_rejects, ignore_index=True)
    breaks = pd.concat(
        [r.breaks for r in results.values()] + [rejects.rejects_to_breaks(rejects_frame)],
        ignore_index=True,
    )
    return Found(
        breaks=frames.conform(breaks, frames.BREAKS, "breaks"),
        rejects=rejects_frame,
        rows=rows,
        stats_by_pair={p: dict(r.stats) for p, r in results.items()},
    )


def load_game_wallet(
    con: duckdb.DuckDBPyConnection, conn: Connection, day: date, spool: Path
) -> int:
    """The provider transactions the seamless wallet booked on ``day`` and its neighbours
    (``pw_casino_wallet_transactions``, read on ``conn``) as the table ``gw`` of the
    workspace ``con`` (COPY files in ``spool``): the wallet side of the game pair."""
    from reconcilers.sources import wallet

    start, end = day_period(day)
    return wallet.load_game_transactions_into(
        con, conn, start - timedelta(days=1), end + timedelta(days=1), table="gw", spool=spool
    )


def _match_games(
    engine: Engine,
    day: date,
    options: RunOptions,
    now: datetime,
    results: dict,
    rows: dict[str, int],
    all_rejects: list[pd.DataFrame],
) -> None:
    """Wallet ⟷ game provider: the providers' reports against the seamless wallet, in a
    workspace that spills to disk past ``options.work_memory`` (the largest money flow an
    operator has: a day may hold more rows than memory)."""
    from reconcilers.match import game_provider
    from reconcilers.match.engine import MatchResult, workspace
    from reconcilers.sources import game_reports, wallet

    assert options.game_reports_dir is not None
    with workspace(options.work_memory, options.work_dir) as (con, folder):
        options.progress(f"reading the game provider reports from {options.game_reports_dir}")
        with options.phase("read_games"):
            reports = game_reports.load_game_reports(
                con, options.game_reports_dir, day, options.game_providers
            )
            options.progress(
                f"  {len(reports.files)} files, {reports.rows} transactions, "
                f"{reports.ggr} GGR lines, {len(reports.rejects)} rejected; reading the "
                "wallet's provider transactions"
            )
            with wallet.connect(engine) as conn:
                wallet.require_views(conn, False, games=True)
                booked = load_game_wallet(con, conn, day, folder)
        options.progress(f"  wallet: {booked} provider transactions")
        with options.phase("match_games"):
            # nothing below reads rows in order (the ledger and the reports sort the breaks)
            con.execute("SET preserve_insertion_order = false")
            found = game_provider.find_breaks(
                con,
                day=day,
                now=now,
                round_window=options.round_window,
                providers=list(options.game_providers),
            )
    stats = dict(found.stats) | {"rows_wallet": booked, "rows_other": reports.rows}
    results["wallet_game_provider"] = MatchResult(found.breaks, stats)
    rows["wallet"] = rows.get("wallet", 0) + booked
    rows["game_report"] = reports.rows + reports.ggr + len(reports.rejects)
    all_rejects.append(reports.rejects)


def summarise(
    run_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    finished: datetime,
    found: Found,
    change: dict,
    open_breaks: pd.DataFrame,
) -> RunSummary:
    at_risk = (
        open_breaks.groupby("currency")["amount_at_risk_minor"].sum().astype(int).to_dict()
        if len(open_breaks)
        else {}
    )
    return RunSummary(
        run_id=run_id,
        period_start=start,
        period_end=end,
        started_at=now,
        finished_at=finished,
        outcome="success",
        rows=found.rows,
        matched=found.matched_by_pair,
        in_flight=found.in_flight_by_pair,
        new_breaks=sum(c.new for c in change.values()),
        resolved_breaks=sum(c.resolved for c in change.values()),
        open_breaks=len(open_breaks),
        open_by_type=open_breaks["type"].value_counts().astype(int).to_dict(),
        amount_at_risk_minor={str(k): int(v) for k, v in at_risk.items()},
    )


def _write_reports(
    out_dir: Path, day: date, summary: RunSummary, open_breaks: pd.DataFrame, rejects: pd.DataFrame
) -> tuple[Path, Path, Path | None]:
    from reconcilers import report

    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, html_path, rejects_path = report.report_paths(out_dir, day)
    report.write_csv(open_breaks, csv_path)
    report.write_html(summary, open_breaks, html_path)
    if len(rejects):
        report.write_rejects_csv(rejects, rejects_path)
        return csv_path, html_path, rejects_path
    return csv_path, html_path, None


def _tell_slack(target: SlackTarget, summary: RunSummary, breaks: pd.DataFrame, csv: Path) -> None:
    """Post the summary; a Slack failure is logged, it does not fail the reconciliation."""
    from slack_sdk import WebClient

    from reconcilers import slack

    try:
        client = WebClient(token=target.token, base_url=target.base_url, timeout=10)
        slack.post_summary(client, target.channel, summary, breaks, csv)
    except Exception:
        log.exception(
            "reconciliation run %s: the Slack summary could not be posted", summary.run_id
        )
