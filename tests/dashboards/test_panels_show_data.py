"""Every panel shows data on a real Prometheus. A target serves every catalog metric with
every value of its labels (counters growing, histograms observing); Prometheus scrapes it
every second and evaluates the registered rule files; then each panel's queries run with
the variables at All. A label misspelt in a selector, a label value outside the catalog's
domain, a join that matches nothing or a recording rule nobody records leaves a panel
empty and fails here, where parsing alone would pass."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import alert_rules
import dashboards
from alert_rules.config import Jobs
from alert_rules.render import rule_file
from collectors.catalog import EXPORTER_METRICS, METRICS, Metric
from tests.alert_rules.tools import require
from tests.dashboards.tools import LABEL_VALUES, panels, promql

# Every test here queries a Prometheus the module starts and fills (about 10 s).
pytestmark = pytest.mark.slow

# Values of the labels whose domain is open (top-N): any will do, they only need to exist.
OPEN_VALUES = {
    "affiliate": ("aff17", "aff23"),
    "campaign": ("spring-de", "summer-br"),
    "brand": ("acme", "bingo"),
    "route": ("/cashier/deposits", "/sessions"),
}
START = time.time()
# A value for each label the exporter metrics' queries read (node_exporter, postgres_exporter).
EXPORTER_LABELS: dict[str, str | tuple[str, ...]] = {
    "cpu": "0",
    "mode": "idle",
    "device": "/dev/sda1",
    "fstype": "ext4",
    "mountpoint": "/",
    "state": ("active", "idle in transaction"),
    "datname": "pitwatch",
    "relname": "ledger_entries",
}
JOBS = Jobs()
EXPORTER_JOBS = {"node_exporter": JOBS.node, "postgres_exporter": JOBS.postgres}


def _label_sets(metric: Metric) -> list[dict[str, str]]:
    """Few series that still carry every value of every label at least once, crossed with
    every value of the last label (the outcome, status or reason by convention), so that
    the success rate of each GEO has approved and finished deposits."""
    domains = [(d.name, d.values or OPEN_VALUES[d.name]) for d in metric.labels]
    if not domains:
        return [{}]
    *rest, (last, last_values) = domains
    n = max([len(values) for _name, values in rest] or [1])
    zipped = [{name: values[i % len(values)] for name, values in rest} for i in range(n)]
    return [{**kv, last: value} for kv in zipped for value in last_values]


def _labels(kv: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}" if kv else ""


def exposition(now: float) -> str:
    grown = (now - START) + 60
    lines = []
    for metric in METRICS:
        kind = "gauge" if metric.type == "info" else metric.type
        lines.append(f"# TYPE {metric.exposed_name if kind != 'histogram' else metric.name} {kind}")
        for i, kv in enumerate(_label_sets(metric)):
            if metric.type == "info":
                lines.append(f'{metric.exposed_name}{{version="2026.11.3"}} 1')
            elif metric.type == "counter":
                lines.append(f"{metric.exposed_name}{_labels(kv)} {grown * (i + 1):.3f}")
            elif metric.type == "gauge":
                lines.append(f"{metric.exposed_name}{_labels(kv)} {i + 1}")
            else:
                buckets = metric.buckets or ()
                total = grown * (i + 1)
                for j, le in enumerate(buckets):
                    share = min(1.0, (j + 1) / (len(buckets) / 2))
                    lines.append(
                        f"{metric.name}_bucket{_labels({**kv, 'le': repr(float(le))})} "
                        f"{total * share:.3f}"
                    )
                lines.append(f"{metric.name}_bucket{_labels({**kv, 'le': '+Inf'})} {total:.3f}")
                lines.append(f"{metric.name}_count{_labels(kv)} {total:.3f}")
                lines.append(f"{metric.name}_sum{_labels(kv)} {total:.3f}")
    return "\n".join(lines) + "\n"


def exporter_exposition(exporter: str, now: float) -> str:
    """What a third-party exporter serves of the series the catalog declares: counters
    growing, free disk space shrinking (so that a time to full exists), gauges at 1."""
    grown = (now - START) + 60
    lines = []
    for metric in (m for m in EXPORTER_METRICS if m.exporter == exporter):
        lines.append(f"# TYPE {metric.name} {metric.type}")
        domains = [(n, v if isinstance(v := EXPORTER_LABELS[n], tuple) else (v,))
                   for n in metric.labels]  # fmt: skip
        for i in range(max([len(values) for _, values in domains] or [1])):
            kv = {name: values[i % len(values)] for name, values in domains}
            lines.append(f"{metric.name}{_labels(kv)} {_exporter_value(metric.name, grown):.3f}")
    return "\n".join(lines) + "\n"


def _exporter_value(name: str, grown: float) -> float:
    if name.endswith("_total") or name == "pg_stat_database_deadlocks":
        return grown
    if name == "node_filesystem_avail_bytes":
        return 50e9 - grown * 1e6
    if name == "node_filesystem_size_bytes":
        return 100e9
    return 0.0 if name == "node_filesystem_readonly" else 1.0


class _Target(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        exporter = self.path.strip("/")
        if exporter in EXPORTER_JOBS:
            body = exporter_exposition(exporter, time.time()).encode()
        else:
            body = exposition(time.time()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    binary = require("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    target = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    config = alert_rules.load()
    rules = tmp / "rules"
    rules.mkdir()
    for domain in alert_rules.DOMAINS:
        (rules / f"{domain.name}.yml").write_text(rule_file(domain, config))
    address = f"127.0.0.1:{target.server_address[1]}"
    exporters = "".join(
        f"  - job_name: {job}\n    metrics_path: /{exporter}\n"
        f"    static_configs: [{{targets: ['{address}']}}]\n"
        for exporter, job in EXPORTER_JOBS.items()
    )
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}/*.yml']\n"
        "scrape_configs:\n"
        "  - job_name: igaming-platform\n"
        f"    static_configs: [{{targets: ['{address}']}}]\n" + exporters
    )
    port = _free_port()
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        _wait_for_samples(client, proc, tmp / "prometheus.log")
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
        target.shutdown()
        log.close()


def _wait_for_samples(client: httpx.Client, proc: subprocess.Popen, log: Path) -> None:
    """Until rate() over a minute has points and the rules have run a few times."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("prometheus exited:\n" + log.read_text()[-3000:])
        try:
            if client.get("/-/ready").status_code == 200:
                result = query(client, "min(count_over_time(up[1m]))")
                if result and float(result[0]["value"][1]) >= 6:
                    return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail("prometheus collected no samples in time:\n" + log.read_text()[-3000:])


