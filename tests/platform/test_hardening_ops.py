"""Hardening of the operational surface (security review items 4, 13-17): secrets that fail
closed, postback destinations, the internal metrics listener, fault injection, the
simulators' admin APIs and the breaks CSV shared on Slack."""

from __future__ import annotations

import pytest

from pitwatch.settings import Settings, SettingsError, get_settings

STRONG = "x" * 40  # 40 bytes: long enough, not a placeholder


def _strong_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", f'{{"paybridge": "{STRONG}"}}')
    monkeypatch.setenv("PITWATCH_GAME_PROVIDER_SECRETS", f'{{"spinworks": "{STRONG}"}}')
    monkeypatch.setenv("PITWATCH_ODDS_FEED_SECRET", STRONG)
    monkeypatch.setenv("PITWATCH_PLAYER_REF_KEY", STRONG)


# -- item 4: placeholder secrets fail closed --------------------------------------------------


def test_without_an_environment_placeholder_secrets_are_refused(monkeypatch):
    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    with pytest.raises(ValueError, match="placeholder"):
        Settings()


@pytest.mark.parametrize("value", ["", "short-but-real", "dev-secret-paybridge-0123456789abcdef"])
def test_production_refuses_empty_short_and_placeholder_secrets(monkeypatch, value):
    _strong_env(monkeypatch)
    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", f'{{"paybridge": "{value}"}}')
    with pytest.raises(ValueError, match="psp paybridge"):
        Settings()


def test_production_starts_with_long_real_secrets(monkeypatch):
    _strong_env(monkeypatch)
    monkeypatch.setenv("PITWATCH_ENVIRONMENT", "production")
    s = Settings()
    assert s.environment == "production"
    assert (s.docs_enabled, s.faults_enabled, s.postback_allow_private) == (False, False, False)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_the_placeholders_and_the_conveniences(environment):
    s = Settings(environment=environment)
    assert s.psp_secrets["paybridge"].startswith("dev-")
    assert (s.docs_enabled, s.faults_enabled, s.postback_allow_private) == (True, True, True)


def test_get_settings_error_is_one_line_without_the_secret(monkeypatch):
    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    monkeypatch.setenv("PITWATCH_PSP_SECRETS", '{"paybridge": "tiny-but-secret"}')
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = str(caught.value)
    assert "\n" not in message and "tiny-but-secret" not in message
    assert "PITWATCH_ENVIRONMENT" in message and "psp paybridge" in message


