"""Input series for promtool tests, built from traffic profiles instead of typed by hand.

Every builder returns promtool's expanding notation for a series scraped once a minute
from minute 0: ``counter((60, 10), (30, 2))`` is a counter growing 10 a minute for an hour,
then 2 a minute for half an hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alert_rules.model import Series
from collectors.catalog.base import Metric


def _num(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))  # exact: promtool parses it back to the same double


def counter(*segments: tuple[int, float], start: float = 0) -> str:
    """A counter: ``start`` at minute 0, then each segment adds ``per_minute`` for
    ``minutes`` samples. promtool expands ``a+bxn`` by adding ``b`` n times, so the value
    carried into the next segment is computed the same way (a fraction such as 0.2 would
    otherwise drift and read as a counter reset)."""
    terms = []
    value = start
    first = True
    for minutes, per_minute in segments:
        if minutes <= 0:
            continue
        if first:
            terms.append(f"{_num(value)}+{_num(per_minute)}x{minutes}")
            steps = minutes
            first = False
        else:
            value += per_minute
            terms.append(f"{_num(value)}+{_num(per_minute)}x{minutes - 1}")
            steps = minutes - 1
        for _ in range(steps):
            value += per_minute
    return " ".join(terms) if terms else _num(start)


def every(minutes: int, period: int, *, offset: int = 0) -> list[float]:
    """The per-minute increments of one event every ``period`` minutes."""
    return [1.0 if (i - offset) % period == period - 1 else 0.0 for i in range(minutes)]


def counter_from(increments: Iterable[float], start: float = 0) -> str:
    """A counter from explicit per-minute increments (runs are compressed)."""
    runs: list[tuple[int, float]] = []
    for inc in increments:
        if runs and runs[-1][1] == inc:
            runs[-1] = (runs[-1][0] + 1, inc)
        else:
            runs.append((1, inc))
    return counter(*runs, start=start)


def gauge_from(per_minute: Sequence[float]) -> str:
    """A gauge from its value at each minute (arithmetic runs compressed)."""
    terms, i, n = [], 0, len(per_minute)
    while i < n:
        j, step = i, (per_minute[i + 1] - per_minute[i]) if i + 1 < n else 0
        while j + 1 < n and per_minute[j + 1] - per_minute[j] == step:
            j += 1
        if j == i:
            terms.append(_num(per_minute[i]))
        else:
            sign = "+" if step >= 0 else "-"
            terms.append(f"{_num(per_minute[i])}{sign}{_num(abs(step))}x{j - i}")
        i = j + 1
    return " ".join(terms)


def gauge(*segments: tuple[int, float | None]) -> str:
    """A gauge: each segment holds ``value`` for ``minutes`` samples (None: no sample).
    The first segment includes minute 0."""
    terms = []
    first = True
    for minutes, value in segments:
        n = minutes if first else minutes - 1
        if value is None:
            terms.append(f"_x{n + 1}" if n + 1 > 1 else "_")
        else:
            terms.append(f"{_num(value)}+0x{n}")
        first = False
    return " ".join(terms)


def stale_after(values: str) -> str:
    """Mark the series stale after its last sample (the target stopped exporting it)."""
    return values + " stale"


def labels(metric: str, **kv: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in kv.items())
    return f"{metric}{{{inner}}}" if inner else metric


def series(metric: str, values: str, **kv: str) -> Series:
    return Series(labels(metric, **kv), values)


def histogram(
    metric: str,
    buckets: Iterable[float],
    segments: Iterable[tuple[int, float, float]],
    **kv: str,
) -> list[Series]:
    """A histogram whose observations each minute all take one value: segments are
    (minutes, observations per minute, observed value)."""
    segs = list(segments)
    out = []
    for le in [*buckets, float("inf")]:
        le_label = "+Inf" if le == float("inf") else _le(le)
        per = [(m, n if v <= le else 0.0) for m, n, v in segs]
        out.append(series(metric + "_bucket", counter(*per), **kv, le=le_label))
    out.append(series(metric + "_count", counter(*[(m, n) for m, n, _ in segs]), **kv))
    out.append(series(metric + "_sum", counter(*[(m, n * v) for m, n, v in segs]), **kv))
    return out


def histogram_from(
    metric: Metric, streams: Sequence[tuple[Sequence[float], float]], **kv: str
) -> list[Series]:
    """A histogram from streams of per-minute observation counts, each stream observing
    one value: [(counts per minute, value), ...]."""
    n = len(streams[0][0])
    out = []
    for le in [*(metric.buckets or ()), float("inf")]:
        incs = [sum(s[i] for s, v in streams if v <= le) for i in range(n)]
        le_label = "+Inf" if le == float("inf") else _le(le)
        out.append(series(metric.name + "_bucket", counter_from(incs), **kv, le=le_label))
    count = [sum(s[i] for s, _ in streams) for i in range(n)]
    total = [sum(s[i] * v for s, v in streams) for i in range(n)]
    out.append(series(metric.name + "_count", counter_from(count), **kv))
    out.append(series(metric.name + "_sum", counter_from(total), **kv))
    return out


def _le(le: float) -> str:
    # client_python renders bucket bounds with repr of the float: 1.0, 0.5, 300.0
    return repr(float(le))


def merge(*groups: Iterable[Series] | Series) -> tuple[Series, ...]:
    out: list[Series] = []
    for g in groups:
        if isinstance(g, Series):
            out.append(g)
        else:
            out.extend(g)
    return tuple(out)


def with_labels(base: Mapping[str, str], **more: str) -> dict[str, str]:
    return {**base, **more}


def quantile_in_bucket(buckets: Iterable[float], value: float, q: float) -> float:
    """What histogram_quantile(q) returns when every observation took ``value``: linear
    interpolation inside the bucket that holds it (the +Inf bucket: the highest finite
    bound)."""
    return histogram_quantile_over(q, buckets, {value: 1.0}, 1.0)


def histogram_quantile_over(
    q: float, buckets: Iterable[float], observed: Mapping[float, float], seconds: float
) -> float:
    """What ``histogram_quantile(q, rate(..._bucket[window]))`` returns over a window of
    ``seconds`` that saw ``observed`` (value -> how many observations), float for float:
    Prometheus' bucketQuantile on the per-second rates, so that an expected description
    renders the same seconds (``1740`` is ``1739.99...`` there, 28m 59s)."""
    bounds = [*buckets, float("inf")]
    rates = [sum(n for v, n in observed.items() if v <= le) / seconds for le in bounds]
    rank = q * rates[-1]
    b = next(i for i, r in enumerate(rates) if r >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    start, count = (0.0, rates[0]) if b == 0 else (bounds[b - 1], rates[b] - rates[b - 1])
    if b > 0:
        rank -= rates[b - 1]
    return start + (bounds[b] - start) * (rank / count)


def deploy(metric: str, before: str, after: str, at: int, total: int) -> list[Series]:
    """The build info series of a deploy at minute ``at``: ``before`` runs until then (its
    series goes stale, as a scrape of the new process makes it), ``after`` from then on."""
    return [
        series(metric, f"1+0x{at - 1} stale _x{max(total - at - 1, 0)}", version=before),
        series(metric, f"_x{at} 1+0x{total - at}", version=after),
    ]
