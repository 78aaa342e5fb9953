"""The Alertmanager configuration: route by team to Slack, page on critical, group by
alert and scope, inhibit what an outage explains. Secrets are files, never values:
``/run/secrets/*`` in the committed file (docker secrets), any folder for a native run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alert_rules.config import RulesConfig
from alert_rules.model import TEAMS, Domain
from alert_rules.render import GENERATED, dump

CONFIG_PATH = "alert_rules/alertmanager/alertmanager.yml"
TEMPLATE_PATH = "alert_rules/alertmanager/pitwatch.tmpl"
ROUTES_PATH = "alert_rules/alertmanager/routes.md"

# Each team's Slack channel. Critical alerts also page the on-call through PagerDuty.
CHANNELS: dict[str, str] = {
    "payments": "#payments-alerts",
    "wallet": "#wallet-alerts",
    "sportsbook": "#trading-alerts",
    "casino": "#casino-alerts",
    "affiliates": "#affiliate-alerts",
    "compliance": "#compliance-alerts",
    "finance": "#finance-recon",
    "sre": "#sre-alerts",
}
# Teams whose alerts depend on the platform answering: a platform-wide outage explains
# them, so PlatformDown inhibits them. Wallet (ledger state) and finance (reconciliation)
# read the database and stay on.
BUSINESS_TEAMS = ("payments", "sportsbook", "casino", "affiliates", "compliance")


@dataclass(frozen=True)
class Inhibition:
    source: str  # alertname
    target: str  # alertname, or "team:<regex>"
    equal: tuple[str, ...] = ()
    why: str = ""
    also: tuple[str, ...] = ()  # further target matchers, e.g. 'slo=~"deposit-.*"'


INHIBITIONS = (
    Inhibition(
        "PlatformDown",
        "team:" + "|".join(BUSINESS_TEAMS),
        why="the platform is down: every business flow fails with it",
    ),
    Inhibition(
        "PspDown",
        "DepositSuccessRateDropGeo",
        ("geo",),
        why="a PSP down in a GEO explains that GEO's deposit drop",
    ),
    Inhibition(
        "PspDown",
        "DepositSuccessRateDropPsp",
        ("psp", "geo"),
        why="the PSP's drop in the GEO is its outage there",
    ),
    *(
        Inhibition(
            drop,
            "SloErrorBudgetBurnFast",
            why="deposits failing in a GEO burn the deposit SLOs: the payments page names "
            "the GEO, the PSP and any deploy, and payments owns the fix",
            also=('slo=~"deposit-.*"',),
        )
        for drop in ("DepositSuccessRateDropGeo", "DepositSuccessRateDropPsp")
    ),
    Inhibition(
        "SettlementBacklogAgingCritical",
        "SettlementBacklogAging",
        ("sport",),
        why="the critical page already says the sport's settlements are stuck",
    ),
    Inhibition(
        "OddsFeedLagging",
        "OddsFeedDelayed",
        why="the page for a feed minutes behind covers the warning for seconds behind",
    ),
    Inhibition(
        "SloErrorBudgetBurnFast",
        "SloErrorBudgetBurnSlow",
        ("slo",),
        why="the page for the fast burn covers the slow one of the same SLO",
    ),
)


def scope_labels(domains: Iterable[Domain]) -> list[str]:
    """Every label an alert's scope uses: notifications group by alert name and these."""
    return sorted({label for d in domains for a in d.alerts for label in a.scope})


@dataclass(frozen=True)
class Delivery:
    """Where secrets live and how fast groups flush (tests and the demo shorten them)."""

    secrets_dir: str = "/run/secrets"
    pagerduty_url: str | None = None  # None: PagerDuty's Events API v2
    group_wait: str = "30s"
    group_interval: str = "5m"
    # Pages (PagerDuty): wait for the alert that explains another; regroup a flicker.
    page_group_wait: str = "2m"
    page_group_interval: str = "15m"
    repeat_interval: str = "4h"


def receivers() -> list[dict[str, Any]]:
    slack = [
        {
            "name": f"slack-{team}",
            "slack_configs": [
                {
                    "channel": CHANNELS[team],
                    "send_resolved": True,
                    "title": '{{ template "pitwatch.slack.title" . }}',
                    "text": '{{ template "pitwatch.slack.text" . }}',
                    "color": '{{ template "pitwatch.slack.color" . }}',
                }
            ],
        }
        for team in TEAMS
    ]
    return [
        *slack,
        {
            "name": "pagerduty",
            "pagerduty_configs": [
                {
                    "routing_key_file": "__SECRETS__/pagerduty_routing_key",
                    "description": '{{ template "pitwatch.pagerduty.description" . }}',
                    "severity": "critical",
                    "send_resolved": True,
                    "links": [
                        {
                            "href": "{{ (index .Alerts 0).Annotations.runbook_url }}",
                            "text": "Runbook",
                        },
                        {
                            "href": "{{ (index .Alerts 0).Annotations.dashboard_url }}",
                            "text": "Dashboard",
                        },
                    ],
                }
            ],
        },
        {"name": "blackhole"},
    ]


def _matcher(target: str) -> str:
    if target.startswith("team:"):
        return f'team=~"{target.removeprefix("team:")}"'
    return f'alertname="{target}"'


def _targets(i: Inhibition) -> list[str]:
    return [_matcher(i.target), *i.also]


