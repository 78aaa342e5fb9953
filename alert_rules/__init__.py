"""Alert rules as code: Prometheus recording and alerting rules, promtool tests, runbooks,
the detection table and the Alertmanager configuration, all rendered from the Python
declarations in ``alert_rules.domains`` and their promtool cases in ``alert_rules.cases`` by
``pitwatch generate``; and the same rules in the demo profile (``alert_rules.profile``:
shorter windows, ``alert_rules/demo/``)."""

from __future__ import annotations

from collections.abc import Iterable

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
from alert_rules.model import Alert, Case, Catch, Domain

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


# The domains that belong to an optional product (ground.contract.PRODUCTS): an operator
# without it gets none of their rules, tests, runbooks or routes. The others are core.
PRODUCT_DOMAINS = ("sportsbook", "casino", "affiliates", "kyc")


def domains_for(products: Iterable[str]) -> tuple[Domain, ...]:
    """The domains an operator with these products gets (docs/operator-config.md)."""
    have = set(products)
    return tuple(d for d in DOMAINS if d.name not in PRODUCT_DOMAINS or d.name in have)


def operator_domains() -> tuple[Domain, ...]:
    """The domains of the operator in force (ground.vocabulary.OPERATOR)."""
    from ground.vocabulary import PRODUCTS

    return domains_for(PRODUCTS)


def _in_force(case: Case, config: RulesConfig) -> bool:
    if case.requires_override is None:
        return True
    alert, label, value = case.requires_override
    return any(o.label == label and o.value == value for o in config.overrides_for(alert))


def artefacts(
    config: RulesConfig | None = None, domains: tuple[Domain, ...] | None = None
) -> dict[str, str]:
    """Every generated file of the alerting suite: repository path -> content.
    ``domains``: default, those of the operator in force (its products)."""
    from alert_rules import alertmanager, profile, render

    config = config or load()
    domains = operator_domains() if domains is None else domains
    known = {a.name for a in all_alerts()}  # an override of a product not had: ignored
    for o in config.overrides:
        if o.alert not in known:
            raise ConfigError(f'{config.source}: {o.key}.alert: unknown alert "{o.alert}"')
    cases = {d.name: tuple(c for c in CASES[d.name]() if _in_force(c, config)) for d in domains}
    out: dict[str, str] = {}
    for domain in domains:
        mine = cases[domain.name]
        out[f"{render.RULES_DIR}/{domain.name}.yml"] = render.rule_file(domain, config)
        out[f"{render.TESTS_DIR}/{domain.name}.yml"] = render.test_file(
            domain, mine, domains, config
        )
        out[f"{profile.DEMO_DIR}/{domain.name}.yml"] = profile.rule_file(domain, config, domains)
        for alert in domain.alerts:
            out[f"{render.RUNBOOKS_DIR}/{alert.name}.md"] = render.runbook(
                alert, domain, mine, config
            )
    out["docs/alerts.md"] = render.detection_table(domains, cases, config)
    out.update(alertmanager.artefacts(domains, config))
    return out


__all__ = [
    "CASES",
    "DOMAINS",
    "all_alerts",
    "artefacts",
    "catches",
    "domains_for",
    "load",
    "operator_domains",
]