def query(client: httpx.Client, expr: str) -> list[dict]:
    answer = client.get("/api/v1/query", params={"query": expr}).json()
    if answer["status"] != "success":
        raise AssertionError(f"{answer.get('error')}: {expr}")
    return answer["data"]["result"]


def _only_alerts(panel: dict) -> bool:
    # ALERTS has series only while some alert is pending or firing: no data is right.
    return all("ALERTS{" in t["expr"] for t in panel["targets"])


def test_every_panel_shows_data_with_the_variables_at_all(prometheus):
    empty = []
    for key, model in dashboards.dashboards().items():
        for panel in panels(model):
            targets = panel.get("targets", [])
            results = [query(prometheus, promql(t["expr"])) for t in targets]
            if targets and not any(results) and not _only_alerts(panel):
                empty.append(f"{key}: {panel['title']}")
    assert empty == []


def test_every_variable_and_the_deploy_annotation_find_their_values(prometheus):
    problems = []
    for key, model in dashboards.dashboards().items():
        for variable in model["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES.match(variable["definition"])
            assert match
            found = query(prometheus, f"count by ({match['label']}) ({promql(match['selector'])})")
            if not found or not all(r["metric"].get(match["label"]) for r in found):
                problems.append(f"{key}: variable {variable['name']}")
        for annotation in model["annotations"]["list"]:
            if "expr" in annotation and not query(prometheus, promql(annotation["expr"])):
                problems.append(f"{key}: annotation {annotation['name']}")
    assert problems == []


def test_thresholded_series_carry_every_value_they_are_drawn_for(prometheus):
    """The success rate by GEO draws its line over every GEO the catalog knows."""
    from ground.vocabulary import GEOS

    result = query(prometheus, 'geo:igaming_deposit_success:ratio_rate15m{geo=~".*"}')
    assert {r["metric"]["geo"] for r in result} >= set(GEOS)
