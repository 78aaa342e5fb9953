"""The generated dashboards: every query is PromQL over catalog metrics and recording rules,
the JSON is a Grafana 11 model (modern panels, units, datasource variable, deploy
annotations), uids are stable, and thresholds come from the alert declarations."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

import alert_rules
import dashboards
from alert_rules.checks import PROMETHEUS_SERIES, exported_series, referenced_metrics
from alert_rules.config import Override
from alert_rules.dashboard_uids import DASHBOARDS
from alert_rules.model import Param
from alert_rules.render import dashboard_url, runbook_url
from collectors.catalog import BY_NAME
from dashboards import provisioning
from dashboards.alerts import AlertSource
from dashboards.build import TAG
from dashboards.datasource import DATASOURCE_UID, DS
from dashboards.grafana11 import SCHEMA_VERSION
from dashboards.panels import PANEL_TYPES
from tests.dashboards.tools import expressions, panels, promql

ROOT = Path(__file__).resolve().parents[2]
KEYS = tuple(DASHBOARDS)
# Dashboards filter by these labels wherever the metrics carry them (the list).
FILTER_VARIABLES = {
    "overview": {"geo", "brand"},
    "payments": {"geo", "psp", "brand"},
    "affiliates": {"affiliate"},
    "wallet": {"psp"},
    "kyc": {"geo"},
}


@pytest.fixture(scope="module")
def models() -> dict[str, dict]:
    return dashboards.dashboards()


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return dashboards.artefacts()


def known_series() -> set[str]:
    recorded = {r.record for d in alert_rules.DOMAINS for r in d.recordings}
    return exported_series() | PROMETHEUS_SERIES | {"ALERTS"} | recorded


# -- identity ------------------------------------------------------------------------------


def test_every_dashboard_is_generated_under_its_stable_uid_and_title(models):
    assert list(models) == list(KEYS)
    for key, model in models.items():
        assert (model["uid"], model["title"]) == DASHBOARDS[key]
    uids = [m["uid"] for m in models.values()]
    assert len(set(uids)) == len(uids)


def test_generation_is_deterministic_and_keeps_the_uids(files):
    again = dashboards.artefacts()
    assert again == files
    for key, (uid, _title) in DASHBOARDS.items():
        assert json.loads(files[f"dashboards/{key}.json"])["uid"] == uid


def test_the_committed_files_are_the_generated_ones(files):
    stale = [p for p, content in files.items() if (ROOT / p).read_text() != content]
    assert stale == [], "run `pitwatch generate` (or dashboards.artefacts()) and commit"


# -- the JSON model ------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_the_json_loads_back_as_a_grafana_11_dashboard(files, key):
    model = json.loads(files[f"dashboards/{key}.json"])
    assert model["schemaVersion"] >= SCHEMA_VERSION >= 39
    assert model["id"] is None  # provisioned dashboards get theirs from Grafana
    assert TAG in model["tags"] and model["time"]["from"].startswith("now-")
    assert isinstance(model["panels"], list) and "rows" not in model
    ids = [p["id"] for p in model["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in model["panels"]:
        assert {"id", "type", "title", "gridPos"} <= set(panel), panel.get("title")
        assert panel["type"] in (*PANEL_TYPES, "row"), panel["title"]
    for panel in panels(model):
        if panel["type"] == "alertlist":
            assert panel["options"]["stateFilter"]["firing"] is True
            continue
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(set(refs)) == len(refs), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"] == DS
            assert target["range"] is not target["instant"]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["value"] is None, panel["title"]
        values = [s["value"] for s in steps[1:]]
        assert all(isinstance(v, int | float) for v in values) and values == sorted(values)


@pytest.mark.parametrize("key", KEYS)
def test_no_angular_panel_and_no_legacy_field(files, key):
    text = files[f"dashboards/{key}.json"]
    model = json.loads(text)
    types = {p["type"] for p in model["panels"]}
    assert types <= {*PANEL_TYPES, "row"}
    assert not types & {"graph", "singlestat", "table-old", "grafana-piechart-panel"}
    for panel in panels(model):
        assert not {"span", "height", "minSpan", "styles", "fieldOptions"} & set(panel)
        assert "fieldOptions" not in panel.get("options", {}), panel["title"]


@pytest.mark.parametrize("key", KEYS)
def test_every_panel_has_a_unit_and_reads_the_datasource_variable(models, key):
    for panel in panels(models[key]):
        if panel["type"] == "alertlist":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    assert prop["value"], panel["title"]


@pytest.mark.parametrize("key", KEYS)
def test_the_grid_holds_every_panel_without_overlap(models, key):
    taken: set[tuple[int, int]] = set()
    for panel in models[key]["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                 for y in range(pos["y"], pos["y"] + pos["h"])}  # fmt: skip
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


# -- queries -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_every_expression_parses_and_reads_only_catalog_metrics_or_recording_rules(models, key):
    known = known_series()
    problems = {}
    for where, expr in expressions(models[key]):
        unknown = referenced_metrics(promql(expr)) - known
        if unknown:
            problems[where] = sorted(unknown)
    assert problems == {}


def test_expressions_select_metrics_of_every_team(models):
    read = set()
    for model in models.values():
        for _where, expr in expressions(model):
            read |= referenced_metrics(promql(expr))
    unread = sorted(
        m.exposed_name
        for m in BY_NAME.values()
        if m.type != "histogram" and m.exposed_name not in read
    )
    histograms = sorted(
        m.name for m in BY_NAME.values() if m.type == "histogram" and f"{m.name}_bucket" not in read
    )
    # Every metric the suite exports is on some dashboard.
    assert unread == [] and histograms == []


# -- variables, links, annotations ---------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_variables_are_multi_value_with_all_and_the_datasource_is_one(models, key):
    variables = {v["name"]: v for v in models[key]["templating"]["list"]}
    ds = variables.pop("datasource")
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    assert ds["current"]["value"] == DATASOURCE_UID
    for name, v in variables.items():
        assert (v["includeAll"], v["multi"], v["allValue"]) == (True, True, ".*"), name
        assert v["datasource"] == DS and v["current"]["value"] == ["$__all"]
    assert FILTER_VARIABLES.get(key, set()) <= set(variables)


@pytest.mark.parametrize("key", KEYS)
def test_filters_use_the_variables_the_dashboard_declares(models, key):
    declared = {v["name"] for v in models[key]["templating"]["list"]}
    for where, expr in expressions(models[key]):
        used = set(re.findall(r'=~"\$(\w+)"', expr))
        assert used <= declared, where


@pytest.mark.parametrize("alert", alert_rules.all_alerts(), ids=lambda a: a.name)
def test_an_alerts_dashboard_link_sets_variables_its_dashboard_has(models, alert):
    url = dashboard_url(alert, alert_rules.load(), {s: "x" for s in alert.scope})
    model = next(m for m in models.values() if f"/d/{m['uid']}" in url)
    declared = {v["name"] for v in model["templating"]["list"]}
    assert set(re.findall(r"var-(\w+)=", url)) <= declared


@pytest.mark.parametrize("key", KEYS)
def test_every_dashboard_marks_deploys_and_links_to_the_others(models, key):
    model = models[key]
    deploys = [a for a in model["annotations"]["list"] if a.get("name") == "Deploys"]
    assert len(deploys) == 1 and deploys[0]["useValueForTime"] is True
    assert BY_NAME["igaming_deploy_timestamp_seconds"].name in deploys[0]["expr"]
    assert any(lk["type"] == "dashboards" and TAG in lk["tags"] for lk in model["links"])


def test_runbook_links_point_at_registered_alerts_runbooks(models):
    config = alert_rules.load()
    urls = {runbook_url(a, config) for a in alert_rules.all_alerts()}
    seen = set()
    for model in models.values():
        for panel in panels(model):
            for lk in panel.get("links", []):
                if lk["title"].startswith("Runbook: "):
                    assert lk["url"] in urls, lk
                    seen.add(lk["url"])
                elif lk["url"].startswith("/d/"):
                    assert lk["url"].split("?")[0][3:] in {m["uid"] for m in models.values()}
    assert len(seen) >= len(urls) // 2  # most alerts are one click away from a panel


# -- thresholds ----------------------------------------------------------------------------

THRESHOLD = re.compile(r"Threshold: (\w+) fires at ([<>]=?) ([-\d.e+]+) \(`(\w+)`\)")


def test_every_drawn_threshold_is_the_alerts_parameter(models):
    alerts = {a.name: a for a in alert_rules.all_alerts()}
    drawn = 0
    for model in models.values():
        for panel in panels(model):
            for name, _op, value, param in THRESHOLD.findall(panel.get("description") or ""):
                assert float(value) == float(alerts[name].params[param].default), panel["title"]
                steps = [
                    s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
                ]
                assert any(s is not None and abs(s - float(value)) <= 1 for s in steps)
                drawn += 1
    assert drawn >= 20


def _with_param(alert_name: str, param: str, value: float) -> AlertSource:
    src = AlertSource.registered()
    alert = src.alerts[alert_name]
    params = {**alert.params, param: Param(value, alert.params[param].doc)}
    src.alerts = {**src.alerts, alert_name: dataclasses.replace(alert, params=params)}
    return src


def _panel(model: dict, title: str) -> dict:
    return next(p for p in panels(model) if p["title"] == title)


def test_changing_an_alerts_drop_moves_the_line_on_the_dashboard():
    src = _with_param("DepositSuccessRateDropGeo", "drop", 0.4)
    payments = dashboards.dashboards(src)["payments"]
    panel = _panel(payments, "Deposit success rate by GEO (15m) and its alert line")
    line = next(t["expr"] for t in panel["targets"] if t["legendFormat"].endswith("alert line"))
    # the expected rate (baseline, else the default of a scope without history), lowered
    assert "(1 - 0.4) * geo:igaming_deposit_success:ratio_expected{" in line


def test_a_count_that_fires_above_n_turns_red_at_n_plus_one(models):
    panel = _panel(models["payments"], "Withdrawals past SLA, by PSP")
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    max_stuck = AlertSource.registered().param("WithdrawalsStuck", "max_stuck")
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": max_stuck + 1}]


def test_an_unregistered_alert_draws_no_line_and_is_reported():
    src = AlertSource.registered()
    src.alerts = {k: v for k, v in src.alerts.items() if k != "PspCallbacksDelayed"}
    payments = dashboards.dashboards(src)["payments"]
    panel = _panel(payments, "PSP callback delay p95 (15m)")
    assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None}
    ]
    assert "PspCallbacksDelayed" in src.missing


def test_a_registered_alert_without_the_parameter_fails_loudly():
    src = AlertSource.registered()
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        src.limit("DepositSuccessRateDropGeo", "nope")


def test_overrides_in_force_draw_their_own_alert_line(models):
    config = alert_rules.load()
    panel = _panel(models["payments"], "Deposit success rate by GEO (15m) and its alert line")
    line = next(t["expr"] for t in panel["targets"] if t["legendFormat"].endswith("alert line"))
    drops = [o for o in config.overrides_for("DepositSuccessRateDropGeo") if "drop" in o.params]
    assert drops, "the committed overrides set a per-GEO drop (India)"
    for o in drops:
        expected = "geo:igaming_deposit_success:ratio_expected"
        assert f'(1 - {o.params["drop"]:g}) * {expected}{{{o.label}="{o.value}"' in line


def test_a_per_geo_drop_override_draws_that_geos_own_alert_line():
    src = AlertSource.registered()
    extra = Override("DepositSuccessRateDropGeo", "geo", "DE", {"drop": 0.2})
    src.config = dataclasses.replace(src.config, overrides=(*src.config.overrides, extra))
    panel = _panel(
        dashboards.dashboards(src)["payments"],
        "Deposit success rate by GEO (15m) and its alert line",
    )
    line = next(t["expr"] for t in panel["targets"] if t["legendFormat"].endswith("alert line"))
    assert '(1 - 0.2) * geo:igaming_deposit_success:ratio_expected{geo="DE"' in line
    # the default drop everywhere else (India has its own: ground/reference-operator.toml)
    assert 'geo!~"IN|DE"' in line


@pytest.mark.parametrize("key", KEYS)
def test_tables_hide_columns_by_their_names_before_renaming(models, key):
    for panel in panels(models[key]):
        for t in panel.get("transformations", []):
            if t["id"] == "organize":
                renamed = set(t["options"]["renameByName"].values())
                assert not renamed & set(t["options"]["excludeByName"]), panel["title"]


# -- provisioning --------------------------------------------------------------------------


def test_provisioning_points_grafana_at_prometheus_and_at_the_dashboards(files):
    ds = yaml.safe_load(files[provisioning.DATASOURCE_FILE])["datasources"]
    assert [(d["uid"], d["type"], d["url"]) for d in ds] == [
        (DATASOURCE_UID, "prometheus", "http://prometheus:9090")
    ]
    provider = yaml.safe_load(files[provisioning.PROVIDER_FILE])["providers"][0]
    assert provider["type"] == "file" and provider["folder"] == TAG
    assert provider["options"]["path"] == provisioning.DASHBOARDS_PATH
