"""Alert rules as code: Prometheus recording and alerting rules, promtool tests, runbooks,
the detection table and the Alertmanager configuration, all rendered from the Python
declarations in ``alert_rules.domains`` and their promtool cases in ``alert_rules.cases`` by
``pitwatch generate``; and the same rules in the demo profile (``alert_rules.profile``:
shorter windows, ``alert_rules/demo/``)."""

from __future__ import annotations

from alert_rules.cases import CASES
from alert_rules.config import ConfigError, RulesConfig, load
from alert_rules.domains import (
    affiliates,
    casino,
    infrastructure,
    kyc,
    payments,
    platform,
    reconciliation,
    sportsbook,
    wallet,
)
from alert_rules.model import Alert, Catch, Domain

DOMAINS: tuple[Domain, ...] = (
    payments.DOMAIN,
    wallet.DOMAIN,
    sportsbook.DOMAIN,
    casino.DOMAIN,
    affiliates.DOMAIN,
    kyc.DOMAIN,
    reconciliation.DOMAIN,
    platform.DOMAIN,
    infrastructure.DOMAIN,
)


def all_alerts(domains: tuple[Domain, ...] = DOMAINS) -> tuple[Alert, ...]:
    return tuple(a for d in domains for a in d.alerts)


def catches(domains: tuple[Domain, ...] = DOMAINS) -> dict[str, tuple[Catch, ...]]:
    """Alert name -> the incident types it is meant to catch (every alert, most with none)."""
    return {a.name: a.catches for a in all_alerts(domains)}


def artefacts(config: RulesConfig | None = None) -> dict[str, str]:
    """Every generated file of the alerting suite: repository path -> content."""
    from alert_rules import alertmanager, profile, render

    config = config or load()
    known = {a.name for a in all_alerts()}
    for o in config.overrides:
        if o.alert not in known:
            raise ConfigError(f"override of {o.alert}: unknown alert")
    cases = {d.name: CASES[d.name]() for d in DOMAINS}
    out: dict[str, str] = {}
    for domain in DOMAINS:
        mine = cases[domain.name]
        out[f"{render.RULES_DIR}/{domain.name}.yml"] = render.rule_file(domain, config)
        out[f"{render.TESTS_DIR}/{domain.name}.yml"] = render.test_file(
            domain, mine, DOMAINS, config
        )
        out[f"{profile.DEMO_DIR}/{domain.name}.yml"] = profile.rule_file(domain, config, DOMAINS)
        for alert in domain.alerts:
            out[f"{render.RUNBOOKS_DIR}/{alert.name}.md"] = render.runbook(
                alert, domain, mine, config
            )
    out["docs/alerts.md"] = render.detection_table(DOMAINS, cases, config)
    out.update(alertmanager.artefacts(DOMAINS, config))
    return out


__all__ = ["CASES", "DOMAINS", "all_alerts", "artefacts", "catches", "load"]
