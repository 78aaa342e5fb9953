"""The stack as native processes on 127.0.0.1: ``up`` starts it, ``down`` stops it,
``status`` says what runs.

Every component is its own process in its own session (so that its process group can be
stopped as a whole), logging to ``<run_dir>/<name>.log``: the platform, the five
simulators, the notification sink (fake Slack and PagerDuty), the state exporter, the
reconciliation scheduler, Prometheus and Alertmanager when they are on PATH, with Prometheus
the host's exporter (prometheus-node-exporter) and, when the platform's database is
PostgreSQL, the database's (prometheus-postgres-exporter) when they are on PATH, and the
live traffic of a scenario when one is given. ``<run_dir>/stack.json`` lists what was started
(name, pid, pgid, port, url, log); ``down`` stops exactly that and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from ground.dburl import is_sqlite
from pitwatch.stack.config import StackConfig

STACK_FILE = "stack.json"
SECRETS_DIR = "secrets"
OPERATOR_KEY_FILE = "operator_key"
SIMULATORS = ("psp", "kyc", "odds", "games", "affiliates")
PROMETHEUS_BINARIES = ("prometheus",)
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
NODE_EXPORTER_BINARIES = ("prometheus-node-exporter", "node_exporter")
POSTGRES_EXPORTER_BINARIES = ("prometheus-postgres-exporter", "postgres_exporter")
# The Debian packages of what the stack runs beside pitwatch (`make demo` installs them).
PACKAGES = (
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
)
INSTALL_HINT = "apt-get install -y " + " ".join(PACKAGES)
# The node exporter's collectors the rules and the Infrastructure dashboard read; the
# others stay off (lighter scrapes, fewer series).
NODE_COLLECTORS = ("cpu", "meminfo", "filesystem", "loadavg", "netdev")
POSTGRES_QUERIES = Path(__file__).resolve().parents[2] / "deploy/postgres-exporter/queries.yaml"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Say = Callable[[str], None]


class StackError(RuntimeError):
    """The stack cannot start (a port in use, a component that did not come up); one line.
    ``code`` is the CLI's exit code: 2 for what the user can fix by choosing, 1 else."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Component:
    """A started process, as stack.json records it."""

    name: str
    pid: int
    pgid: int
    port: int | None
    url: str | None  # base URL; None for what serves nothing (scheduler, traffic)
    health: str | None  # the URL that answers 200 when the component is ready
    log: str
    command: list[str]
    started: int | None = None  # start time in clock ticks since boot: a reused pid is not ours
    stop_signal: str = "SIGTERM"


@dataclass
class Stack:
    """A running stack: what ``up`` started (and ``load`` reads back from stack.json)."""

    run_dir: Path
    profile: str
    rules_dir: str | None
    database_url: str
    scenario: str | None
    rate: float | None
    started_at: str
    components: list[Component] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    platform_metrics_url: str | None = None  # the platform's internal /metrics listener
    # The processes when this process started them (reaped on down); not in stack.json.
    procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def url(self, name: str) -> str | None:
        c = self.get(name)
        return c.url if c else None

    @property
    def platform_url(self) -> str:
        return self.url("platform") or ""

    @property
    def notify_url(self) -> str:
        return self.url("notify") or ""

    @property
    def prometheus_url(self) -> str | None:
        return self.url("prometheus")

    @property
    def alertmanager_url(self) -> str | None:
        return self.url("alertmanager")

    @property
    def traffic_started_at(self) -> datetime | None:
        c = self.get("traffic")
        return datetime.fromisoformat(self.started_at) if c is None else _started_at(c)

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "procs"}
        doc["run_dir"] = str(self.run_dir)
        doc["components"] = [asdict(c) for c in self.components]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Stack:
        doc = dict(doc)
        doc["run_dir"] = Path(doc["run_dir"])
        doc["components"] = [Component(**c) for c in doc.get("components", [])]
        doc.pop("procs", None)
        return cls(**doc)

    def save(self) -> None:
        path = self.run_dir / STACK_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def _started_at(c: Component) -> datetime | None:
    """When a component's process started (wall clock); None if unknown."""
    if c.started is None:
        return None
    return datetime.fromtimestamp(psutil.boot_time() + c.started / _CLOCK_TICKS, UTC)