def test_cli_refuses_to_start_with_placeholder_secrets_exit_code_2(monkeypatch, capsys):
    from pitwatch.cli import main

    monkeypatch.delenv("PITWATCH_ENVIRONMENT", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["platform", "operator", "create", "--name", "x", "--role", "support"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "placeholder" in err, err


# -- item 15: fault injection only where enabled, by a role of its own -------------------------


def _app_client(platform):
    from fastapi.testclient import TestClient

    from igaming.api.app import create_app

    return TestClient(create_app(platform), raise_server_exceptions=False)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_faults_role_injects_faults_and_moves_no_money(sqlite_platform):
    from igaming.admin import create_operator
    from igaming.faults import Faults

    key = create_operator(sqlite_platform, "chaos", "faults")
    with _app_client(sqlite_platform) as client:
        h = {"X-API-Key": key}
        r = client.put("/admin/faults", json={"db_delay_ms": 1}, headers=h)
        assert r.status_code == 200, r.text
        assert sqlite_platform.faults.current == Faults(db_delay_ms=1)
        assert client.get("/admin/invariants", headers=h).json()["ok"] is True
        body = {"player_id": "p", "amount": 100, "currency": "EUR", "reason": "a test"}
        adjust = client.post("/admin/adjustments", json=body, headers=h | {"Idempotency-Key": "k"})
        assert adjust.status_code == 403, adjust.text
        assert client.get("/admin/audit-log", headers=h).status_code == 403


def test_an_admin_may_not_inject_faults(sqlite_platform):
    from igaming.admin import create_operator
    from igaming.faults import Faults

    key = create_operator(sqlite_platform, "ada", "admin")
    with _app_client(sqlite_platform) as client:
        r = client.put("/admin/faults", json={"db_delay_ms": 1}, headers={"X-API-Key": key})
        assert "may not inject faults" in _problem(r, 403)["detail"]
    assert sqlite_platform.faults.current == Faults()


def test_faults_are_a_404_problem_where_they_are_not_enabled(sqlite_platform):
    from igaming.admin import create_operator
    from igaming.errors import NotFound
    from igaming.fault_injection import apply_faults
    from igaming.faults import Faults

    key = create_operator(sqlite_platform, "chaos", "faults")
    sqlite_platform.settings = sqlite_platform.settings.model_copy(update={"faults_enabled": False})
    with _app_client(sqlite_platform) as client:
        for r in (
            client.put("/admin/faults", json={"db_delay_ms": 5000}, headers={"X-API-Key": key}),
            client.get("/admin/faults", headers={"X-API-Key": key}),
            client.put("/admin/faults", json={"db_delay_ms": 5000}),  # no key: 404 all the same
        ):
            _problem(r, 404)
        # The faults role stages no affiliates either outside fault-enabled environments.
        r = client.put("/affiliates/aff1", json={}, headers={"X-API-Key": key})
        _problem(r, 403)
    with pytest.raises(NotFound):
        apply_faults(sqlite_platform, Faults(db_delay_ms=5000), "someone")
    assert sqlite_platform.faults.current == Faults()


def test_faults_role_stages_the_simulations_affiliates_where_faults_are_enabled(sqlite_platform):
    from igaming.admin import create_operator

    key = create_operator(sqlite_platform, "chaos", "faults")
    with _app_client(sqlite_platform) as client:
        h = {"X-API-Key": key}
        r = client.put("/affiliates/aff1", json={"secret": "s" * 20}, headers=h)
        assert r.status_code == 200, r.text
        deal = {"kind": "cpa", "currency": "EUR", "cpa_amount": 1000}
        assert client.post("/affiliates/aff1/deals", json=deal, headers=h).status_code == 201
        assert client.get("/affiliates/aff1/postbacks", headers=h).status_code == 403


def test_cli_creates_faults_operators():
    from pitwatch.cli import build_parser

    args = build_parser().parse_args(
        ["platform", "operator", "create", "--name", "x", "--role", "faults"]
    )
    assert args.role == "faults"


# -- item 14: /metrics on an internal listener, docs optional --------------------------------


def test_the_player_facing_app_serves_no_metrics(sqlite_platform):
    with _app_client(sqlite_platform) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 404


def test_docs_and_openapi_are_off_unless_enabled(sqlite_platform):
    assert sqlite_platform.settings.docs_enabled is True  # test environment: on
    with _app_client(sqlite_platform) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
    sqlite_platform.settings = sqlite_platform.settings.model_copy(update={"docs_enabled": False})
    with _app_client(sqlite_platform) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404, path


def test_metrics_are_served_on_an_internal_listener_on_loopback(sqlite_platform):
    import httpx

    from collectors.catalog import platform as catalog
    from collectors.instrumentation import serve_metrics

    production = Settings(
        environment="production",
        psp_secrets={},
        game_provider_secrets={},
        odds_feed_secret=STRONG,
        player_ref_key=STRONG,
    )
    assert (production.metrics_host, production.metrics_port) == ("127.0.0.1", 9600)
    server, _ = serve_metrics(sqlite_platform.metrics, "127.0.0.1", 0)
    try:
        port = server.server_port
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200 and catalog.DEPOSIT_ATTEMPTS.exposed_name in r.text
    finally:
        server.shutdown()
        server.server_close()


def test_prometheus_scrapes_the_platforms_metrics_listener():
    import yaml

    from ground.ports import PLATFORM_METRICS_PORT
    from pitwatch.stack import compose

    doc = yaml.safe_load(compose.prometheus_config())
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in doc["scrape_configs"]}
    assert jobs["igaming-platform"] == [f"platform:{PLATFORM_METRICS_PORT}"]
    assert compose.SERVICES["platform"] != PLATFORM_METRICS_PORT


def test_the_native_stack_scrapes_the_metrics_port(tmp_path):
    import yaml

    from pitwatch.stack.config import ALERT_RULES_DIR, StackConfig, StackPorts
    from pitwatch.stack.native import _write_prometheus

    config = StackConfig(run_dir=tmp_path, database_url="sqlite://", ports=StackPorts().shifted(7))
    path = _write_prometheus(config, tmp_path, ALERT_RULES_DIR / "rules", binaries={})
    doc = yaml.safe_load(path.read_text())
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in doc["scrape_configs"]}
    assert jobs["igaming-platform"] == [f"127.0.0.1:{config.ports.platform_metrics}"]
    assert config.ports.platform_metrics != config.ports.platform


