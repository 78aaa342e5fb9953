"""Static checks of the declarations, run by the tests (and handy while writing rules):
every metric a rule reads is in the catalog or recorded by a rule; every alert has the
promtool cases its promise needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import promql_parser

from alert_rules.config import RulesConfig
from alert_rules.model import Case, Domain, Fires, Silent, seconds
from alert_rules.render import alert_expression
from collectors.catalog import EXPORTER_METRICS, METRICS

# Series Prometheus itself writes for every target.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


def exported_series() -> set[str]:
    """Every series name the catalog's metrics expose, and the third-party exporters'
    series it declares (node_exporter, postgres_exporter)."""
    names: set[str] = {m.exposed_name for m in EXPORTER_METRICS}
    for m in METRICS:
        if m.type == "histogram":
            names |= {f"{m.name}_bucket", f"{m.name}_count", f"{m.name}_sum"}
        else:
            names.add(m.exposed_name)
    return names


def _walk(node: object) -> Iterator[object]:
    yield node
    for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)
    for child in getattr(node, "args", None) or ():
        yield from _walk(child)


def referenced_metrics(expr: str) -> set[str]:
    """Metric names a PromQL expression selects."""
    names = set()
    for node in _walk(promql_parser.parse(expr)):
        if type(node).__name__ == "VectorSelector":
            name = getattr(node, "name", None)
            if name:
                names.add(name)
    return names


def expressions(domain: Domain, config: RulesConfig) -> Iterator[tuple[str, str]]:
    """(rule name, expression) of every rule of the domain."""
    for r in domain.recordings:
        yield r.record, r.expr
    for a in domain.alerts:
        for instance in a.instances:
            yield a.name, alert_expression(a, instance, config)


def unknown_metrics(domains: Iterable[Domain], config: RulesConfig) -> dict[str, set[str]]:
    """Rule -> metric names it reads that nobody exports or records."""
    domains = tuple(domains)
    known = exported_series() | PROMETHEUS_SERIES
    known |= {r.record for d in domains for r in d.recordings}
    out: dict[str, set[str]] = {}
    for d in domains:
        for name, expr in expressions(d, config):
            missing = referenced_metrics(expr) - known
            if missing:
                out[name] = missing
    return out


def promise_problems(domain: Domain, cases: Sequence[Case]) -> list[str]:
    """What an alert's cases fail to prove: firing within the detection time on an
    incident, silence before it could fire, resolution after recovery, and silence on
    normal traffic, on a quiet night and on a 5x surge."""
    problems = []
    for alert in domain.alerts:

        def mine(case: Case, name: str = alert.name) -> list[Fires | Silent]:
            default = case.alerts[0] if len(case.alerts) == 1 else None
            return [c for c in case.checks if (c.alert or default) == name]

        incidents = [c for c in cases if c.kind == "incident" and mine(c)]
        if not incidents:
            problems.append(f"{alert.name}: no incident case")
        for case in incidents:
            checks = mine(case)
            fires = [c for c in checks if isinstance(c, Fires)]
            if case.incident_start is None or case.recovery is None or not fires:
                problems.append(f"{alert.name}: incident {case.name!r} needs start, recovery "
                                f"and a firing check")  # fmt: skip
                continue
            start, end = seconds(case.incident_start), seconds(case.recovery)
            first = min(seconds(f.at) for f in fires)
            promise = alert.detection_quiet if case.quiet else alert.detection
            if promise is None:
                problems.append(f"{alert.name}: quiet incident {case.name!r} but no "
                                f"detection_quiet promise")  # fmt: skip
            elif first - start > seconds(promise):
                problems.append(
                    f"{alert.name}: {case.name!r} first fires {first - start:.0f}s after the "
                    f"start, later than the promised {promise}"
                )
            if not any(isinstance(c, Silent) and start <= seconds(c.at) < first for c in checks):
                problems.append(f"{alert.name}: {case.name!r} shows no silence before firing")
            if not any(isinstance(c, Silent) and seconds(c.at) > end for c in checks):
                problems.append(f"{alert.name}: {case.name!r} shows no resolution after recovery")
        for kind in ("normal", "quiet_night", "surge"):
            if not any(
                c.kind == kind
                and any(isinstance(ch, Silent) for ch in mine(c))
                and not any(isinstance(ch, Fires) for ch in mine(c))
                for c in cases
            ):
                problems.append(f"{alert.name}: no {kind} case proving it silent")
    return problems
