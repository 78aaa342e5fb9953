"""The operator configuration file (ground.operator, docs/operator-config.md): the reference
file is today's vocabulary, a mistake is one line naming the key (exit 2 on the command
line), the label domains, thresholds and products come from the file in force."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from collectors.catalog import platform as c
from collectors.catalog.labels import AFFILIATE
from collectors.instrumentation.registry import PlatformMetrics, TopN
from collectors.instrumentation.subscribers import affiliates as affiliate_subscriber
from collectors.state.base import StateConfig, configured, top_n
from ground import operator
from ground.operator import OperatorConfigError, load, parse
from igaming.affiliates import events as aff
from igaming.bus import MessageBus
from pitwatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
LAGOON = Path(__file__).resolve().parent / "lagoon.toml"
PY = sys.executable

# Today's constants, as they were typed in ground/vocabulary.py and collectors/catalog/
# labels.py before the operator file: the reference file must say exactly these.
TODAY = {
    "markets": ("DE", "GB", "SE", "FI", "NO", "NL", "ES", "IT", "AT", "DK", "IE", "PL", "BR",
                "CA", "IN", "MX", "JP"),
    "psps": ("paybridge", "nordpay", "ewallo", "pixgate"),
    "methods": ("card", "ewallet", "bank_transfer", "pix", "upi", "interac"),
    "sports": ("football", "tennis", "basketball", "ice_hockey", "baseball", "american_football",
               "volleyball", "handball", "cricket", "rugby", "darts", "table_tennis", "mma",
               "esports"),
    "game_providers": ("spinworks", "lucky_labs", "livetable"),
    "currencies": ("EUR", "GBP", "USD", "SEK", "NOK", "DKK", "CHF", "PLN", "BRL", "CAD", "INR",
                   "MXN", "JPY"),
}  # fmt: skip
MINIMAL = (
    'markets = ["DE"]\ncurrencies = ["EUR"]\nmethods = ["card"]\n[psps.x]\nmethods = ["card"]\n'
)


def env_with(config: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}"}
    env.pop(operator.ENV, None)
    if config is not None:
        env[operator.ENV] = str(config)
    return env


# -- the reference operator --------------------------------------------------------------


def test_the_reference_file_is_todays_vocabulary_and_thresholds():
    from ground import vocabulary
    from ground.contract import PRODUCTS

    ref = load()
    assert vocabulary.OPERATOR_SOURCE == operator.REFERENCE  # the tests run the reference
    assert ref.markets == TODAY["markets"] == vocabulary.GEOS
    assert tuple(ref.psps) == TODAY["psps"] == vocabulary.DEFAULT_PSPS
    assert ref.methods == TODAY["methods"] == vocabulary.METHODS
    assert ref.sports == TODAY["sports"] == vocabulary.SPORTS
    assert ref.game_providers == TODAY["game_providers"] == vocabulary.DEFAULT_GAME_PROVIDERS
    assert ref.currencies == TODAY["currencies"] == vocabulary.CURRENCIES
    assert ref.default_brand == "pitwatch" == vocabulary.DEFAULT_BRAND
    assert ref.products == PRODUCTS
    # open labels stay open (first N seen) for the reference platform
    assert ref.brands == () and ref.affiliates == () and ref.campaigns == ()
    assert AFFILIATE.configured == () and AFFILIATE.open_top_n == 50
    # every threshold equals the collectors' and the reconcilers' defaults of before
    assert StateConfig.from_operator(ref) == StateConfig()
    t = ref.thresholds
    assert (t.settlement_window_hours, t.postback_grace_hours) == (48.0, 6.0)
    # the override alert_rules/overrides.toml used to hold
    assert [(o.alert, o.geo, o.params) for o in ref.override] == [
        ("DepositSuccessRateDropGeo", "IN", {"drop": 0.45})
    ]


# -- mistakes: one line naming the key ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL + '[psps.nordpay]\nmethods = ["carrier_pigeon"]\n',
            'psps.nordpay.methods: unknown method "carrier_pigeon" (not in methods)',
        ),
        (MINIMAL.replace('"DE"', '"Germany"'), 'markets: "Germany" is not a market'),
        (MINIMAL.replace('"EUR"', '"EUR", "EUR"'), 'currencies: "EUR" is listed twice'),
        (MINIMAL + "[thresholds]\nwithdrawal_sla_seconds = -5\n", "thresholds.withdrawal_sla"),
        (MINIMAL + "[thresholds]\nwithdrawl_sla_seconds = 5\n", "thresholds.withdrawl_sla_sec"),
        ("sports = []\n" + MINIMAL.replace('markets = ["DE"]\n', ""), "markets: missing"),
        ('products = ["poker"]\n' + MINIMAL, 'products: unknown product "poker"'),
        ('affiliates = "sometimes"\n' + MINIMAL, 'affiliates: a list of affiliate ids or "data'),
        ('brands = ["a b"]\n' + MINIMAL, 'brands: "a b" is not a value'),
        ('brands = ["x"]\n' + MINIMAL, 'default_brand: "pitwatch" is not in brands'),
        (
            MINIMAL + '[[override]]\nalert = "PspDown"\ngeo = "FR"\nmin_attempts = 3\n',
            'override[1].geo: unknown market "FR"',
        ),
        (MINIMAL + "[psps.x.methods]\n", "not TOML"),
        (MINIMAL + '[psps.Big_PSP]\nmethods = ["card"]\n', "psps.Big_PSP: a PSP name is"),
    ],
)
def test_a_mistake_is_one_line_naming_the_key(text, message):
    with pytest.raises(OperatorConfigError) as err:
        parse(text, "pitwatch.toml")
    line = str(err.value)
    assert line.startswith("pitwatch.toml: ") and "\n" not in line
    assert message in line, line


def test_a_missing_file_is_one_line():
    with pytest.raises(OperatorConfigError, match="no such operator configuration file"):
        load("/nonexistent/pitwatch.toml")


@pytest.mark.parametrize("command", [["generate", "--check"], ["contract", "check"]])
def test_the_cli_refuses_a_bad_config_file_in_one_line_exit_2(tmp_path, capsys, command):
    bad = tmp_path / "pitwatch.toml"
    bad.write_text(MINIMAL + '[psps.nordpay]\nmethods = ["carrier_pigeon"]\n')
    assert main([*command, "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f'pitwatch: {bad}: psps.nordpay.methods: unknown method "carrier_pigeon" (not in methods)'
    )


def test_a_bad_file_named_by_the_environment_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "pitwatch.toml"
    bad.write_text(MINIMAL + "[thresholds]\nodds_stale = 3\n")
    result = subprocess.run(
        [PY, "-m", "pitwatch.cli", "generate", "--check"],
        env=env_with(bad),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"pitwatch: {bad}: thresholds.odds_stale: unknown key"


def test_the_simulators_config_flag_is_not_the_operators(tmp_path):
    """``pitwatch sim ... --config knobs.json`` keeps its meaning."""
    from pitwatch.cli.operator import named_file

    assert named_file(["sim", "psp", "serve", "--config", "knobs.json"]) is None
    assert named_file(["generate", "--config", "a.toml"]) == "a.toml"
    assert named_file(["-v", "contract", "check", "--config=b.toml"]) == "b.toml"


# -- another operator's vocabulary reaches the catalog -------------------------------------

PROBE = """
import json
from collectors.catalog import labels
from collectors.state.base import StateConfig
from pitwatch.settings import Settings
s = Settings(environment="test")
print(json.dumps({
    "geo": labels.GEO.values, "psp": labels.PSP.values, "method": labels.METHOD.values,
    "currency": labels.CURRENCY.values, "provider": labels.PROVIDER.values,
    "affiliate": labels.AFFILIATE.configured, "brand": labels.BRAND.configured,
    "state": StateConfig.from_operator().__dict__, "recon_psps": s.recon_psps,
    "window": s.recon_settlement_window_hours, "grace": s.recon_postback_grace_hours,
}))
"""


def test_the_catalog_and_thresholds_come_from_the_file_in_force():
    result = subprocess.run(
        [PY, "-c", PROBE], env=env_with(LAGOON), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["geo"] == ["PT", "CZ", "NZ", "other"]
    assert got["psp"] == ["tidepay", "kiwiflow", "other"]
    assert got["method"] == ["card", "mbway", "poli", "other"]
    assert got["currency"] == ["EUR", "CZK", "NZD", "other"]
    assert got["provider"] == ["reelhouse", "other"]
    assert got["affiliate"] == ["aff-7", "aff-9"] and got["brand"] == ["lagoon", "lagoonbet"]
    # [thresholds] reach the state collectors (unset keys keep their defaults)
    assert got["state"]["deposit_pending_seconds"] == 300
    assert got["state"]["withdrawal_sla_seconds"] == 43200
    assert got["state"]["ftd_postback_grace_seconds"] == 1200
    assert got["state"]["odds_stale_seconds"] == 60
    assert got["state"]["ftd_lookback_seconds"] == 7 * 86_400
    # and the reconcilers' windows and PSPs
    assert got["recon_psps"] == ["tidepay", "kiwiflow"]
    assert (got["window"], got["grace"]) == (24.0, 6.0)


# -- configured affiliates win over the first N seen ---------------------------------------


def test_sixty_made_up_affiliates_clicks_do_not_evict_a_configured_one(monkeypatch):
    domain = replace(AFFILIATE, configured=("aff-7", "aff-9"), open_top_n=50)
    monkeypatch.setattr(affiliate_subscriber, "AFFILIATE", domain)
    metrics = PlatformMetrics(CollectorRegistry())
    bus = MessageBus(strict=True)
    affiliate_subscriber.subscribe(bus, metrics)
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def click(affiliate: str, i: int) -> aff.ClickRecorded:
        return aff.ClickRecorded(
            occurred_at=now, affiliate=affiliate, campaign="c", geo="DE", click_id=f"k{i}"
        )

    bus.publish([click(f"anon{i}", i) for i in range(60)])
    bus.publish([click("aff-7", 100), click("aff-9", 101), click("aff-9", 102)])
    value = metrics.registry.get_sample_value
    name = c.AFFILIATE_CLICKS.exposed_name
    assert value(name, {"affiliate": "aff-7", "campaign": "c"}) == 1
    assert value(name, {"affiliate": "aff-9", "campaign": "c"}) == 2
    assert value(name, {"affiliate": "other", "campaign": "c"}) == 60
    assert value(name, {"affiliate": "anon0", "campaign": "c"}) is None


def test_without_a_list_the_first_n_seen_keep_their_names_as_before():
    top = TopN(replace(AFFILIATE, open_top_n=50))
    names = [top.bound(f"anon{i}") for i in range(60)]
    assert names[:50] == [f"anon{i}" for i in range(50)] and set(names[50:]) == {"other"}
    assert top.bound("aff-7") == "other"  # the slots were taken: what the list prevents


def test_from_the_database_a_click_never_takes_a_slot_a_conversion_does():
    top = TopN(replace(AFFILIATE, open_top_n=50, from_database=True))
    assert [top.bound(f"anon{i}") for i in range(60)] == ["other"] * 60
    assert top.admit("aff-7") == "aff-7"  # a registration or conversion the views list
    assert top.bound("aff-7") == "aff-7"  # its clicks are named from then on


def test_the_state_collectors_fold_keeps_configured_affiliates_however_quiet():
    domain = replace(AFFILIATE, configured=("aff-7",))
    rows = [((f"anon{i}",), 100.0 - i, 1.0, 0.0) for i in range(60)]
    rows.append((("aff-7",), 1.0, 3.0, 5.0))
    folded = top_n(rows, 50, configured(domain))
    assert folded[("aff-7",)] == (3.0, 5.0)
    assert folded[("other",)] == (60.0, 0.0)
    assert set(folded) == {("aff-7",), ("other",)}
    assert configured(replace(AFFILIATE, configured=())) is None  # no list: top-N as before


def test_the_exporter_builds_its_thresholds_from_the_operator_file(monkeypatch):
    from sqlalchemy import create_engine

    from collectors.exporter import create_exporter
    from collectors.state import base

    monkeypatch.setattr(base, "OPERATOR", load(LAGOON))
    engine = create_engine("sqlite://")
    try:
        registry, _app = create_exporter(engine)
        configs = [
            c.config
            for c in registry._collector_to_names  # the registered collectors
            if isinstance(c, base.StateCollector)
        ]
    finally:
        engine.dispose()
    assert configs and all(c is configs[0] for c in configs)
    assert configs[0].deposit_pending_seconds == 300
    assert configs[0].withdrawal_sla_seconds == 43200