# -- item 13: postback destinations (SSRF) and what a partner's answer may show ---------------


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    import socket

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port or 80)) for a in answers[host]]  # fmt: skip

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8605/postback",
        "http://localhost/postback",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://172.16.0.1/x",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/x",  # shared address space
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://224.0.0.1/x",
        "http://rebind.example/x",  # one public, one private address: refused
        "http://nowhere.example/x",  # does not resolve
        "ftp://network.example/x",
        "file:///etc/passwd",
        "http://{affiliate}.example/x",  # a macro in the host
    ],
)
def test_private_special_and_unresolvable_destinations_are_refused(monkeypatch, url):
    from igaming.affiliates.postbacks import check_destination
    from igaming.errors import ValidationFailed

    _fake_dns(monkeypatch, {"localhost": ["127.0.0.1"],
                            "rebind.example": ["93.184.216.34", "10.0.0.7"]})  # fmt: skip
    with pytest.raises(ValidationFailed):
        check_destination(url, allow_private=False)


def test_public_destinations_pass_and_development_may_use_loopback(monkeypatch):
    from igaming.affiliates.postbacks import check_destination
    from igaming.errors import ValidationFailed

    _fake_dns(monkeypatch, {"network.example": ["93.184.216.34", "2606:2800:220:1::1"]})
    check_destination("https://network.example/pb?e={event}", allow_private=False)
    check_destination("http://127.0.0.1:8605/postback/a?e={event}", allow_private=True)
    with pytest.raises(ValidationFailed):  # the scheme allow-list holds everywhere
        check_destination("gopher://127.0.0.1/x", allow_private=True)


def test_registering_an_internal_postback_url_is_a_422_problem(sqlite_platform, monkeypatch):
    from igaming.admin import create_operator

    sqlite_platform.settings = sqlite_platform.settings.model_copy(
        update={"postback_allow_private": False}
    )
    key = create_operator(sqlite_platform, "fin", "finance")
    with _app_client(sqlite_platform) as client:
        body = {"postback_url_template": "http://169.254.169.254/latest?e={event}"}
        r = client.put("/affiliates/aff1", json=body, headers={"X-API-Key": key})
        assert "private" in _problem(r, 422)["detail"]
        assert client.get("/affiliates/aff1/postbacks", headers={"X-API-Key": key}).json() == []


def test_delivery_re_checks_the_destination_and_sends_nothing_to_a_private_address(
    sqlite_engine, monkeypatch
):
    import httpx

    from igaming.affiliates.dispatcher import dispatch_due
    from igaming.affiliates.outbox_consumer import consume_all
    from tests.platform.affiliate_helpers import jobs, make_world, referred_player

    w = make_world(sqlite_engine)  # registered while network.test was allowed
    referred_player(w.p)
    consume_all(w.p)
    w.p.settings = w.p.settings.model_copy(update={"postback_allow_private": False})
    _fake_dns(monkeypatch, {"network.test": ["10.0.0.5"]})  # DNS changed since
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    [result] = dispatch_due(w.p, httpx.Client(transport=httpx.MockTransport(record)))
    assert sent == []
    assert (result.outcome, result.status_code) == ("failed", None)
    assert result.error == "refused_destination"
    [job] = jobs(w.p)
    assert job.status == "pending" and job.last_error == "refused_destination"


