"""docker-compose.yml, validated without a Docker engine: ``docker-compose config`` must
accept it, and its normalized form must wire the stack the way the issue asks (every
service there, images pinned, ports on 127.0.0.1 only, the migration first, Prometheus on
the rendered config and the generated rules, Alertmanager with its secrets, Grafana
provisioned, tracing optional).

``docker-compose`` (v1 or v2) and ``promtool`` are skipped when missing, except in CI
(PITWATCH_REQUIRE_PROMTOOL=1), where a missing binary fails.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from igaming.traffic import scenario as scenarios
from igaming.traffic.live import OPERATOR_KEY_ENV, SimUrls
from pitwatch.generate import ROOT
from pitwatch.stack import compose
from tests.alert_rules.tools import require

COMPOSE_FILE = ROOT / "docker-compose.yml"
PITWATCH_IMAGE = "pitwatch"  # the image built from ./Dockerfile
# The services the issue names, and the pitwatch command each runs.
PITWATCH_COMMANDS = {
    "migrate": ["platform", "db", "upgrade"],
    "platform": ["platform", "serve"],
    "psp-sim": ["sim", "psp", "serve"],
    "kyc-sim": ["sim", "kyc", "serve"],
    "odds-sim": ["sim", "odds", "serve"],
    "games-sim": ["sim", "games", "serve"],
    "affiliates-sim": ["sim", "affiliates", "serve"],
    "state-exporter": ["collect", "serve"],
    "reconciler": ["reconcile", "schedule"],
}
THIRD_PARTY = {
    "postgres": "postgres",
    "prometheus": "prom/prometheus",
    "alertmanager": "prom/alertmanager",
    "grafana": "grafana/grafana",
    "jaeger": "jaegertracing/all-in-one",
    "node-exporter": "prom/node-exporter",
    "postgres-exporter": "quay.io/prometheuscommunity/postgres-exporter",
}
TRACING_SERVICE = "jaeger"
TRACING_PROFILE = "tracing"
# A tag that names a version: 16.6-bookworm, v2.53.3, 3.11.11-slim-bookworm, 0.1.0.
VERSION_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?([.-][A-Za-z0-9.-]+)?$")
URL = re.compile(r"^[a-z][a-z0-9+.-]*://([^/@]+@)?(?P<host>[^/:@]+)(:(?P<port>\d+))?")


def run_config(tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``docker-compose config`` (every profile active) with only ``env`` set: the file's
    defaults, whatever the developer's shell or .env holds."""
    binary = require("docker-compose")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    result = subprocess.run(
        [binary, "--profile", TRACING_PROFILE, "--project-directory", str(ROOT),
         "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True, text=True, env=clean | (env or {}), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_config(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return config["services"]


# -- the normalized form differs between docker-compose v1 and v2: read both -------------


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) of every volume of a service."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out.append((v["source"], v["target"], bool(v.get("read_only"))))
        else:
            parts = v.split(":")
            mode = parts[2] if len(parts) > 2 else "rw"
            out.append((parts[0], parts[1], "ro" in mode.split(",")))
    return out


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (not named volumes)."""
    return {t: Path(s) for s, t, _ in mounts(service) if s.startswith("/")}


def host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """Where a container path of a service comes from on the host (longest mount wins)."""
    best: tuple[str, Path] | None = None
    for target, source in bind_mounts(service).items():
        inside = container_path == target or container_path.startswith(target.rstrip("/") + "/")
        if inside and (best is None or len(target) > len(best[0])):
            best = (target, source)
    if best is None:
        return None
    rest = container_path[len(best[0]) :].lstrip("/")
    return best[1] / rest if rest else best[1]


def published(service: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(host ip, host port, container port) of every published port."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published", "")), int(p["target"])))
        else:
            spec = str(p).split("/")[0]
            parts = spec.rsplit(":", 2)
            if len(parts) == 3:
                out.append((parts[0], parts[1], int(parts[2])))
            elif len(parts) == 2:
                out.append(("", parts[0], int(parts[1])))
            else:
                out.append(("", "", int(parts[0])))
    return out


def listens_on(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split("/")[0]) for p in service.get("expose", [])}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return [str(c) for c in cmd] if isinstance(cmd, list) else str(cmd).split()


def flag(cmd: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in a command."""
    for i, arg in enumerate(cmd):
        if arg == name and i + 1 < len(cmd):
            return cmd[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def is_pitwatch(service: dict[str, Any]) -> bool:
    return str(service.get("image", "")).split(":")[0] == PITWATCH_IMAGE


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # the short form: only "started"
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def assert_points_at_a_service(
    url: str, services: dict[str, dict[str, Any]], where: str, default_port: int = 80
) -> None:
    m = URL.match(url)
    assert m, f"{where}: {url!r} is not a URL"
    host, port = m["host"], int(m["port"] or default_port)
    assert host in services, f"{where}: {url} names host {host!r}, not a compose service"
    assert port in listens_on(services[host]), (
        f"{where}: {url}: service {host} listens on {sorted(listens_on(services[host]))}"
    )


# -- the stack is there ---------------------------------------------------------------


@pytest.mark.parametrize("name", [*PITWATCH_COMMANDS, "traffic", *THIRD_PARTY])
def test_every_service_the_issue_names_is_defined(services, name):
    assert name in services, f"docker-compose.yml has no service {name!r}"


@pytest.mark.parametrize("name,expected", sorted(PITWATCH_COMMANDS.items()))
def test_pitwatch_services_run_their_command_on_the_application_image(services, name, expected):
    service = services[name]
    assert is_pitwatch(service), f"{name} runs {service.get('image')}, not the pitwatch image"
    assert service["build"]["context"] == str(ROOT), f"{name} is not built from the repo"
    dockerfile = Path(service["build"]["context"], service["build"].get("dockerfile", "Dockerfile"))
    assert dockerfile == ROOT / "Dockerfile" and dockerfile.is_file(), dockerfile
    assert service["image"].rsplit(":", 1)[1] == version("pitwatch"), "tag the project version"
    assert command(service)[: len(expected)] == expected, f"{name}: {command(service)}"


@pytest.mark.parametrize("name,image", sorted(THIRD_PARTY.items()))
def test_third_party_services_run_their_image(services, name, image):
    assert services[name]["image"].rsplit(":", 1)[0] == image


def test_servers_listen_on_every_interface_of_the_network_on_the_port_they_expose(services):
    servers = [n for n, s in services.items() if is_pitwatch(s) and "serve" in command(s)]
    assert len(servers) == 7, servers  # platform, five simulators, the state exporter
    for name in servers:
        cmd = command(services[name])
        assert flag(cmd, "--host") == "0.0.0.0", f"{name} is unreachable from the network"
        assert flag(cmd, "--port") is not None, f"{name}: no --port"
        # The platform's second listener: its internal /metrics (--metrics-port).
        metrics = {int(m)} if (m := flag(cmd, "--metrics-port")) else set()
        assert {int(flag(cmd, "--port") or 0)} | metrics == listens_on(services[name]), name
        assert int(flag(cmd, "--port") or 0) == compose.SERVICES[name], name
        if metrics:
            assert flag(cmd, "--metrics-host") == "0.0.0.0", f"{name}: metrics unreachable"
            assert not metrics & {t for _, _, t in published(services[name])}, name
    for name in ("prometheus", "alertmanager", "node-exporter", "postgres-exporter"):
        address = flag(command(services[name]), "--web.listen-address") or ""
        assert address.startswith("0.0.0.0:"), name
        assert int(address.rsplit(":", 1)[1]) in listens_on(services[name]), name


# -- images --------------------------------------------------------------------------------


def test_every_image_is_pinned_to_an_explicit_version(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image name (an untagged build)"
        assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{name}: {image}"
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest" and VERSION_TAG.match(tag), f"{name}: {image} is not pinned"


def test_the_dockerfile_pins_its_base_and_runs_pitwatch_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        tag = base.partition(":")[2]
        assert re.match(r"^\d+\.\d+\.\d+-", tag), f"base image {base} is not pinned"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the image runs as root"
    assert re.search(r'^ENTRYPOINT\s+\["pitwatch"\]', text, re.M)
    assert re.search(r"^RUN pip install ", text, re.M)


def test_the_build_context_leaves_out_the_local_environment():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", "var"):
        assert entry in ignored, f".dockerignore lacks {entry}"


# -- ports ---------------------------------------------------------------------------------


def test_every_published_port_binds_127_0_0_1_only(services):
    seen = 0
    for name, service in services.items():
        for host_ip, host_port, target in published(service):
            seen += 1
            assert host_ip == "127.0.0.1", f"{name} publishes {host_port}:{target} on all hosts"
            assert target in listens_on(service), f"{name} publishes {target}, not listened on"
    assert seen >= 10


# -- the database and the migration -------------------------------------------------------


def test_every_service_that_needs_the_database_waits_for_the_migration(services):
    users = [
        n
        for n, s in services.items()
        if "PITWATCH_DATABASE_URL" in environment(s) and n != "migrate"
    ]
    assert {"platform", "state-exporter", "reconciler"} <= set(users), users
    for name in users:
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully", (
            f"{name} reads the database but does not wait for the migration"
        )
    migrate = services["migrate"]
    assert depends_on(migrate).get("postgres") == "service_healthy"
    assert migrate.get("restart") in (None, "no"), "a one-shot migration must not restart"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_every_pitwatch_service_uses_the_same_database(services):
    urls = {
        environment(s)["PITWATCH_DATABASE_URL"]
        for s in services.values()
        if "PITWATCH_DATABASE_URL" in environment(s)
    }
    assert len(urls) == 1, urls
    (url,) = urls
    assert url.startswith("postgresql://")
    assert_points_at_a_service(url, services, "PITWATCH_DATABASE_URL", default_port=5432)


def test_every_url_in_the_environment_names_a_service_on_a_port_it_listens_on(services):
    checked = 0
    for name, service in services.items():
        for key, value in environment(service).items():
            if URL.match(value):
                assert_points_at_a_service(value, services, f"{name} {key}")
                checked += 1
    assert checked >= 10


def test_the_odds_feed_goes_to_the_platform_service(services):
    odds = services["odds-sim"]
    path = host_path(odds, flag(command(odds), "--config") or "")
    assert path is not None and path.is_file(), "the odds simulator's config is not mounted"
    assert path.read_text() == compose.odds_sim_config(), "run pitwatch generate"
    feed = yaml.safe_load(path.read_text())["feed_url"]
    assert_points_at_a_service(feed, services, "odds-sim feed_url")
    assert URL.match(feed)["host"] == "platform"


def test_every_bind_mount_exists_on_disk(services):
    for name, service in services.items():
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{name} mounts {source} at {target}: no such file"


# -- the traffic simulator -------------------------------------------------------------------


def test_the_traffic_scenario_and_rate_come_from_the_environment(tmp_path, services):
    default = " ".join(command(services["traffic"]))
    assert "--scenario baseline" in default.replace('"', "")
    assert "baseline" in scenarios.builtin_names()
    chosen = run_config(tmp_path, {"PITWATCH_SCENARIO": "psp-outage-de", "PITWATCH_RATE": "12"})
    text = " ".join(command(chosen["services"]["traffic"])).replace('"', "")
    assert "--scenario psp-outage-de" in text and "--rate 12" in text, text
    assert "--live http://platform:8600" in text


def test_the_traffic_simulator_finds_every_simulator_and_an_operator_key(services):
    traffic = services["traffic"]
    env = environment(traffic)
    wanted = {"PITWATCH_PSP_URL", "PITWATCH_KYC_URL", "PITWATCH_GAMES_URL", "PITWATCH_ODDS_URL",
              "PITWATCH_AFFILIATES_URL"}  # fmt: skip
    assert wanted <= set(env), wanted - set(env)
    urls = SimUrls.__dataclass_fields__  # the fields live mode reads them into
    assert len(urls) == len(wanted)
    for key in wanted:
        host = URL.match(env[key])["host"]
        assert host in compose.SIMULATORS, f"{key} points at {host}"
        assert depends_on(traffic).get(host) == "service_healthy", f"traffic starts before {host}"
    assert OPERATOR_KEY_ENV in " ".join(command(traffic)) + " ".join(env)
    assert depends_on(traffic).get("operator-key") == "service_completed_successfully"
    key_volume = {t: s for s, t, _ in mounts(traffic)}
    writer = {t: s for s, t, _ in mounts(services["operator-key"])}
    assert set(key_volume.items()) & set(writer.items()), "the key is not shared"


# -- Prometheus -----------------------------------------------------------------------------


def prometheus_config_path(services: dict[str, dict[str, Any]]) -> Path:
    prom = services["prometheus"]
    path = host_path(prom, flag(command(prom), "--config.file") or "/etc/prometheus/prometheus.yml")
    assert path is not None, "Prometheus' configuration is not mounted"
    return path


def test_prometheus_runs_on_the_rendered_configuration(services):
    path = prometheus_config_path(services)
    assert path == ROOT / compose.PROMETHEUS_CONFIG
    assert path.read_text() == compose.prometheus_config(), "stale: run pitwatch generate"


def test_prometheus_loads_every_generated_rule_file_read_only(services):
    prom = services["prometheus"]
    config = yaml.safe_load(prometheus_config_path(services).read_text())
    loaded: set[Path] = set()
    for pattern in config["rule_files"]:
        folder = host_path(prom, str(Path(pattern).parent))
        assert folder is not None, f"rule files {pattern} are not mounted"
        loaded |= {p for p in folder.iterdir() if fnmatch.fnmatch(p.name, Path(pattern).name)}
    generated = set((ROOT / "alert_rules" / "rules").glob("*.yml"))
    assert generated and loaded == generated
    read_only = {t for _, t, ro in mounts(prom) if ro}
    assert compose.RULES_MOUNT in read_only


def test_promtool_accepts_the_configuration_with_the_rules_as_mounted(services, tmp_path):
    """promtool on a copy whose container paths are replaced by their host sources, so
    that it loads and checks every rule file the container will."""
    promtool = require("promtool")
    prom = services["prometheus"]
    config = yaml.safe_load(prometheus_config_path(services).read_text())
    config["rule_files"] = [
        str(host_path(prom, str(Path(p).parent)) / Path(p).name) for p in config["rule_files"]
    ]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(copy)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rules = len(list((ROOT / "alert_rules" / "rules").glob("*.yml")))
    assert result.stdout.count("SUCCESS") >= 1 + rules, result.stdout


def test_every_scrape_target_is_a_service_listening_on_that_port(services):
    config = yaml.safe_load(prometheus_config_path(services).read_text())
    targets = [
        (job["job_name"], t)
        for job in config["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    ]
    targets += [
        ("alerting", t)
        for am in config.get("alerting", {}).get("alertmanagers", [])
        for sc in am.get("static_configs", [])
        for t in sc["targets"]
    ]
    names = {t.split(":")[0] for _, t in targets}
    assert {"platform", "state-exporter", "alertmanager", "node-exporter",
            "postgres-exporter"} <= names, names  # fmt: skip
    for job, target in targets:
        assert_points_at_a_service(f"http://{target}", services, f"prometheus job {job}")


# -- Alertmanager ---------------------------------------------------------------------------


def alertmanager_config(services: dict[str, dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    am = services["alertmanager"]
    path = host_path(am, flag(command(am), "--config.file") or "")
    assert path is not None and path.is_file(), "Alertmanager's configuration is not mounted"
    return path, yaml.safe_load(path.read_text())


def secret_files(node: Any) -> set[str]:
    """Every ``*_file`` value of an Alertmanager configuration."""
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k.endswith("_file") and isinstance(v, str)}
        return found.union(*(secret_files(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(secret_files(v) for v in node))
    return set()


def test_alertmanager_runs_the_generated_configuration_and_its_templates(services):
    path, config = alertmanager_config(services)
    assert path == ROOT / "alert_rules" / "alertmanager" / "alertmanager.yml"
    assert config.get("templates"), "no templates: the messages would be Alertmanager's own"
    for template in config["templates"]:
        assert list(path.parent.glob(template)), f"template {template} is not next to the config"


def test_alertmanager_secrets_are_compose_secrets_from_files(config, services):
    _, am_config = alertmanager_config(services)
    wanted = secret_files(am_config)
    assert wanted == {"/run/secrets/slack_webhook_url", "/run/secrets/pagerduty_routing_key"}
    given = {}
    for s in services["alertmanager"].get("secrets", []):
        source = s if isinstance(s, str) else s["source"]
        target = s.get("target") if isinstance(s, dict) else None
        target = target if target and target.startswith("/") else f"/run/secrets/{target or source}"
        given[target] = source
    assert wanted <= set(given), f"not given to Alertmanager: {wanted - set(given)}"
    for target in wanted:
        secret = config["secrets"][given[target]]
        assert secret.get("file") or secret.get("environment"), secret
        if secret.get("file"):
            real = Path(secret["file"])
            example = real.with_name(real.name + ".example")
            assert example.is_file(), f"no {example.name} shows what {real.name} holds"
            ignored = subprocess.run(["git", "check-ignore", "-q", str(real)], cwd=ROOT)
            assert ignored.returncode == 0, f"{real} could be committed"
            kept = subprocess.run(["git", "check-ignore", "-q", str(example)], cwd=ROOT)
            assert kept.returncode == 1, f"{example} is ignored"


def test_secret_file_paths_come_from_the_environment(tmp_path):
    chosen = run_config(tmp_path, {"PITWATCH_SLACK_WEBHOOK_URL_FILE": "/etc/pw/slack"})
    assert chosen["secrets"]["slack_webhook_url"]["file"] == "/etc/pw/slack"


# -- Grafana --------------------------------------------------------------------------------


def test_grafana_is_provisioned_from_the_repository(services):
    grafana = services["grafana"]
    mounted = bind_mounts(grafana)
    for kind in ("datasources", "dashboards"):
        source = mounted.get(f"/etc/grafana/provisioning/{kind}")
        assert source == ROOT / "dashboards" / "provisioning" / kind, kind
        assert list(source.glob("*.yml")), f"nothing to provision in {source}"
    providers = yaml.safe_load(
        (ROOT / "dashboards/provisioning/dashboards/pitwatch.yml").read_text()
    )
    for provider in providers["providers"]:
        folder = host_path(grafana, provider["options"]["path"])
        assert folder is not None, f"{provider['options']['path']} is not mounted"
        boards = {p.name for p in folder.glob("*.json")}
        assert boards == {p.name for p in (ROOT / "dashboards").glob("*.json")} and boards
    for source in (ROOT / "dashboards/provisioning/datasources").glob("*.yml"):
        for ds in yaml.safe_load(source.read_text())["datasources"]:
            if ds["type"] == "prometheus":
                assert_points_at_a_service(ds["url"], services, f"datasource {ds['uid']}")


# -- tracing --------------------------------------------------------------------------------


def test_the_tracing_backend_is_optional_behind_a_profile(services):
    assert services[TRACING_SERVICE].get("profiles") == [TRACING_PROFILE]
    others = {n for n, s in services.items() if s.get("profiles") and n != TRACING_SERVICE}
    assert not others, f"not started by default: {others}"


def test_with_tracing_every_pitwatch_service_exports_spans_to_the_backend(tmp_path):
    endpoint = "http://jaeger:4318"
    services = run_config(tmp_path, {"PITWATCH_OTLP_ENDPOINT": endpoint})["services"]
    assert_points_at_a_service(endpoint, services, "PITWATCH_OTLP_ENDPOINT")
    for name, service in services.items():
        if is_pitwatch(service):
            assert environment(service).get("OTEL_EXPORTER_OTLP_ENDPOINT") == endpoint, name


def test_without_tracing_nothing_is_exported(services):
    for name, service in services.items():
        if is_pitwatch(service):
            assert environment(service).get("OTEL_EXPORTER_OTLP_ENDPOINT", "") == "", name


# -- exporters ------------------------------------------------------------------------------


def test_the_postgres_exporter_reads_our_queries_on_the_platforms_database(services):
    exporter = services["postgres-exporter"]
    queries = host_path(exporter, flag(command(exporter), "--extend.query-path") or "")
    assert queries == ROOT / "deploy/postgres-exporter/queries.yaml" and queries.is_file()
    dsn = environment(exporter)["DATA_SOURCE_NAME"]
    assert dsn.split("?")[0] == environment(services["platform"])["PITWATCH_DATABASE_URL"]
    assert_points_at_a_service(dsn, services, "postgres-exporter DATA_SOURCE_NAME", 5432)
    assert depends_on(exporter).get("postgres") == "service_healthy"


def test_the_node_exporter_runs_the_collectors_the_native_stack_runs(services):
    from pitwatch.stack.native import NODE_COLLECTORS

    cmd = command(services["node-exporter"])
    assert "--collector.disable-defaults" in cmd
    enabled = {c.removeprefix("--collector.") for c in cmd if c.startswith("--collector.")}
    assert enabled - {"disable-defaults"} == set(NODE_COLLECTORS)
    assert host_path(services["node-exporter"], "/host") == Path("/")
    assert not published(services["node-exporter"]), "host metrics stay inside the network"
