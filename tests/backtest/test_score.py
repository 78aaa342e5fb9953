"""Scoring a backtest: episodes from ALERTS samples, catches, collateral and false alerts,
several runs, the reports; and the alerts' declarations of what they catch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from alert_rules import all_alerts, catches
from alert_rules.model import Alert, Catch
from ground.vocabulary import INCIDENT_TYPES
from igaming.traffic.scenario import load
from pitwatch.backtest.model import AlertSeries, BacktestError, Evaluation
from pitwatch.backtest.report import html, markdown, scores_json, write
from pitwatch.backtest.score import (
    AlertInfo,
    aggregate,
    all_episodes,
    declared,
    parse_catches,
    read_incidents,
    score,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)
MIN = 60.0

ALERTS = {
    "Drop": AlertInfo(
        "Drop", "critical", "payments", "20m", (Catch("psp_degradation", {"geo": "geo"}),)
    ),
    "Deploys": AlertInfo(
        "Deploys", "warning", "payments", "10m", (Catch("deploy", needs=("regression",)),)
    ),
    "Noisy": AlertInfo("Noisy", "warning", "sre"),
    "Pager": AlertInfo("Pager", "critical", "sre"),
}


def at(minute: float) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat()


def series(
    name: str, minutes: range | list[int], state: str = "firing", **labels: str
) -> AlertSeries:
    ts = tuple(T0.timestamp() + m * MIN for m in minutes)
    return AlertSeries(name, state, tuple(sorted(labels.items())), ts)  # type: ignore[arg-type]


def evaluation(*s: AlertSeries, days: float = 1.0) -> Evaluation:
    return Evaluation(T0, T0 + timedelta(days=days), MIN, tuple(s), tuple(ALERTS), "test")


def degradation(start: int, end: int | None, **scope: str) -> dict[str, Any]:
    return {
        "type": "psp_degradation",
        "scope": {"psp": "paybridge", **scope},
        "start": at(start),
        "end": at(end) if end is not None else None,
        "parameters": {"approval_rate": 0.05},
        "note": None,
    }


def incident(kind: str, start: int, end: int, **parameters: Any) -> dict[str, Any]:
    """An incident of no particular scope, as incidents.jsonl holds it."""
    return {
        "type": kind,
        "scope": {},
        "start": at(start),
        "end": at(end),
        "parameters": parameters,
    }


def one(run, name):
    return next(a for a in run.alerts if a.alert == name)


# -- episodes ------------------------------------------------------------------------------


def test_samples_one_interval_apart_are_one_episode_a_missed_evaluation_splits():
    ev = evaluation(
        series("Noisy", list(range(0, 11)) + list(range(11, 21))),  # 10 -> 11: one interval
        series("Pager", list(range(0, 11)) + list(range(12, 21))),  # 10 -> 12: two
        series("Pager", range(0, 30), state="pending"),
    )
    eps = all_episodes(ev)
    noisy = [e for e in eps if e.alert == "Noisy"]
    pager = [e for e in eps if e.alert == "Pager" and e.state == "firing"]
    assert [(e.start, e.end) for e in noisy] == [(T0.timestamp(), T0.timestamp() + 21 * MIN)]
    assert [(e.last - T0.timestamp()) / MIN for e in pager] == [10, 20]
    assert [e.state for e in eps if e.alert == "Pager"].count("pending") == 1


def test_caught_with_its_detection_delay_and_reset_time():
    ev = evaluation(series("Drop", range(70, 161), geo="DE"))
    run = score(ev, [degradation(60, 150, geo="DE")], ALERTS)
    drop = one(run, "Drop")
    assert (drop.incidents, drop.caught, drop.missed) == (1, 1, 0)
    assert drop.detection_median == drop.detection_worst == 10 * MIN
    assert drop.reset_median == 11 * MIN  # last sample at 160, resolved at 161, ended at 150
    assert drop.within_promise == 1 and drop.false_alerts == 0
    (inc,) = run.incidents
    (d,) = inc.detections
    assert d.caught and not d.still_firing and inc.first_detection == 10 * MIN
    assert inc.pages == 1 and inc.warnings == 0


def test_a_firing_that_started_before_the_incident_detects_it_at_once():
    run = score(evaluation(series("Drop", range(50, 100), geo="DE")), [degradation(60, 90)], ALERTS)
    assert one(run, "Drop").detection_median == 0


def test_missed_when_nothing_fires():
    run = score(evaluation(), [degradation(60, 150, geo="DE")], ALERTS)
    drop = one(run, "Drop")
    assert (drop.caught, drop.missed, drop.detection_median, drop.reset_median) == (
        0,
        1,
        None,
        None,
    )
    (t,) = [t for t in run.types if t.incident == "psp_degradation"]
    assert (t.incidents, t.caught, t.declared_by) == (1, 0, ("Drop",))


def test_still_firing_at_the_end_has_no_reset():
    ev = evaluation(series("Drop", range(70, 24 * 60 + 1), geo="DE"))  # to the last evaluation
    run = score(ev, [degradation(60, 150, geo="DE")], ALERTS)
    (d,) = run.incidents[0].detections
    assert d.caught and d.still_firing and d.reset is None
    assert one(run, "Drop").still_firing == 1 and one(run, "Drop").reset_median is None


def test_a_scope_that_disagrees_does_not_catch_and_is_collateral():
    ev = evaluation(series("Drop", range(70, 100), geo="GB"))
    run = score(ev, [degradation(60, 150, geo="DE")], ALERTS)
    drop = one(run, "Drop")
    assert (drop.caught, drop.missed, drop.collateral, drop.false_alerts) == (0, 1, 1, 0)
    assert run.incidents[0].firings[0].kind == "collateral"


def test_an_incident_without_the_scope_key_matches_any_label():
    run = score(
        evaluation(series("Drop", range(70, 100), geo="GB")), [degradation(60, 150)], ALERTS
    )
    assert one(run, "Drop").caught == 1


def test_false_alerts_and_false_pages_are_counted_per_simulated_week():
    ev = evaluation(
        series("Pager", range(100, 110)),
        series("Pager", range(2000, 2010)),
        series("Noisy", range(3000, 3010)),
        days=14,
    )
    run = score(ev, [], ALERTS)
    assert run.weeks == 2
    pager, noisy = one(run, "Pager"), one(run, "Noisy")
    assert (pager.false_alerts, pager.false_per_week, pager.false_pages_per_week) == (2, 1, 1)
    assert (noisy.false_alerts, noisy.false_per_week, noisy.false_pages_per_week) == (1, 0.5, 0)
    (sre,) = [t for t in run.teams if t.team == "sre"]
    assert (sre.false_alerts, sre.false_pages, sre.false_per_week) == (3, 2, 1.5)


def test_a_firing_within_the_grace_after_an_incident_is_its_collateral_not_false():
    ev = evaluation(
        series("Pager", range(80, 90)),  # during the incident
        series("Noisy", range(160, 170)),  # 10 minutes after its end: inside the 15 minute grace
        series("Noisy", range(200, 210)),  # 50 minutes after: false
    )
    run = score(ev, [degradation(60, 150, geo="DE")], ALERTS)
    inc = run.incidents[0]
    assert sorted((f.alert, f.kind) for f in inc.firings) == [
        ("Noisy", "collateral"),
        ("Pager", "collateral"),
    ]
    assert (inc.pages, inc.warnings) == (1, 1)
    assert one(run, "Noisy").false_alerts == 1 and one(run, "Pager").false_alerts == 0


def test_the_warm_up_is_left_out():
    ev = evaluation(series("Pager", range(10, 20)), series("Pager", range(200, 210)))
    run = score(ev, [], ALERTS, measured_from=T0 + timedelta(hours=1))
    assert one(run, "Pager").false_alerts == 1
    assert run.weeks == pytest.approx(23 / (7 * 24))


def test_a_deploy_without_a_regression_is_no_target():
    marker = incident("deploy", 60, 60, version="2", regression=None)
    bad = incident("deploy", 300, 400, version="3", regression={"geo": "DE"})
    run = score(evaluation(series("Deploys", range(310, 330))), [marker, bad], ALERTS)
    deploys = one(run, "Deploys")
    assert (deploys.incidents, deploys.caught) == (1, 1)
    assert run.incidents[0].detections == ()


def test_what_fires_on_an_incident_no_alert_is_meant_for_is_false():
    surge = incident("traffic_surge", 60, 120, factor=6)
    marker = incident("deploy", 300, 300, version="2", regression=None)
    ev = evaluation(series("Noisy", range(70, 80)), series("Pager", range(305, 315)))
    run = score(ev, [surge, marker, degradation(600, 700, geo="DE")], ALERTS)
    assert [f.kind for f in run.firings] == ["false", "false"]
    assert (one(run, "Noisy").false_alerts, one(run, "Pager").false_alerts) == (1, 1)
    assert run.false_pages == 1
    assert all(i.firings == () and i.pages == 0 for i in run.incidents)
    # the same firings on a fault's incident are its collateral
    run = score(ev, [degradation(60, 320, geo="DE")], ALERTS)
    assert [f.kind for f in run.firings] == ["collateral", "collateral"]
    assert run.false_pages == 0


# -- several runs --------------------------------------------------------------------------


def test_runs_aggregate_to_the_median_and_the_worst():
    runs = [
        score(
            evaluation(series("Drop", range(60 + d, 100), geo="DE")),
            [degradation(60, 90)],
            ALERTS,
            run=f"seed {i}",
        )
        for i, d in enumerate((5, 10, 30))
    ] + [
        score(
            evaluation(series("Pager", range(500, 510))),
            [degradation(60, 90)],
            ALERTS,
            run="seed 4",
        )
    ]
    agg = aggregate(runs)
    (drop,) = [a for a in agg.alerts if a.alert == "Drop"]
    assert (drop.detection_median.median, drop.detection_median.worst) == (10 * MIN, 30 * MIN)
    assert (drop.caught.median, drop.caught.worst) == (1, 0)  # worst is the fewest caught
    assert (drop.missed.median, drop.missed.worst) == (0, 1)
    (pager,) = [a for a in agg.alerts if a.alert == "Pager"]
    assert pager.false_per_week.worst == 7 and pager.false_per_week.median == 0
    assert agg.runs == ("seed 0", "seed 1", "seed 2", "seed 4")


def test_nothing_to_aggregate_is_an_error():
    with pytest.raises(BacktestError):
        aggregate([])


# -- bad input -----------------------------------------------------------------------------


def test_a_bad_incidents_line_names_the_file_and_the_line(tmp_path: Path):
    path = tmp_path / "incidents.jsonl"
    path.write_text(json.dumps(degradation(0, 10)) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(BacktestError, match=r"incidents\.jsonl:2: not JSON") as exc:
        read_incidents(path)
    assert "\n" not in str(exc.value)
    path.write_text(
        json.dumps({**degradation(0, 10), "type": "alien_landing"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(
        BacktestError, match=r"incidents\.jsonl:1: unknown incident type 'alien_landing'"
    ):
        read_incidents(path)
    path.write_text(
        json.dumps({**degradation(0, 10), "start": "yesterday"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(BacktestError, match=r":1: start is not an ISO 8601 time"):
        read_incidents(path)


def test_read_incidents_reads_what_the_simulator_writes(tmp_path: Path):
    from igaming.traffic.truth import write_incident_log

    write_incident_log(tmp_path / "i.jsonl", [degradation(0, 10, geo="DE"), degradation(20, None)])
    first, second = read_incidents(tmp_path / "i.jsonl", run_end=T0.timestamp() + 3600)
    assert first.scope == {"psp": "paybridge", "geo": "DE"} and first.end - first.start == 600
    assert second.open and second.end == T0.timestamp() + 3600


def test_an_unknown_incident_type_among_rows_is_an_error():
    with pytest.raises(BacktestError, match="incident 1: unknown incident type 'x'"):
        score(evaluation(), [{**degradation(0, 1), "type": "x"}], ALERTS)


def test_a_mapping_naming_an_unknown_alert_or_incident_type_is_an_error():
    with pytest.raises(BacktestError, match="unknown alert 'Nope'"):
        parse_catches({"Nope": ["deploy"]}, ALERTS)
    with pytest.raises(BacktestError, match="Noisy: unknown incident type 'meteor'"):
        parse_catches({"Noisy": ["meteor"]}, ALERTS)
    with pytest.raises(BacktestError, match="unknown incident scope key 'country'"):
        parse_catches({"Noisy": [{"incident": "deploy", "scope": {"geo": "country"}}]}, ALERTS)
    mapped = parse_catches({"Noisy": ["kyc_vendor_down"]}, ALERTS)
    assert mapped["Noisy"].catches == (Catch("kyc_vendor_down"),)
    bad = {**ALERTS, "Noisy": AlertInfo("Noisy", "warning", "sre", None, (Catch("meteor"),))}
    with pytest.raises(BacktestError, match="unknown incident type 'meteor'"):
        score(evaluation(), [], bad)


def test_catches_of_an_alert_the_evaluation_lacks_is_an_error():
    ev = Evaluation(T0, T0 + timedelta(days=1), MIN, (), ("Noisy",), "test")
    with pytest.raises(BacktestError, match="catches name alert 'Drop'"):
        score(ev, [], ALERTS)


# -- reports -------------------------------------------------------------------------------


class _Checker(HTMLParser):
    VOID = {"meta", "br", "line", "rect", "img", "input", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _runs() -> list:
    ev = evaluation(
        series("Drop", range(70, 161), geo="<b>DE</b>"),
        series("Drop", range(62, 70), state="pending", geo="<b>DE</b>"),
        series("Pager", range(500, 510)),
    )
    return [
        score(ev, [degradation(60, 150), degradation(900, 960, geo="GB")], ALERTS, run="seed 1")
    ]


def test_the_html_report_is_well_formed_escaped_and_has_a_timeline_per_alert():
    runs = _runs()
    page = html(aggregate(runs), runs)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    # Drop and Deploys declare incidents, Pager fired; and a close-up of each of the two
    # incidents
    assert checker.tags.count("svg") == 3 + 2
    text = "".join(checker.text)
    for name in ("Drop", "Pager", "Deploys", "Noisy", "psp_degradation"):
        assert name in text
    assert "<b>DE</b>" not in page and "&lt;b&gt;DE&lt;/b&gt;" in page
    assert 'class="firing declared"' in page and 'class="firing false"' in page
    assert 'class="pending"' in page and 'class="incident"' in page


def test_markdown_and_json_hold_every_alert_and_type(tmp_path: Path):
    runs = _runs()
    agg = aggregate(runs)
    md = markdown(agg)
    rows = [line for line in md.splitlines() if line.startswith("| Drop |")]
    assert len(rows) == 1 and "| 2 | 0 |" not in rows[0]
    assert "| 1 | 1 | 10m | 10m | 20m | 11m |" in rows[0]  # caught, missed, detection, reset
    assert "| psp_degradation | 2 | 1 | Drop |" in md
    data = json.loads(scores_json(agg, runs))
    assert [a["alert"] for a in data["aggregate"]["alerts"]] == list(ALERTS)
    assert data["runs"][0]["incidents"][0]["detections"][0]["delay"] == 600
    written = write(tmp_path / "out", agg, runs)
    assert [p.name for p in written] == ["scores.json", "report.html"]
    assert all(p.stat().st_size > 0 for p in written)


# -- the declarations ----------------------------------------------------------------------


def test_every_declaration_names_known_types_and_labels_the_alert_carries():
    for alert in all_alerts():
        for c in alert.catches:
            assert c.problem(alert.scope) is None, alert.name
    assert set(catches()) == {a.name for a in all_alerts()}
    assert declared()["PspDown"].catches == (
        Catch("psp_degradation", {"psp": "psp", "geo": "geo"}, needs=("approval_rate=0",)),
        Catch("psp_outage", {"psp": "psp", "geo": "geo"}),
    )


@pytest.mark.parametrize(
    ("parameters", "wanted"),
    [
        ({"approval_rate": 0.0}, True),
        ({"approval_rate": 0}, True),
        ({"approval_rate": "0.0"}, True),
        ({"approval_rate": 0.05}, False),
        ({"approval_rate": "none"}, False),
        ({}, False),
    ],
)
def test_a_need_with_a_value_compares_numbers_as_numbers(parameters, wanted):
    # PspDown is meant for a PSP that approves nothing, however the scenario wrote the zero
    assert Catch("psp_degradation", needs=("approval_rate=0",)).wants(parameters) is wanted
    assert Catch("postback_outage", needs=("mode=down",)).wants({"mode": "down"})
    assert not Catch("postback_outage", needs=("mode=down",)).wants({"mode": "slow"})


@pytest.mark.parametrize(
    ("parameters", "wanted"),
    [
        ({"delay_seconds": 901}, True),
        ({"delay_seconds": "1800.0"}, True),
        ({"delay_seconds": 900}, False),
        ({"delay_seconds": 120}, False),
        ({"delay_seconds": None}, False),
        ({}, False),
    ],
)
def test_a_need_above_a_number_compares_as_numbers(parameters, wanted):
    # a deposit may wait 15 minutes for its callback: only a longer delay leaves it stale
    assert Catch("psp_callback_delay", needs=("delay_seconds>900",)).wants(parameters) is wanted


@pytest.mark.parametrize(
    ("catch", "message"),
    [
        (Catch("meteor"), "PspLike: catches unknown incident type 'meteor'"),
        (Catch("deploy", {"country": "geo"}), "label 'country', which the alert lacks"),
        (Catch("deploy", {"psp": "bank"}), "unknown incident scope key 'bank'"),
        (Catch("deploy", needs=("a b",)), "not 'name', 'name=value' or 'name>number'"),
        (Catch("deploy", needs=("a>b",)), "not 'name', 'name=value' or 'name>number'"),
    ],
)
def test_a_bad_declaration_is_a_value_error_naming_the_alert(catch: Catch, message: str):
    base = next(a for a in all_alerts() if a.name == "PspDown")
    fields = {k: getattr(base, k) for k in Alert.__dataclass_fields__}
    with pytest.raises(ValueError, match=message):
        Alert(**{**fields, "name": "PspLike", "catches": (catch,)})


# Simulated incidents no alert is meant to catch, on purpose.
# (Duplicate callbacks are absorbed by the callback state machine, so no money moves
# twice and nothing pages; PspCallbackDuplicates tells payments in Slack, a warning.)
NOT_DECLARED = {
    # A surge is traffic, not a fault: the alerts must stay silent through it.
    "traffic_surge",
}


def test_every_simulated_incident_type_of_the_mixed_week_is_declared_by_some_alert():
    kinds = {i.type for i in load("mixed-week").incidents}
    assert kinds == set(INCIDENT_TYPES)  # the mixed week has every kind
    declared_types = {c.incident for a in all_alerts() for c in a.catches}
    assert kinds - declared_types == NOT_DECLARED
    assert not NOT_DECLARED & declared_types


def test_firing_through_the_last_evaluation_is_open_whether_or_not_it_falls_on_the_end():
    for last in (24 * 60, 24 * 60 - 1):
        run = score(evaluation(series("Pager", range(100, last + 1))), [], ALERTS)
        (f,) = run.firings
        assert f.open, last
    run = score(evaluation(series("Pager", range(100, 24 * 60 - 1))), [], ALERTS)
    assert not run.firings[0].open


def test_findings_name_misses_slow_detections_and_false_alerts():
    from pitwatch.backtest.report import findings

    slow = series("Drop", range(100, 161), geo="DE")  # 40 minutes in: promise 20m
    page = series("Pager", range(500, 510))  # once in a day: 7 a week
    caught = findings(aggregate([score(evaluation(slow, page), [degradation(60, 150)], ALERTS)]))
    assert "**Drop** detected in 40m at worst, slower than its promise of 20m." in caught
    assert "**Pager** (critical) fired on nothing: 7 false pages a week at worst." in caught
    assert "missed" not in caught
    missed = findings(aggregate([score(evaluation(), [degradation(60, 150, geo="DE")], ALERTS)]))
    assert "**Drop** missed 1 of 1 incidents" in missed
    assert "No alert caught **psp_degradation**" in missed
    surge = incident("traffic_surge", 60, 120)
    calm = findings(aggregate([score(evaluation(), [surge], ALERTS)]))
    assert "traffic_surge" not in calm  # no alert is meant to catch a surge
    # a type some alert declares, but not for these parameters: nothing to miss either
    marker = incident("deploy", 60, 60)
    harmless = findings(aggregate([score(evaluation(), [marker], ALERTS)]))
    assert "No alert caught **deploy**" not in harmless
    broken = incident("deploy", 60, 120, regression={"geo": "DE"})
    missed = findings(aggregate([score(evaluation(), [broken], ALERTS)]))
    assert "No alert caught **deploy** in the worst run (Deploys)." in missed
    quiet = findings(aggregate([score(evaluation(), [], ALERTS)]))
    assert "Every incident caught within its promise" in quiet