# -- processes -------------------------------------------------------------------------------


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (what stack.json records); None when
    it is gone. Unlike a time of day no clock adjustment moves it, so a ``down`` hours later
    still tells its processes from a reused pid."""
    try:
        since_boot = psutil.Process(pid).create_time() - psutil.boot_time()
    except psutil.Error:
        return None
    return round(since_boot * _CLOCK_TICKS)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
        os.waitpid(pid, os.WNOHANG)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _live_member(pid: int, pgid: int) -> bool:
    """Whether ``pid`` is in process group ``pgid`` and not a zombie."""
    try:
        return _pgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone meanwhile
        return False


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in the process group."""
    _reap(pgid)
    return any(_live_member(pid, pgid) for pid in psutil.pids())


def _ours(c: Component) -> bool:
    """The pid still runs what we started (not a reused pid), and still leads its group."""
    if c.started is None:
        return True
    started = _start_ticks(c.pid)
    if started is None:  # the leader is gone; its group may live on
        return _group_alive(c.pgid)
    return started == c.started and _pgid(c.pid) == c.pgid


def _signal(c: Component, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(c.pgid, sig)


def _wait_gone(components: list[Component], timeout: float) -> list[Component]:
    deadline = time.monotonic() + timeout
    left = list(components)
    while left and time.monotonic() < deadline:
        left = [c for c in left if _group_alive(c.pgid)]
        if left:
            time.sleep(0.1)
    return left


def stop_components(components: list[Component], timeout: float = 10.0) -> dict[str, str]:
    """Stop each component's process group: its stop signal (SIGINT lets the traffic undo
    its incidents) first, then SIGTERM, SIGKILL after ``timeout``. Returns name → outcome."""
    outcome: dict[str, str] = {}
    mine = []
    for c in components:
        if not _group_alive(c.pgid):
            outcome[c.name] = "already gone"
        elif not _ours(c):
            outcome[c.name] = f"not ours any more (pid {c.pid} was reused): left alone"
        else:
            mine.append(c)
    # The traffic first, gently: it undoes its incidents through the simulators' admin APIs.
    gentle = [c for c in mine if c.stop_signal != "SIGTERM"]
    for c in gentle:
        _signal(c, getattr(signal, c.stop_signal))
    late = set(id(c) for c in _wait_gone(gentle, timeout))
    for c in mine:
        if c.stop_signal == "SIGTERM" or id(c) in late:
            _signal(c, signal.SIGTERM)
    for c in reversed(_wait_gone(mine, timeout)):
        _signal(c, signal.SIGKILL)
        outcome[c.name] = "killed"
    _wait_gone(mine, 5.0)
    for c in mine:
        outcome.setdefault(c.name, "stopped")
    return outcome


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be listened on (as the servers will, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen(1)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _wait_ready(
    c: Component, proc: subprocess.Popen | None, timeout: float, ready_log: str | None = None
) -> None:
    """Until ``c`` answers its health URL (or writes ``ready_log`` to its log); StackError
    when it exits first or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise StackError(
                f"{c.name} exited with code {proc.returncode} while starting: {_tail(c.log)}"
            )
        if c.health is None and ready_log is None:
            return
        if ready_log is not None:
            with contextlib.suppress(OSError):
                if ready_log in Path(c.log).read_text(errors="replace"):
                    return
        else:
            assert c.health is not None
            try:
                if httpx.get(c.health, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            what = c.health or f"{ready_log!r} in its log"
            raise StackError(
                f"{c.name} did not answer {what} within {timeout:.0f} s: {_tail(c.log)}"
            )
        time.sleep(0.2)


def _tail(log: str) -> str:
    try:
        lines = [ln for ln in Path(log).read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    last = lines[-1].strip()[:200] if lines else "(empty log)"
    return f"see {log} (last line: {last})"


# -- up --------------------------------------------------------------------------------------


@dataclass
class _Plan:
    name: str
    argv: list[str]
    port: int | None = None
    health_path: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: str = "SIGTERM"
    ready_log: str | None = None  # without a health URL: a line its log shows when ready
    optional: bool = False  # failing to start is a note, not the stack's failure
    binary: str | None = None  # a program on PATH; None: a pitwatch command (argv its args)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pitwatch.cli", *args]


def _binary(names: tuple[str, ...]) -> str | None:
    return next((p for n in names if (p := shutil.which(n))), None)


def load(run_dir: Path | str) -> Stack | None:
    """The stack recorded in ``run_dir``/stack.json, or None."""
    path = Path(run_dir) / STACK_FILE
    if not path.is_file():
        return None
    return Stack.from_json(json.loads(path.read_text(encoding="utf-8")))


def _sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///").split("?", 1)[0]).parent.mkdir(
            parents=True, exist_ok=True
        )


def _env(config: StackConfig) -> dict[str, str]:
    """What every component is told: the database and where everyone else listens."""
    p, h = config.ports, config.host
    # The stack runs the simulators with their placeholder secrets: development, unless the
    # caller's environment says otherwise (then the platform refuses placeholders itself).
    return (
        {
            "PITWATCH_ENVIRONMENT": "development",
            # The traffic simulator registers and logs in every player from one address, ~4
            # a second in its warm-up: the platform's per-IP limits sized for it
            # (docs/accounts.md).
            "PITWATCH_LOGIN_RATE_PER_IP": "600",
            "PITWATCH_REGISTRATION_RATE_PER_IP": "600",
        }
        | os.environ
        | {
            "PITWATCH_DATABASE_URL": config.database_url,
            "PITWATCH_PLATFORM_URL": f"http://{h}:{p.platform}",
            "PITWATCH_PSP_BASE_URL": f"http://{h}:{p.psp}",
            "PITWATCH_KYC_BASE_URL": f"http://{h}:{p.kyc}",
            "PITWATCH_GAMES_BASE_URL": f"http://{h}:{p.games}",
            "PITWATCH_AFFILIATE_NETWORK_URL": f"http://{h}:{p.affiliates}",
            # the traffic simulator's view of the simulators' admin APIs (igaming.traffic.live)
            "PITWATCH_PSP_URL": f"http://{h}:{p.psp}",
            "PITWATCH_KYC_URL": f"http://{h}:{p.kyc}",
            "PITWATCH_GAMES_URL": f"http://{h}:{p.games}",
            "PITWATCH_ODDS_URL": f"http://{h}:{p.odds}",
            "PITWATCH_AFFILIATES_URL": f"http://{h}:{p.affiliates}",
            # the reconciliation reads what the PSP simulator drops (_write_psp_config)
            "PITWATCH_RECON_PSP_REPORTS_DIR": str(config.run_dir.resolve() / "psp-settlement"),
            "PITWATCH_RECON_OUT_DIR": str(config.run_dir.resolve() / "reconciliation"),
            "PYTHONUNBUFFERED": "1",
        }
    )


def _write_prometheus(
    config: StackConfig, run_dir: Path, rules: Path, binaries: dict[str, str]
) -> Path:
    from pitwatch.stack.prometheus import Targets, render_prometheus

    p, h = config.ports, config.host
    copied = run_dir / "rules"
    shutil.rmtree(copied, ignore_errors=True)
    copied.mkdir()
    files = []
    for rule_file in sorted(rules.glob("*.yml")):
        shutil.copy(rule_file, copied / rule_file.name)
        files.append(str(copied / rule_file.name))
    targets = Targets(
        platform=f"{h}:{p.platform_metrics}",  # the internal listener, not the API
        state_exporter=f"{h}:{p.state}",
        alertmanager=f"{h}:{p.alertmanager}" if "alertmanager" in binaries else None,
        simulators={name: f"{h}:{getattr(p, name)}" for name in SIMULATORS},
        node_exporter=f"{h}:{p.node_exporter}" if "node_exporter" in binaries else None,
        postgres_exporter=(
            f"{h}:{p.postgres_exporter}" if "postgres_exporter" in binaries else None
        ),
    )
    path = run_dir / "prometheus.yml"
    path.write_text(
        render_prometheus(
            targets,
            files,
            scrape_interval=config.scrape,
            evaluation_interval=config.evaluation,
        ),
        encoding="utf-8",
    )
    return path


def _write_alertmanager(config: StackConfig, run_dir: Path) -> Path:
    from alert_rules import DOMAINS
    from alert_rules.alertmanager import TEMPLATE, TEMPLATE_PATH, render_config
    from pitwatch.stack.config import ALERT_RULES_DIR

    notify = f"http://{config.host}:{config.ports.notify}"
    secrets = run_dir / SECRETS_DIR
    secrets.mkdir(exist_ok=True)
    (secrets / "slack_webhook_url").write_text(f"{notify}/slack/T0PITWATCH/B0STACK/local\n")
    (secrets / "pagerduty_routing_key").write_text("pitwatch-local-routing-key\n")
    path = run_dir / "alertmanager.yml"
    path.write_text(render_config(DOMAINS, config.delivery(secrets, notify)), encoding="utf-8")
    # alertmanager.yml names its template "pitwatch.tmpl": relative to the config's folder.
    committed = ALERT_RULES_DIR.parent / TEMPLATE_PATH
    template = committed.read_text() if committed.is_file() else TEMPLATE
    (run_dir / "pitwatch.tmpl").write_text(template, encoding="utf-8")
    return path


def _write_psp_config(run_dir: Path) -> Path:
    """The PSPs drop their settlement reports where the reconciliation reads them, every
    minute (yesterday's and today's so far), as they would on an SFTP server."""
    path = run_dir / "psp-sim.json"
    reports = run_dir / "psp-settlement"
    reports.mkdir(parents=True, exist_ok=True)
    body = {"report_dir": str(reports), "report_every_seconds": 60}
    path.write_text(json.dumps(body) + "\n", encoding="utf-8")
    return path


def _write_odds_config(config: StackConfig, run_dir: Path) -> Path:
    path = run_dir / "odds-sim.json"
    feed = f"http://{config.host}:{config.ports.platform}/sportsbook/feed"
    path.write_text(json.dumps({"feed_url": feed}) + "\n", encoding="utf-8")
    return path


def _check_scenario(config: StackConfig) -> None:
    if config.scenario is None:
        return
    from igaming.traffic.scenario import ScenarioError
    from igaming.traffic.scenario import load as load_scenario

    try:
        load_scenario(config.scenario)
    except ScenarioError as exc:
        raise StackError(str(exc), code=2) from None


def _check_not_running(run_dir: Path) -> None:
    previous = load(run_dir)
    if previous is None:
        return
    alive = [c for c in previous.components if _group_alive(c.pgid) and _ours(c)]
    if alive:
        raise StackError(
            f"a stack is already running from {run_dir} ({', '.join(c.name for c in alive)}): "
            f"pitwatch stack down --run-dir {run_dir}",
            code=2,
        )
    (run_dir / STACK_FILE).unlink()


def create_operator(config: StackConfig, run_dir: Path, timeout: float = 60) -> str:
    """A faults operator (no money moves) for the traffic's platform faults and its
    scenario's affiliates; its key goes to secrets/."""
    name = f"stack-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        _cli("platform", "operator", "create", "--name", name, "--role", "faults"),
        env=_env(config),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(f"could not create the traffic's operator: {last}")
    key = lines[-1].strip()
    path = run_dir / SECRETS_DIR / OPERATOR_KEY_FILE
    path.parent.mkdir(exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def _monitoring(config: StackConfig) -> tuple[dict[str, str], list[str]]:
    """Prometheus and Alertmanager when asked for and on PATH (name → binary), with
    Prometheus the exporters (the database's only on PostgreSQL), and a note for each one
    asked for but missing."""
    found: dict[str, str] = {}
    notes = []
    if config.prometheus:
        if binary := _binary(PROMETHEUS_BINARIES):
            found["prometheus"] = binary
        else:
            notes.append(f"Prometheus is not on PATH: no alert evaluation ({INSTALL_HINT})")
    if config.alertmanager:
        if binary := _binary(ALERTMANAGER_BINARIES):
            found["alertmanager"] = binary
        else:
            notes.append(f"Alertmanager is not on PATH: no notifications ({INSTALL_HINT})")
    if "prometheus" in found and config.exporters:
        wanted = [("node_exporter", NODE_EXPORTER_BINARIES, "no host metrics")]
        if not is_sqlite(config.database_url):
            wanted.append(("postgres_exporter", POSTGRES_EXPORTER_BINARIES, "no database metrics"))
        for name, names, missing in wanted:
            if binary := _binary(names):
                found[name] = binary
            else:
                hint = f"apt-get install -y {names[0]}"
                notes.append(f"{names[0]} is not on PATH: {missing} ({hint})")
    return found, notes


def _server(config: StackConfig, name: str, args: list[str], port: int, health: str) -> _Plan:
    """A pitwatch command that serves HTTP on ``port``, ready when ``health`` answers."""
    return _Plan(name, [*args, "--host", config.host, "--port", str(port)], port, health)


def _plans(
    config: StackConfig, run_dir: Path, binaries: dict[str, str]
) -> tuple[list[_Plan], list[_Plan]]:
    """What to start, in two waves: the simulators, the sink, the platform (and
    Alertmanager); then what reads the database or scrapes the first wave."""
    p = config.ports
    early = [
        *_simulator_plans(config, run_dir),
        _server(
            config,
            "platform",
            ["platform", "serve", "--metrics-port", str(p.platform_metrics)],
            p.platform,
            "/readyz",
        ),
    ]
    late = [
        _server(config, "state", ["collect", "serve"], p.state, "/metrics"),
        # No HTTP: ready when APScheduler says so. Optional: the reconciliation's schedule
        # failing leaves the alerting chain whole (its failure is a note and in its log).
        _Plan("reconcile", ["reconcile", "schedule"], ready_log="Scheduler started", optional=True),
    ]
    if binary := binaries.get("alertmanager"):
        early.append(_alertmanager_plan(config, run_dir, binary))
    if binary := binaries.get("node_exporter"):
        early.append(_node_exporter_plan(config, binary))
    if binary := binaries.get("postgres_exporter"):
        early.append(_postgres_exporter_plan(config, binary))
    if binary := binaries.get("prometheus"):
        late.append(_prometheus_plan(config, run_dir, binary))
    return early, late


def _simulator_plans(config: StackConfig, run_dir: Path) -> list[_Plan]:
    """The five simulators of the outside world, then the notification sink."""
    configs = {
        "odds": ["--config", str(run_dir / "odds-sim.json")],
        "psp": ["--config", str(run_dir / "psp-sim.json")],
    }
    simulators = [
        _server(
            config,
            name,
            ["sim", name, "serve", *configs.get(name, [])],
            getattr(config.ports, name),
            "/healthz",
        )
        for name in SIMULATORS
    ]
    notify = ["sim", "notify", "serve", "--run-dir", str(run_dir)]
    return [*simulators, _server(config, "notify", notify, config.ports.notify, "/healthz")]


def _alertmanager_plan(config: StackConfig, run_dir: Path, binary: str) -> _Plan:
    p, h = config.ports, config.host
    args = [
        f"--config.file={run_dir / 'alertmanager.yml'}",
        f"--storage.path={run_dir / 'alertmanager-data'}",
        f"--web.listen-address={h}:{p.alertmanager}",
        "--cluster.listen-address=",  # no gossip port on 0.0.0.0: a single instance
    ]
    return _Plan("alertmanager", args, p.alertmanager, "/-/ready", binary=binary)


def _prometheus_plan(config: StackConfig, run_dir: Path, binary: str) -> _Plan:
    p, h = config.ports, config.host
    args = [
        f"--config.file={run_dir / 'prometheus.yml'}",
        f"--storage.tsdb.path={run_dir / 'prometheus-data'}",
        f"--web.listen-address={h}:{p.prometheus}",
    ]
    return _Plan("prometheus", args, p.prometheus, "/-/ready", binary=binary)


def _node_exporter_plan(config: StackConfig, binary: str) -> _Plan:
    """The host's exporter with only the collectors the rules and dashboard read.
    Optional: a host exporter that cannot start is a note, the stack goes on."""
    args = [
        f"--web.listen-address={config.host}:{config.ports.node_exporter}",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in NODE_COLLECTORS),
    ]
    return _Plan(
        "node_exporter", args, config.ports.node_exporter, "/metrics", optional=True, binary=binary
    )


def postgres_dsn(url: str) -> str:
    """The platform's SQLAlchemy URL as the exporter's libpq URL (DATA_SOURCE_NAME): no
    driver suffix; SSL off for a local server unless the URL says otherwise (the exporter's
    driver requires SSL by default)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    query = dict(parsed.query)
    if "sslmode" not in query and parsed.host in (None, "", "127.0.0.1", "localhost", "::1"):
        query["sslmode"] = "disable"
    return parsed.set(query=query).render_as_string(hide_password=False)


def _postgres_exporter_plan(config: StackConfig, binary: str) -> _Plan:
    """The database's exporter with our queries (connections, locks, transactions,
    replication, the money tables). Optional, as the host's."""
    args = [
        f"--web.listen-address={config.host}:{config.ports.postgres_exporter}",
        f"--extend.query-path={POSTGRES_QUERIES}",
    ]
    return _Plan(
        "postgres_exporter",
        args,
        config.ports.postgres_exporter,
        "/metrics",
        env={"DATA_SOURCE_NAME": postgres_dsn(config.database_url)},
        optional=True,
        binary=binary,
    )


def _check_ports(config: StackConfig, plans: list[_Plan]) -> None:
    """Every port first: a taken one is an error before anything starts."""
    h = config.host
    wanted = [(plan.name, plan.port) for plan in plans if plan.port is not None]
    for name, port in [*wanted, ("platform_metrics", config.ports.platform_metrics)]:
        if not port_free(h, port):
            raise StackError(
                f"port {port} ({name}) is in use on {h}: stop what listens there "
                f"or choose another port (--ports {name}=N)",
                code=2,
            )


def _write_configs(
    config: StackConfig, run_dir: Path, rules: Path, binaries: dict[str, str]
) -> None:
    """The components' files: the SQLite database's folder, the simulators' and the
    monitoring's configs."""
    _sqlite_dir(config.database_url)
    _write_odds_config(config, run_dir)
    _write_psp_config(run_dir)
    if "alertmanager" in binaries:
        _write_alertmanager(config, run_dir)
    if "prometheus" in binaries:
        _write_prometheus(config, run_dir, rules, binaries)


def _upgrade_database(config: StackConfig, env: dict[str, str], say: Say) -> None:
    """Migrate a server database before anything reads it (the platform upgrades an empty
    SQLite database itself)."""
    if config.database_url.startswith("sqlite"):
        return
    say("upgrading the database (pitwatch platform db upgrade)")
    done = subprocess.run(
        _cli("platform", "db", "upgrade"), env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(f"database upgrade failed: {last}")


def _start(stack: Stack, plan: _Plan, env: dict[str, str], host: str) -> Component:
    """Start one component in its own session, logging to <run_dir>/<name>.log, and record
    it in stack.json."""
    argv = [plan.binary, *plan.argv] if plan.binary else _cli(*plan.argv)
    log = stack.run_dir / f"{plan.name}.log"
    with log.open("ab") as handle:
        proc = subprocess.Popen(
            argv,
            env=env | plan.env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{host}:{plan.port}" if plan.port is not None else None
    c = Component(
        name=plan.name,
        pid=proc.pid,
        pgid=proc.pid,  # its own session: the group is the process's pid
        port=plan.port,
        url=url,
        health=(url + plan.health_path) if url and plan.health_path else None,
        log=str(log),
        command=[str(a) for a in argv],
        started=_start_ticks(proc.pid),
        stop_signal=plan.stop_signal,
    )
    stack.components.append(c)
    stack.procs[plan.name] = proc
    stack.save()  # at once: a `down` finds it even if this process dies now
    return c


def _await_ready(
    stack: Stack, started: list[tuple[Component, _Plan]], timeout: float, say: Say
) -> None:
    """Wait for each started component in turn; an optional one that does not come up is
    stopped and becomes a note, any other fails the stack (StackError)."""
    for c, plan in started:
        try:
            _wait_ready(c, stack.procs[c.name], timeout, plan.ready_log)
        except StackError as exc:
            if not plan.optional:
                raise
            stop_components([c], timeout=5)
            stack.components.remove(c)
            stack.procs.pop(c.name)
            stack.notes.append(f"not running: {exc}")
            stack.save()
            say(f"{c.name:<12} NOT RUNNING: {exc}")
            continue
        say(f"{c.name:<12} ready at {c.url}" if c.url else f"{c.name:<12} running")


def _start_wave(
    config: StackConfig, stack: Stack, plans: list[_Plan], env: dict[str, str], say: Say
) -> None:
    """Start every plan at once, then wait until each is ready."""
    started = [(_start(stack, plan, env, config.host), plan) for plan in plans]
    _await_ready(stack, started, config.ready_timeout, say)


def _start_traffic(config: StackConfig, stack: Stack, env: dict[str, str], say: Say) -> None:
    """The scenario's live traffic, as a faults operator, once the platform is up."""
    assert config.scenario is not None
    key = create_operator(config, stack.run_dir)
    traffic = [
        "simulate", "--scenario", config.scenario,
        "--live", stack.platform_url, "--rate", f"{config.rate:g}",
        "--out", str(stack.run_dir / "traffic"),
    ]  # fmt: skip
    if config.traffic_days is not None:
        traffic += ["--days", f"{config.traffic_days:g}"]
    plan = _Plan(
        "traffic",
        traffic,
        env={"PITWATCH_OPERATOR_KEY": key},
        stop_signal="SIGINT",
        ready_log="live run of",  # cmd_simulate's first line: the scenario loaded
    )
    c = _start(stack, plan, env, config.host)
    _await_ready(stack, [(c, plan)], config.ready_timeout, say)
    say(f"traffic      {config.scenario} at {config.rate:g} actions/s ({c.log})")


def _abandon(stack: Stack) -> None:
    """Stop whatever of the stack started, and forget it."""
    stop_components(stack.components, timeout=5)
    for proc in stack.procs.values():
        _reap(proc.pid)
    (stack.run_dir / STACK_FILE).unlink(missing_ok=True)


def up(config: StackConfig, say: Say | None = None) -> Stack:
    """Start the stack; returns when every component answers its health URL. Raises
    StackError (nothing left running) when a port is taken or a component fails."""
    say = say or (lambda msg: None)
    run_dir = config.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_not_running(run_dir)
    _check_scenario(config)
    rules, note = config.rules_dir()
    binaries, missing = _monitoring(config)
    early, late = _plans(config, run_dir, binaries)
    _check_ports(config, [*early, *late])
    _write_configs(config, run_dir, rules, binaries)
    stack = Stack(
        run_dir=run_dir,
        profile=config.profile,
        rules_dir=str(rules) if "prometheus" in binaries else None,
        database_url=config.database_url,
        scenario=config.scenario,
        rate=config.rate if config.scenario else None,
        started_at=datetime.now(UTC).isoformat(),
        notes=([note] if note else []) + missing,
        platform_metrics_url=f"http://{config.host}:{config.ports.platform_metrics}",
    )
    env = _env(config)
    try:
        _upgrade_database(config, env, say)
        say(f"starting in {run_dir} (logs: <name>.log)")
        # The platform upgrades an empty SQLite database itself: what reads the database
        # starts once it answers /readyz.
        _start_wave(config, stack, early, env, say)
        _start_wave(config, stack, late, env, say)
        if config.scenario:
            _start_traffic(config, stack, env, say)
    except BaseException:  # Ctrl-C too: leave nothing running
        _abandon(stack)
        raise
    return stack


# -- down, status ----------------------------------------------------------------------------


def down(run_dir: Path | str, timeout: float = 10.0) -> dict[str, str]:
    """Stop exactly what ``run_dir``/stack.json lists; returns name → outcome ({} if no
    stack is recorded there)."""
    run_dir = Path(run_dir)
    stack = load(run_dir)
    if stack is None:
        return {}
    outcome = stop_components(stack.components, timeout)
    (run_dir / STACK_FILE).unlink(missing_ok=True)
    return outcome


@dataclass(frozen=True)
class ComponentStatus:
    component: Component
    alive: bool
    healthy: bool | None  # None: no health URL, or not alive


def status(run_dir: Path | str) -> list[ComponentStatus]:
    """Each recorded component: is its process alive, does it answer its health URL."""
    stack = load(run_dir)
    if stack is None:
        return []
    out = []
    for c in stack.components:
        alive = _group_alive(c.pgid) and _ours(c)
        healthy = None
        if alive and c.health:
            try:
                healthy = httpx.get(c.health, timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
        out.append(ComponentStatus(c, alive, healthy))
    return out


# -- what the stack says (for the demo and end-to-end tests) ---------------------------------


def prometheus_alerts(prometheus_url: str, timeout: float = 3) -> list[dict[str, Any]]:
    """Prometheus' active alerts (pending and firing): GET /api/v1/alerts."""
    r = httpx.get(f"{prometheus_url}/api/v1/alerts", timeout=timeout)
    r.raise_for_status()
    return list(r.json()["data"]["alerts"])


def notifications(notify_url: str, kind: str | None = None, timeout: float = 3) -> list[dict]:
    """What the sink received (``kind``: slack or pagerduty), oldest first."""
    params = {"kind": kind} if kind else {}
    r = httpx.get(f"{notify_url}/messages", params=params, timeout=timeout)
    r.raise_for_status()
    return list(r.json()["messages"])


def urls(stack: Stack) -> list[tuple[str, str]]:
    """Where to look, for people: (what, URL)."""
    out = []
    if stack.platform_url:
        out.append(("platform API", f"{stack.platform_url}/docs"))
    if stack.platform_metrics_url:
        out.append(("platform metrics", f"{stack.platform_metrics_url}/metrics"))
    if u := stack.url("state"):
        out.append(("state exporter", f"{u}/metrics"))
    if u := stack.prometheus_url:
        out.append(("Prometheus alerts", f"{u}/alerts"))
    if u := stack.alertmanager_url:
        out.append(("Alertmanager", u))
    exporters = (("node_exporter", "host metrics"), ("postgres_exporter", "database metrics"))
    for name, what in exporters:
        if u := stack.url(name):
            out.append((what, f"{u}/metrics"))
    if u := stack.notify_url:
        out.append(("Slack/PagerDuty sink", f"{u}/messages"))
    for name in SIMULATORS:
        if u := stack.url(name):
            out.append((f"{name} simulator", f"{u}/docs"))
    return out