def config(domains: Iterable[Domain], delivery: Delivery = Delivery()) -> dict[str, Any]:
    global_: dict[str, Any] = {
        "resolve_timeout": "5m",
        "slack_api_url_file": "__SECRETS__/slack_webhook_url",
    }
    if delivery.pagerduty_url:
        global_["pagerduty_url"] = delivery.pagerduty_url
    routes: list[dict[str, Any]] = [
        # info is recorded (Prometheus ALERTS) and shown on dashboards, never sent
        {"receiver": "blackhole", "matchers": ['severity="info"']},
        # One page per team while its incident lasts: the critical alerts of a team that
        # fire together (a PSP failing in every GEO, the odds feed stale for every sport,
        # a GEO's drop and its PSPs') join the open PagerDuty incident instead of opening
        # new ones; Slack keeps one message per alert and scope.
        # group_wait 2m: the alert that explains another has time to arrive and inhibit it
        # before anyone is woken (a GEO's deposit drop fires a minute after the deposit SLO
        # burn it explains). group_interval 15m: an alert of the team that resolves and
        # fires again within a quarter of an hour (evidence hovering at a threshold, a
        # low-volume scope) updates the open incident instead of paging anew; only its
        # resolution waits as long.
        {
            "receiver": "pagerduty",
            "matchers": ['severity="critical"'],
            "group_by": ["team"],
            "group_wait": delivery.page_group_wait,
            "group_interval": delivery.page_group_interval,
            "continue": True,
        },
        *[{"receiver": f"slack-{team}", "matchers": [f'team="{team}"']} for team in TEAMS],
    ]
    doc = {
        "global": global_,
        "templates": ["pitwatch.tmpl"],
        "route": {
            # an alert without a known team still reaches someone
            "receiver": "slack-sre",
            "group_by": ["alertname", *scope_labels(domains)],
            "group_wait": delivery.group_wait,
            "group_interval": delivery.group_interval,
            "repeat_interval": delivery.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": [f'alertname="{i.source}"'],
                "target_matchers": _targets(i),
                **({"equal": list(i.equal)} if i.equal else {}),
            }
            for i in INHIBITIONS
        ],
        "receivers": receivers(),
    }
    return doc


def render_config(domains: Iterable[Domain], delivery: Delivery = Delivery()) -> str:
    header = GENERATED + (
        "# Secrets are files: slack_webhook_url and pagerduty_routing_key in "
        f"{delivery.secrets_dir}.\n"
    )
    return dump(config(domains, delivery), header).replace("__SECRETS__", delivery.secrets_dir)


TEMPLATE = """{{/* Generated by `pitwatch generate` from alert_rules/alertmanager.py. */}}
{{ define "pitwatch.scope" }}{{ range .SortedPairs }}{{ if and (ne .Name "alertname") (ne .Name "severity") (ne .Name "team") }} {{ .Name }}={{ .Value }}{{ end }}{{ end }}{{ end }}

{{ define "pitwatch.slack.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}{{ template "pitwatch.scope" .GroupLabels }}{{ end }}

{{ define "pitwatch.slack.color" }}{{ if eq .Status "firing" }}{{ if eq .CommonLabels.severity "critical" }}danger{{ else }}warning{{ end }}{{ else }}good{{ end }}{{ end }}

{{ define "pitwatch.slack.text" }}{{ range .Alerts }}*{{ .Annotations.summary }}* ({{ .Labels.severity }}, team {{ .Labels.team }}{{ template "pitwatch.scope" .Labels }}){{ if eq .Status "resolved" }} resolved{{ end }}
{{ .Annotations.description }}
<{{ .Annotations.runbook_url }}|Runbook> · <{{ .Annotations.dashboard_url }}|Dashboard>
{{ end }}{{ end }}

{{ define "pitwatch.pagerduty.description" }}{{ .CommonLabels.team }}: {{ range $i, $a := .Alerts.Firing }}{{ if $i }}; {{ end }}{{ $a.Labels.alertname }}{{ template "pitwatch.scope" $a.Labels }}{{ end }}{{ if not .Alerts.Firing }}{{ (index .Alerts 0).Labels.alertname }}{{ template "pitwatch.scope" (index .Alerts 0).Labels }}{{ end }}: {{ (index .Alerts 0).Annotations.summary }}{{ end }}
"""


def routes_doc(domains: Iterable[Domain]) -> str:
    lines = [
        "# Alert routing",
        "",
        "Generated by `pitwatch generate` from `alert_rules/alertmanager.py`; do not edit.",
        "",
        "- `severity=critical` pages through PagerDuty and also goes to the team's channel;",
        "  `warning` goes to the team's channel; `info` is recorded only.",
        "- Slack notifications are grouped by alert name and scope ("
        + ", ".join(f"`{s}`" for s in scope_labels(domains))
        + "); pages by team: one PagerDuty incident per team while its critical alerts "
        "fire together.",
        "- Secrets are files: `slack_webhook_url`, `pagerduty_routing_key` (`/run/secrets/`).",
        "",
        "| team | Slack channel | alerts |",
        "|---|---|---|",
    ]
    alerts = [a for d in domains for a in d.alerts]
    for team in TEAMS:
        names = ", ".join(sorted({a.name for a in alerts if a.team == team})) or "—"
        lines.append(f"| {team} | `{CHANNELS[team]}` | {names} |")
    lines += ["", "## Inhibitions", "", "| source | silences | equal labels | why |",
              "|---|---|---|---|"]  # fmt: skip
    for i in INHIBITIONS:
        lines.append(
            f"| {i.source} | `{', '.join(_targets(i))}` | {', '.join(i.equal) or '—'} | {i.why} |"
        )
    return "\n".join(lines) + "\n"


def artefacts(domains: Iterable[Domain], _config: RulesConfig) -> dict[str, str]:
    domains = tuple(domains)
    return {
        CONFIG_PATH: render_config(domains),
        TEMPLATE_PATH: TEMPLATE,
        ROUTES_PATH: routes_doc(domains),
    }
