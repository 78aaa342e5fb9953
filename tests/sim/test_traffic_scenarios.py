"""Scenario files: the built-ins load, and every mistake is one line naming the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from igaming.traffic import scenario as sc
from igaming.traffic.incidents import effects, override_keys
from igaming.traffic.scenario import ScenarioError, load, parse, parse_duration

BUILTINS = (
    "baseline",
    "psp-outage-de",
    "bad-deploy-de",
    "postback-stall",
    "settlement-lag",
    "kyc-outage",
    "kickoff-surge",
    "mixed-week",
)


def test_every_builtin_scenario_the_issue_names_exists_and_loads():
    assert set(BUILTINS) <= set(sc.builtin_names())
    for name in BUILTINS:
        scenario = load(name)
        assert scenario.name == name
        for inc in scenario.incidents:
            assert inc.until <= scenario.duration, (name, inc.type)


def test_the_baseline_has_no_incident_and_the_mixed_week_has_every_kind_but_surges_twice():
    assert load("baseline").incidents == []
    week = load("mixed-week")
    assert week.duration == timedelta(days=7)
    assert {i.type for i in week.incidents} == set(sc.INCIDENT_TYPES)


def test_the_default_market_has_the_eleven_geos_and_cards_decline_most():
    s = parse({"name": "x"})
    assert set(s.geos) == {"DE", "GB", "SE", "FI", "NO", "NL", "ES", "IT", "BR", "CA", "IN"}
    approval = s.deposits.approval
    assert 0.6 <= approval["card"] <= 0.8  # licensed gaming card declines run 20-40 %
    assert all(approval["card"] < approval[m] for m in approval if m != "card")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", 90), ("45m", 2700), ("2h30m", 9000), ("1d6h", 108_000), (120, 120)],
)
def test_durations_read_as_people_write_them(text, expected):
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["soon", "1x", "", "-5", "h"])
def test_a_duration_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(int(text) if text == "-5" else text)


def _incident(**fields):
    base = {"type": "psp_degradation", "start": "1h", "duration": "1h", "psp": "paybridge"}
    return {"name": "x", "incidents": [base | {"approval_rate": 0.2} | fields]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_incident(approval_rate=2), "incidents[0].approval_rate", "less than or equal to 1"),
        (_incident(psp="stripe"), "incidents[0].psp", "'paybridge'"),
        (_incident(start="soon"), "incidents[0].start", "not a duration"),
        (_incident(end="30m", duration=None), "incidents[0]", "end after it starts"),
        (_incident(end="3h"), "incidents[0]", "exactly one of end and duration"),
        (_incident(type="meteor"), "incidents[0].type", "unknown incident type 'meteor'"),
        (_incident(colour="red"), "incidents[0].colour", "Extra inputs"),
        ({"name": "x", "players": {"daily_active": "lots"}}, "players.daily_active", "integer"),
        ({"name": "x", "geos": {"DE": {"currency": "XXX"}}}, "geos.DE.currency", "'XXX'"),
        ({"name": "x", "geos": {"DE": {"methods": {"cash": 1}}}}, "geos.DE.methods", "'cash'"),
        ({"name": "Bad Name"}, "name", "pattern"),
        ({"name": "x", "start": "2026-11-02T00:00:00"}, "start", "time zone"),
        (
            {
                "name": "x",
                "campaigns": [
                    {"affiliate": "a", "campaign": "c", "clicks_per_day": 1, "geos": [False]}
                ],
            },
            "campaigns[0].geos[0]",
            'write Norway as "NO"',
        ),
        (
            {
                "name": "x",
                "incidents": [
                    {
                        "type": "traffic_surge",
                        "start": "1h",
                        "duration": "1h",
                        "factor": 3,
                        "scope": "campaign",
                    }
                ],
            },
            "incidents[0]",
            "names its campaign",
        ),
        (
            {
                "name": "x",
                "incidents": [
                    {
                        "type": "postback_outage",
                        "start": "1h",
                        "duration": "1h",
                        "affiliate": "ghost",
                    }
                ],
            },
            "incidents[0].affiliate",
            "no campaign of 'ghost'",
        ),
    ],
)
def test_a_bad_scenario_gets_one_line_naming_the_field(data, field, words):
    with pytest.raises(ScenarioError) as err:
        parse(data, "bad.yaml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"scenario bad.yaml: {field}: "), message
    assert words in message


def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nplayers: {daily_active: 3\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^scenario broken.yaml: not valid YAML at line \d"):
        load(path)


def test_an_unknown_scenario_lists_the_built_ins():
    with pytest.raises(ScenarioError, match=r"no such file or built-in .*baseline"):
        load("no-such-scenario")


def test_a_geo_given_only_its_weight_keeps_its_currency_and_methods():
    s = parse({"name": "x", "geos": {"DE": 1, "BR": {"weight": 2}}})
    assert s.geos["DE"].currency == "EUR" and "pix" in s.geos["BR"].methods
    assert s.geos["BR"].weight == 2


def test_an_incident_undoes_exactly_what_it_did_back_to_the_baseline():
    s = parse(_incident(method="card", geo=None))
    inc = s.incidents[0]
    (start,) = effects(inc, True, s)
    (end,) = effects(inc, False, s)
    assert start.change == {"overrides": {"card": {"approval_rate": 0.2}}}
    # "card" is also where the baseline keeps the card approval rate: restored, not removed.
    assert end.change == {"overrides": {"card": {"approval_rate": s.deposits.approval["card"]}}}


def test_a_psp_wide_incident_covers_every_method_key():
    assert override_keys(None, None) == [
        "card",
        "ewallet",
        "bank_transfer",
        "pix",
        "upi",
        "interac",
    ]
    assert override_keys("DE", "card") == ["DE:card"]
    assert override_keys("DE", None) == ["DE"]


def test_the_ground_truth_scope_carries_only_what_an_alert_would_label():
    inc = parse(_incident(geo="DE", method="card")).incidents[0]
    assert inc.scope() == {"psp": "paybridge", "geo": "DE", "method": "card"}
    assert inc.parameters() == {"approval_rate": 0.2}