def test_a_partners_answer_body_is_never_recorded_or_shown(sqlite_engine):
    import httpx

    from igaming.admin import create_operator
    from igaming.affiliates.dispatcher import dispatch_due
    from igaming.affiliates.outbox_consumer import consume_all
    from tests.platform.affiliate_helpers import AFFILIATE, make_world, referred_player

    w = make_world(sqlite_engine)
    referred_player(w.p)
    consume_all(w.p)
    leak = "root:x:0:0:root:/root:/bin/bash <script>alert(1)</script>"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=leak)

    [result] = dispatch_due(w.p, httpx.Client(transport=httpx.MockTransport(answer)))
    assert (result.outcome, result.status_code) == ("failed", 500)
    assert result.error == "HTTP 500 Internal Server Error"
    key = create_operator(w.p, "fin", "finance")
    with _app_client(w.p) as client:
        shown = client.get(f"/affiliates/{AFFILIATE}/postbacks", headers={"X-API-Key": key})
    assert shown.status_code == 200 and "root:x" not in shown.text and "script" not in shown.text
    assert shown.json()[0]["last_error"] == "HTTP 500 Internal Server Error"
    with w.p.session_factory() as s:
        from sqlalchemy import text

        errors = s.execute(text("SELECT error FROM pw_postback_attempts")).scalars().all()
    assert errors == ["HTTP 500 Internal Server Error"]


# -- item 16: the simulators' admin APIs -----------------------------------------------------


@pytest.mark.parametrize("sim", ["psp", "kyc", "odds", "games", "affiliates", "notify"])
def test_every_simulator_binds_loopback_by_default(sim):
    from pitwatch.cli import build_parser

    args = build_parser().parse_args(["sim", sim, "serve"])
    assert args.host == "127.0.0.1"


def _sim_clients():
    from fastapi.testclient import TestClient

    from igaming.sim.affiliate_network import AffiliateNetworkConfig
    from igaming.sim.affiliate_network import create_app as network_app
    from igaming.sim.games.app import create_app as games_app
    from igaming.sim.games.config import GamesSimConfig
    from igaming.sim.odds.app import create_app as odds_app
    from igaming.sim.odds.config import OddsSimConfig
    from igaming.sim.psp import PspSimConfig
    from igaming.sim.psp import create_app as psp_app
    from igaming.sim.psp.config import PspSettings

    secret = "a-real-looking-secret-0123456789abcdef"
    psp = PspSimConfig(psps={"paybridge": PspSettings(secret=secret)})
    network = AffiliateNetworkConfig.model_validate({"affiliates": {"aff9": {"secret": secret}}})
    games = GamesSimConfig.model_validate({"providers": {"spinworks": {"secret": secret}}})
    odds = OddsSimConfig(secret=secret)
    return secret, {
        "psp": TestClient(psp_app(psp, run_dispatcher=False)),
        "affiliates": TestClient(network_app(network)),
        "games": TestClient(games_app(games)),
        "odds": TestClient(odds_app(odds)),
    }


def test_no_simulator_shows_its_secrets():
    secret, clients = _sim_clients()
    for name, client in clients.items():
        r = client.get("/admin/config")
        assert r.status_code == 200, (name, r.text)
        assert secret not in r.text and "dev-secret" not in r.text, name
        assert "<redacted>" in r.text, name


