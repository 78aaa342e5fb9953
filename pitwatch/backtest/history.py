"""An operator's own history, fetched from their Prometheus-compatible query API.

Read-only: only ``GET /api/v1/query`` with a range selector (``{__name__="x"}[1h]`` at
``time``), which returns the raw samples of that hour, as scraped, for every series of one
metric. One metric at a time, one chunk at a time, at most ``max_rps`` requests a second,
retried with back-off on 429 and 5xx. The samples go into the same OpenMetrics file a
simulation's recording writes, so that the rest of the backtest (blocks, Prometheus,
scoring) is one path. Prometheus, VictoriaMetrics, Thanos and Mimir answer this query.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pitwatch.backtest.model import SAMPLES_FILE, BacktestError, Recording
from pitwatch.backtest.openmetrics import OpenMetricsWriter

Labels = tuple[tuple[str, str], ...]


class Throttle:
    """At most ``rate`` calls a second (a minimum gap between calls)."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.sleep = sleep
        self._last = -math.inf

    def wait(self) -> None:
        now = time.monotonic()
        if now - self._last < self.gap:
            self.sleep(self.gap - (now - self._last))
        self._last = time.monotonic()


class PrometheusReader:
    """A read-only client of a Prometheus-compatible query API."""

    def __init__(
        self,
        url: str,
        *,
        max_rps: float = 5.0,
        timeout: float = 30.0,
        retries: int = 3,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise BacktestError(f"--prometheus {url!r}: give an http(s) URL")
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)
        self.throttle = Throttle(max_rps, sleep)
        self.retries = retries
        self.sleep = sleep
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, params: dict[str, str], retries: int | None = None) -> Any:
        retries = self.retries if retries is None else retries
        delay = 1.0
        for attempt in range(retries + 1):
            self.throttle.wait()
            self.requests += 1
            try:
                response = self.client.get(f"{self.url}{path}", params=params)
            except httpx.HTTPError as exc:
                if attempt == retries:
                    raise BacktestError(
                        f"cannot reach Prometheus at {self.url}: {type(exc).__name__}: {exc}"
                    ) from None
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    if attempt == retries:
                        raise BacktestError(
                            f"Prometheus at {self.url} answered {response.status_code} "
                            f"to {params.get('query', path)!r} {retries + 1} times"
                        )
                else:
                    return self._data(response, params)
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _data(self, response: httpx.Response, params: dict[str, str]) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise BacktestError(
                f"{self.url} is not a Prometheus query API (HTTP {response.status_code}, not JSON)"
            ) from None
        if response.status_code >= 400 or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise BacktestError(
                f"Prometheus at {self.url} refused {params.get('query')!r}: "
                f"{error or response.status_code}"
            )
        return body.get("data")

    def check(self) -> str:
        """The server's version (or "unknown"), failing at once on a wrong URL."""
        try:
            data = self._get("/api/v1/status/buildinfo", {}, retries=0)
            return str(data.get("version", "unknown"))
        except BacktestError as exc:
            if "cannot reach" in str(exc):
                raise
            self._get("/api/v1/query", {"query": "1"})  # not every API has buildinfo
            return "unknown"

    def raw(self, name: str, at: datetime, window: timedelta) -> list[tuple[Labels, list]]:
        """The raw samples of every series of ``name`` in [at - window, at] (Prometheus 2;
        (at - window, at] from Prometheus 3 on)."""
        query = f'{{__name__="{name}"}}[{int(window.total_seconds())}s]'
        data = self._get("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BacktestError(f"{self.url}: {query} did not return a range vector")
        out = []
        for series in data.get("result", []):
            labels = tuple(sorted((str(k), str(v)) for k, v in series["metric"].items()))
            out.append((labels, series.get("values", [])))
        return out


def fetch_history(
    url: str,
    names: Iterable[str],
    start: datetime,
    end: datetime,
    out_dir: Path,
    *,
    chunk: timedelta = timedelta(hours=1),
    max_rps: float = 5.0,
    progress: Callable[[str], None] | None = None,
    reader: PrometheusReader | None = None,
) -> Recording:
    """Fetch the raw samples of ``names`` between ``start`` and ``end`` into
    ``out_dir/metrics.om`` and describe them in ``recording.json``."""
    if end <= start:
        raise BacktestError("--to must be after --from")
    names = sorted(set(names))
    reader = reader or PrometheusReader(url, max_rps=max_rps)
    version = reader.check()
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = max(1, math.ceil((end - start) / chunk))
    series_count = samples = 0
    with OpenMetricsWriter(out_dir / SAMPLES_FILE) as writer:
        for i, name in enumerate(names, 1):
            per_series: dict[Labels, list[tuple[float, float]]] = {}
            for c in range(chunks):
                at = min(start + chunk * (c + 1), end)
                window = at - (start + chunk * c)
                for labels, values in reader.raw(name, at, window):
                    bucket = per_series.setdefault(labels, [])
                    # A range selector's window is closed at both ends (Prometheus 2): a
                    # sample on a chunk's edge comes twice.
                    last = bucket[-1][0] if bucket else -math.inf
                    for t, v in values:
                        if float(t) > last:
                            bucket.append((float(t), float(v)))
            for labels, points in per_series.items():
                writer.series(labels, points)
                samples += len(points)
            series_count += len(per_series)
            if progress is not None:
                progress(
                    f"fetched {i}/{len(names)} {name}: {len(per_series)} series "
                    f"({reader.requests} requests so far)"
                )
    recording = Recording(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        scrape_seconds={},
        source=url,
        series=series_count,
        samples=samples,
        measured_from=start.astimezone(UTC),
        extra={"prometheus_version": version, "metrics": names, "requests": reader.requests},
    )
    recording.write(out_dir)
    return recording
