"""PromQL for the panels: metric names always from the catalog, and the few shapes of
query the dashboards repeat (rates, sums by label, quantiles, ratios)."""

from __future__ import annotations

from collectors.catalog import BY_NAME
from collectors.catalog.exporters import BY_NAME as EXPORTER_BY_NAME

RATE = "$__rate_interval"

# -- metric names: always from the catalog --------------------------------------------------


def m(name: str) -> str:
    """The name Prometheus sees for a catalog metric (``_total`` on counters)."""
    metric = BY_NAME[name]
    if metric.type == "histogram":
        raise ValueError(f"{name} is a histogram: use hist()")
    return metric.exposed_name


def x(name: str) -> str:
    """A third-party exporter's series the catalog declares (node_*, pg_*)."""
    return EXPORTER_BY_NAME[name].name


def hist(name: str) -> str:
    """A histogram's base name (``_bucket``/``_count``/``_sum`` are added by the helpers)."""
    metric = BY_NAME[name]
    if metric.type != "histogram":
        raise ValueError(f"{name} is a {metric.type}, not a histogram")
    return metric.name


# -- PromQL helpers -------------------------------------------------------------------------


def var(label: str) -> str:
    """The matcher of a multi-value template variable named after its label."""
    return f'{label}=~"${label}"'


def sel(metric: str, *matchers: str) -> str:
    used = [x for x in matchers if x]
    return f"{metric}{{{', '.join(used)}}}" if used else metric


def rate(metric: str, *matchers: str, window: str = RATE) -> str:
    return f"rate({sel(metric, *matchers)}[{window}])"


def increase(metric: str, *matchers: str, window: str = "$__range") -> str:
    return f"increase({sel(metric, *matchers)}[{window}])"


def sum_by(by: str, inner: str) -> str:
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def quantile(q: float, histogram: str, by: str, *matchers: str, window: str = RATE) -> str:
    group = f"{by}, le" if by else "le"
    buckets = rate(histogram + "_bucket", *matchers, window=window)
    return f"histogram_quantile({q}, sum by ({group}) ({buckets}))"


def ratio(numerator: str, denominator: str) -> str:
    """A ratio that is empty, not NaN or +Inf, while the denominator is zero."""
    return f"{numerator}\n/\n({denominator} > 0)"


DEPLOY_EXPR = (
    f"max by (version) ({m('igaming_deploy_timestamp_seconds')} "
    f"* on(job, instance) group_left(version) {m('igaming_build')}) * 1000"
)