def test_a_redacted_config_put_back_keeps_the_secrets_in_force():
    from igaming.sim.redact import REDACTED

    secret, clients = _sim_clients()
    psp = clients["psp"]
    config = psp.get("/admin/config").json()
    assert psp.put("/admin/config", json=config).status_code == 200
    simulator = psp.app.state.simulator
    assert simulator.config.secret_for("paybridge") == secret
    assert psp.patch("/admin/psps/paybridge", json={"secret": REDACTED}).status_code == 200
    assert simulator.config.secret_for("paybridge") == secret

    network = clients["affiliates"]
    entry = network.get("/admin/config").json()["affiliates"]["aff9"]
    assert network.put("/admin/affiliates/aff9", json=entry).status_code == 200
    assert network.app.state.network.config.secret_for("aff9") == secret


@pytest.mark.parametrize("out_dir", ["/tmp/elsewhere", "../escape", "a/../../b", "..", "/"])
def test_settlement_reports_refuse_absolute_and_parent_paths(tmp_path, out_dir):
    from fastapi.testclient import TestClient

    from igaming.sim.psp import PspSimConfig
    from igaming.sim.psp import create_app as psp_app

    base = tmp_path / "reports"
    client = TestClient(psp_app(PspSimConfig(report_dir=str(base)), run_dispatcher=False))
    r = client.post("/admin/settlement-reports", json={"date": "2026-11-02", "out_dir": out_dir})
    assert "out_dir" in _problem(r, 422)["detail"]
    assert not (tmp_path / "escape").exists() and not (tmp_path / "b").exists()


def test_settlement_reports_go_under_the_report_folder(tmp_path):
    from fastapi.testclient import TestClient

    from igaming.sim.psp import PspSimConfig
    from igaming.sim.psp import create_app as psp_app

    base = tmp_path / "reports"
    client = TestClient(psp_app(PspSimConfig(report_dir=str(base)), run_dispatcher=False))
    r = client.post("/admin/settlement-reports", json={"date": "2026-11-02", "out_dir": "day"})
    assert r.status_code == 200, r.text
    assert all(p.startswith(str(base.resolve() / "day")) for p in r.json()["paths"])
    moved = client.get("/admin/config").json() | {"report_dir": "/etc"}
    assert _problem(client.put("/admin/config", json=moved), 422)


# -- item 17: no player id in the breaks CSV shared on Slack (nor in the HTML report) -------

PLAYER_ID = "3f2b9c1e-8d4a-4c6b-9e1f-2a7d5c3b8e90"


def _balance_break_frame():
    from reconcilers.frames import BALANCES, CLEARING, PSP_ROWS
    from reconcilers.match.internal import check_wallet_internal
    from tests.reconcilers.matching_helpers import DAY, account, frame

    balances = [account(2, 1000, 900, account_owner=PLAYER_ID, account_kind="player_cash")]
    result = check_wallet_internal(
        frame(balances, BALANCES), frame([], CLEARING), frame([], PSP_ROWS), day=DAY
    )
    return result.breaks


def test_the_break_keeps_the_player_id_for_the_operators_own_ledger():
    [details] = _balance_break_frame()["details"].tolist()
    assert PLAYER_ID in details  # the break ledger (the operator's database) keeps it


def test_the_shared_csv_and_html_name_the_account_but_never_the_player(tmp_path):
    import pandas as pd

    from reconcilers.frames import LEDGER_BREAKS, conform
    from reconcilers.report import csv_rows, render_html
    from tests.reconcilers.report_helpers import ledger_break, summary

    brk = _balance_break_frame().iloc[0].to_dict()
    row = ledger_break("k", **{k: brk[k] for k in brk if k in LEDGER_BREAKS})
    frame = conform(pd.DataFrame([row], columns=list(LEDGER_BREAKS)), LEDGER_BREAKS, "t")
    [shared] = csv_rows(frame)
    assert PLAYER_ID not in str(shared)
    assert shared["reference"] == "2" and "account 2" in shared["details"]
    assert "9.00" in shared["details"] and "10.00" in shared["details"]
    html = render_html(summary(), frame)
    assert "account 2" in html and PLAYER_ID not in html
