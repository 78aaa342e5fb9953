"""Pages as PagerDuty receives them: Alertmanager's matchers, routing, inhibition and
grouping over firing episodes, and the pages an incident causes in the scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pitwatch.backtest.model import AlertSeries, BacktestError, Evaluation
from pitwatch.backtest.paging import (
    Matcher,
    Sent,
    generated_config,
    pages,
    parse_matchers,
    read_config,
    unmuted,
)
from pitwatch.backtest.report import findings, markdown
from pitwatch.backtest.score import aggregate, declared, score

MIN = 60.0
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def sent(name: str, start: float, end: float, **labels: str) -> Sent:
    """An alert firing from minute ``start`` to minute ``end``."""
    pairs = tuple(sorted({"alertname": name, **labels}.items()))
    return Sent(pairs, T0.timestamp() + start * MIN, T0.timestamp() + end * MIN)


def page_alerts(alerts: list[Sent], config: Any = None) -> list[list[str]]:
    routing = read_config(config or generated_config())
    return [[a.alert for a in p.alerts] for p in pages(alerts, routing)]


def critical(name: str, start: float, end: float, **labels: str) -> Sent:
    return sent(name, start, end, severity="critical", team="payments", **labels)


# -- matchers ------------------------------------------------------------------------------


def test_matchers_parse_the_four_operators_quoted_or_not_and_several_on_a_line():
    assert parse_matchers('team="payments"') == (Matcher("team", "=", "payments"),)
    assert parse_matchers("team != sre") == (Matcher("team", "!=", "sre"),)
    assert parse_matchers('{psp=~"pay.*", geo!~"DE|BR"}') == (
        Matcher("psp", "=~", "pay.*"),
        Matcher("geo", "!~", "DE|BR"),
    )
    # Alertmanager's escapes; any other backslash stays (a regex's \.).
    (m,) = parse_matchers(r'summary="say \"hi\"\\ a\.b"')
    assert m.value == 'say "hi"\\ a\\.b'


def test_a_regex_is_anchored_and_a_missing_label_is_empty():
    (pay,) = parse_matchers('psp=~"pay"')
    assert not pay.matches({"psp": "paybridge"}) and pay.matches({"psp": "pay"})
    (not_de,) = parse_matchers('geo!="DE"')
    assert not_de.matches({}) and not not_de.matches({"geo": "DE"})
    (anything,) = parse_matchers('geo=~".*"')
    assert anything.matches({})
    (not_empty,) = parse_matchers('geo!~""')
    assert not not_empty.matches({}) and not_empty.matches({"geo": "BR"})


@pytest.mark.parametrize(
    "text", ['team=="x"', 'team ~ "x"', '1team="x"', 'team="x" geo="y"', 'psp=~"("', ""]
)
def test_unknown_matcher_syntax_is_a_one_line_error(text: str):
    with pytest.raises(BacktestError, match="alertmanager: matcher") as exc:
        parse_matchers(text)
    assert "\n" not in str(exc.value)


def test_a_bad_configuration_is_a_one_line_error():
    with pytest.raises(BacktestError, match="no route"):
        read_config({"receivers": []})
    with pytest.raises(BacktestError, match="route has no receiver"):
        read_config({"route": {"group_by": ["alertname"]}})
    with pytest.raises(BacktestError, match="route 0: 'soon' is not a duration"):
        read_config({"route": {"receiver": "a", "routes": [{"group_wait": "soon"}]}})
    with pytest.raises(BacktestError, match="inhibit rule 1: equal must be a list"):
        read_config({"route": {"receiver": "a"}, "inhibit_rules": [{"equal": "geo"}]})


# -- routing -------------------------------------------------------------------------------


def _receivers(config: dict[str, Any], **labels: str) -> list[str]:
    return [r.receiver for r in read_config(config).route.match(labels)]


def test_routing_goes_on_past_a_matching_route_only_with_continue():
    config = generated_config()
    assert _receivers(config, severity="critical", team="payments") == [
        "pagerduty",
        "slack-payments",
    ]
    assert _receivers(config, severity="warning", team="payments") == ["slack-payments"]
    # info stops at the blackhole: no continue there, critical's route is never reached
    assert _receivers(config, severity="info", team="payments") == ["blackhole"]
    # nothing matches a child: the root's receiver
    assert _receivers(config, severity="warning", team="nobody") == ["slack-sre"]
    assert read_config(config).pagers == frozenset({"pagerduty"})


def test_a_child_route_inherits_grouping_and_timing_unless_it_sets_its_own():
    config = {
        "route": {
            "receiver": "root",
            "group_by": ["alertname"],
            "group_wait": "1m",
            "routes": [
                {"matchers": ['team="a"'], "group_interval": "10m"},
                {"matchers": ['team="b"'], "receiver": "b", "group_by": ["..."]},
                {
                    "matchers": ['team="c"'],
                    "receiver": "c",
                    "routes": [{"match": {"severity": "critical"}, "group_by": ["psp"]}],
                },
            ],
        }
    }
    a, b, c = read_config(config).route.routes
    assert (a.receiver, a.group_by, a.group_wait, a.group_interval) == (
        "root",
        ("alertname",),
        60.0,
        600.0,
    )
    assert (b.group_by, b.group_wait, b.group_interval) == (None, 60.0, 300.0)
    assert (c.receiver, c.group_by, c.cont) == ("c", ("alertname",), False)
    assert b.group({"alertname": "X", "psp": "p"}) == (("alertname", "X"), ("psp", "p"))
    (deep,) = read_config(config).route.match({"team": "c", "severity": "critical"})
    assert (deep.receiver, deep.group_by, deep.key) == ("c", ("psp",), "2.0")
    assert deep.group({"alertname": "X", "geo": "DE"}) == ()  # a missing label is left out


# -- inhibition ----------------------------------------------------------------------------


def test_psp_down_mutes_the_deposit_drop_of_its_own_psp_and_geo_only():
    rules = read_config(generated_config()).inhibit_rules
    down = critical("PspDown", 10, 40, psp="paybridge", geo="DE")
    same = critical("DepositSuccessRateDropPsp", 5, 50, psp="paybridge", geo="DE")
    other = critical("DepositSuccessRateDropPsp", 5, 50, psp="nordpay", geo="DE")
    elsewhere = critical("DepositSuccessRateDropPsp", 5, 50, psp="paybridge", geo="GB")
    spans = unmuted([down, same, other, elsewhere], rules)
    assert spans[0] == [(down.start, down.end)]
    assert spans[1] == [(same.start, down.start), (down.end, same.end)]
    assert spans[2] == [(other.start, other.end)]
    assert spans[3] == [(elsewhere.start, elsewhere.end)]


def test_equal_labels_missing_on_both_sides_are_equal():
    config = {
        "route": {"receiver": "r"},
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="Outage"'],
                "target_matchers": ['alertname="Symptom"'],
                "equal": ["geo"],
            }
        ],
    }
    rules = read_config(config).inhibit_rules
    outage, symptom = sent("Outage", 0, 60), sent("Symptom", 10, 20)
    assert unmuted([outage, symptom], rules)[1] == []
    de_symptom = sent("Symptom", 10, 20, geo="DE")
    assert unmuted([outage, de_symptom], rules)[1] == [(de_symptom.start, de_symptom.end)]


def test_an_alert_matching_both_sides_mutes_neither_itself_nor_its_like():
    config = {
        "route": {"receiver": "r"},
        "inhibit_rules": [
            {"source_matchers": ['severity="critical"'], "target_matchers": ['team="sre"']}
        ],
    }
    rules = read_config(config).inhibit_rules
    first = sent("A", 0, 60, severity="critical", team="sre")
    second = sent("B", 10, 20, severity="critical", team="sre")
    warning = sent("C", 10, 20, severity="warning", team="sre")
    spans = unmuted([first, second, warning], rules)
    assert spans[0] == [(first.start, first.end)]
    assert spans[1] == [(second.start, second.end)]  # both sides: not by A either
    assert spans[2] == []  # target only: muted by A


# -- pages ---------------------------------------------------------------------------------


def test_a_flapping_alert_is_one_page_within_the_group_interval_two_beyond_it():
    # pages: group_interval 15m; fires again 4 minutes after resolving, then 16 after that
    flaps = [
        critical("PspDown", 0, 10, psp="p", geo="DE"),
        critical("PspDown", 14, 20, psp="p", geo="DE"),
        critical("PspDown", 36, 40, psp="p", geo="DE"),
    ]
    routing = read_config(generated_config())
    first, second = pages(flaps, routing)
    assert [len(first.alerts), len(second.alerts)] == [2, 1]
    assert first.start == flaps[0].start + 120  # the pages' group_wait
    assert first.end == flaps[1].end and second.start == flaps[2].start + 120
    assert first.teams == ("payments",) and first.receiver == "pagerduty"
    assert dict(first.group) == {"team": "payments"}  # pages group by team
    assert first.alerts[0].labels == (("geo", "DE"), ("psp", "p"))


def test_an_alert_explained_within_the_group_wait_never_pages():
    # the deposit SLO burns a minute before the GEO's drop that explains it is firing: by
    # the first flush (group_wait 2m) it is muted, so only payments is paged
    burn = sent(
        "SloErrorBudgetBurnFast", 0, 30, severity="critical", team="sre", slo="deposit-availability"
    )
    drop = critical("DepositSuccessRateDropGeo", 1, 30, geo="GB")
    assert page_alerts([burn, drop]) == [["DepositSuccessRateDropGeo"]]
    # three minutes late, the drop comes after the SRE page went out: two pages
    late = critical("DepositSuccessRateDropGeo", 3, 30, geo="GB")
    assert page_alerts([burn, late]) == [["SloErrorBudgetBurnFast"], ["DepositSuccessRateDropGeo"]]


def test_two_alerts_in_one_group_are_one_page():
    config = {
        "route": {
            "receiver": "pd",
            "group_by": ["psp"],
            "routes": [{"matchers": ['severity!="critical"'], "receiver": "chat"}],
        },
        "receivers": [{"name": "pd", "pagerduty_configs": [{}]}, {"name": "chat"}],
    }
    both = [
        critical("PspDown", 0, 30, psp="p", geo="DE"),
        critical("DepositSuccessRateDropPsp", 5, 40, psp="p"),
        critical("DepositSuccessRateDropPsp", 5, 40, psp="q"),  # another group
        sent("Warned", 0, 30, psp="p", severity="warning"),  # not to PagerDuty
    ]
    assert page_alerts(both, config) == [
        ["PspDown", "DepositSuccessRateDropPsp"],
        ["DepositSuccessRateDropPsp"],
    ]
    # the generated configuration groups pages by team: one page for payments
    assert page_alerts(both[:2]) == [["PspDown", "DepositSuccessRateDropPsp"]]


def test_an_inhibited_alert_sends_no_page_and_one_that_fired_first_shares_its_page():
    down = critical("PspDown", 10, 60, psp="p", geo="DE")
    drop = critical("DepositSuccessRateDropPsp", 12, 50, psp="p", geo="DE")
    assert page_alerts([down, drop]) == [["PspDown"]]
    # firing 5 minutes before the outage's alert: it opened the team's page, which the
    # outage joins
    early = critical("DepositSuccessRateDropPsp", 5, 50, psp="p", geo="DE")
    assert page_alerts([down, early]) == [["DepositSuccessRateDropPsp", "PspDown"]]


# -- in the scores ---------------------------------------------------------------------------

OUTAGE = {
    "type": "psp_degradation",
    "scope": {"psp": "paybridge", "geo": "DE"},
    "start": (T0 + timedelta(minutes=60)).isoformat(),
    "end": (T0 + timedelta(minutes=150)).isoformat(),
    "parameters": {"approval_rate": 0.0},
}
NAMES = ("PspDown", "DepositSuccessRateDropPsp", "DepositSuccessRateDropGeo")


def series(name: str, minutes: range, **labels: str) -> AlertSeries:
    labels = {"alertname": name, "severity": "critical", "team": "payments", **labels}
    ts = tuple(T0.timestamp() + m * MIN for m in minutes)
    return AlertSeries(name, "firing", tuple(sorted(labels.items())), ts)


def run_of(*s: AlertSeries, incidents: list[dict[str, Any]] | None = None) -> Any:
    ev = Evaluation(T0, T0 + timedelta(days=1), MIN, s, NAMES, "test")
    alerts = {n: a for n, a in declared().items() if n in NAMES}
    return score(ev, [OUTAGE] if incidents is None else incidents, alerts)


def test_psp_down_inhibits_the_deposit_drops_so_the_outage_pages_once():
    run = run_of(
        series("PspDown", range(64, 152), psp="paybridge", geo="DE"),
        series("DepositSuccessRateDropPsp", range(68, 152), psp="paybridge", geo="DE"),
        series("DepositSuccessRateDropGeo", range(70, 152), geo="DE"),
    )
    (inc,) = run.incidents
    assert (inc.pages, inc.paged_teams, inc.critical_firings) == (1, ("payments",), 3)
    assert [a.alert for a in inc.paged[0].alerts] == ["PspDown"]
    assert all(d.caught for d in inc.detections)  # muted alerts still caught it
    (t,) = [t for t in run.types if t.incident == "psp_degradation"]
    assert (t.pages, t.pages_per_incident, t.critical_firings) == (1, (1,), 3)
    assert run.false_pages == 0
    agg = aggregate([run])
    assert "| 1 | payments | 3 | 0 |" in markdown(agg)
    assert "did not page exactly once" not in findings(agg)


def test_without_the_outage_alert_the_deposit_drops_share_one_page():
    run = run_of(
        series("DepositSuccessRateDropPsp", range(68, 152), psp="paybridge", geo="DE"),
        series("DepositSuccessRateDropGeo", range(70, 152), geo="DE"),
    )
    (inc,) = run.incidents
    assert inc.pages == 1
    assert [a.alert for a in inc.paged[0].alerts] == [
        "DepositSuccessRateDropPsp",
        "DepositSuccessRateDropGeo",
    ]
    # a second team's page on the same incident is a second page
    run = run_of(
        series("DepositSuccessRateDropGeo", range(70, 152), geo="DE"),
        series("SloErrorBudgetBurnFast", range(72, 152), slo="login-latency", team="sre"),
    )
    assert run.incidents[0].pages == 2
    text = findings(aggregate([run]))
    assert (
        "**psp_degradation**: 1 of 1 incidents a critical alert is meant for did not page "
        "exactly once: pages per incident 2." in text
    )


def deploy(minute: int, **regression: Any) -> dict[str, Any]:
    return {
        "type": "deploy",
        "scope": {"geo": "DE"} if regression else {},
        "start": (T0 + timedelta(minutes=minute)).isoformat(),
        "end": (T0 + timedelta(minutes=minute + 60)).isoformat(),
        "parameters": {"version": f"2.{minute}.0", "regression": regression or None},
    }


def test_only_an_incident_a_critical_alert_is_meant_for_should_page():
    names = ("DepositSuccessRateDropGeo", "SloErrorBudgetBurnFast", "SloErrorBudgetBurnSlow")
    alerts = {n: a for n, a in declared().items() if n in names}
    harmless, broken = deploy(60), deploy(300, geo="DE", deposit_failure_rate=0.3)

    def run(*s: AlertSeries) -> Any:
        ev = Evaluation(T0, T0 + timedelta(days=1), MIN, s, names, "test")
        return score(ev, [harmless, broken], alerts)

    paged = run(series("DepositSuccessRateDropGeo", range(310, 350), geo="DE"))
    assert [(i.pageworthy, i.pages) for i in paged.incidents] == [(False, 0), (True, 1)]
    (t,) = [t for t in paged.types if t.incident == "deploy"]
    assert (t.pages_per_incident, t.pageworthy_per_incident) == ((0, 1), (False, True))
    text = findings(aggregate([paged]))
    assert "**deploy**" not in text  # the harmless deploy's silence is no finding
    missed = findings(aggregate([run()]))
    assert (
        "**deploy**: 1 of 1 incidents a critical alert is meant for did not page exactly "
        "once: pages per incident 0." in missed
    )
    # a page on the harmless deploy is a false page: a deploy that breaks nothing explains
    # nothing
    slo = series("SloErrorBudgetBurnFast", range(62, 80), slo="deposit-availability", team="sre")
    noisy = run(slo)
    assert [(i.pageworthy, i.pages) for i in noisy.incidents] == [(False, 0), (True, 0)]
    assert noisy.false_pages == 1
    assert "1 false pages (a page no incident explains)" in findings(aggregate([noisy]))


def test_a_page_on_an_incident_only_warnings_are_meant_for_is_a_finding():
    names = ("DepositsAwaitingCallback", "PspDown")
    alerts = {n: a for n, a in declared().items() if n in names}
    loss = {
        "type": "psp_callback_loss",
        "scope": {"psp": "ewallo"},
        "start": (T0 + timedelta(minutes=60)).isoformat(),
        "end": (T0 + timedelta(minutes=105)).isoformat(),
        "parameters": {"loss_rate": 0.4},
    }
    down = series("PspDown", range(70, 90), psp="ewallo", geo="DE")
    ev = Evaluation(T0, T0 + timedelta(days=1), MIN, (down,), names, "test")
    run = score(ev, [loss], alerts)
    assert [(i.pageworthy, i.pages) for i in run.incidents] == [(False, 1)]
    assert run.false_pages == 0  # the lost callbacks explain it
    assert (
        "**psp_callback_loss**: 1 of 1 incidents no critical alert is meant for paged: pages "
        "per incident 1." in findings(aggregate([run]))
    )


def test_a_page_on_no_incident_is_a_false_page_of_its_team():
    run = run_of(
        series("PspDown", range(300, 310), psp="nordpay", geo="BR"),
        series("PspDown", range(313, 320), psp="nordpay", geo="BR"),  # the same page
        incidents=[],
    )
    assert run.false_pages == 1 and len(run.pages) == 1
    (payments,) = [t for t in run.teams if t.team == "payments"]
    assert (payments.false_alerts, payments.false_pages) == (2, 1)
    assert payments.false_pages_per_week == 7
    assert "1 false pages (a page no incident explains)" in findings(aggregate([run]))


def test_a_page_that_started_before_the_incident_is_not_its_page():
    run = run_of(
        series("PspDown", range(30, 152), psp="paybridge", geo="DE"),  # 30 minutes before
    )
    (inc,) = run.incidents
    assert (inc.pages, inc.critical_firings) == (0, 1)
    assert run.false_pages == 0  # it fired on the incident: not false either
