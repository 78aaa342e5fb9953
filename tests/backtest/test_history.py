"""An operator's history through their query API: raw samples back as written, read-only
requests, throttled and retried, bad answers as one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pitwatch.backtest.history import PrometheusReader, Throttle, fetch_history
from pitwatch.backtest.model import SAMPLES_FILE, BacktestError, Recording
from pitwatch.backtest.openmetrics import OpenMetricsWriter
from tests.backtest.backtest_helpers import read_openmetrics, require_prometheus

START = datetime(2026, 11, 2, tzinfo=UTC)


def _write_history(path: Path, hours: float) -> dict:
    """Two counter series and up, every 15 s, as a server would hold them."""
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    steps = int(hours * 240)
    for psp, slope in (("paybridge", 2.0), ("nordpay", 0.5)):
        labels: tuple[tuple[str, str], ...] = (
            ("__name__", "igaming_deposit_outcomes_total"),
            ("job", "igaming-platform"),
            ("outcome", "approved"),
            ("psp", psp),
        )
        series[labels] = [(START.timestamp() + 15 * i, slope * i) for i in range(steps + 1)]
    up: tuple[tuple[str, str], ...] = (
        ("__name__", "up"),
        ("instance", "a:1"),
        ("job", "igaming-platform"),
    )
    series[up] = [(START.timestamp() + 15 * i, 1.0) for i in range(steps + 1)]
    with OpenMetricsWriter(path) as writer:
        for key in sorted(series):
            writer.series(key, series[key])
    return series


def test_raw_samples_come_back_as_the_server_holds_them(tmp_path):
    require_prometheus()
    from pitwatch.backtest.prom import LocalPrometheus, create_blocks

    written = _write_history(tmp_path / "server.om", hours=3)
    create_blocks(tmp_path / "server.om", tmp_path / "data")
    with LocalPrometheus(tmp_path / "data", tmp_path) as prom:
        recording = fetch_history(
            prom.url,
            ["igaming_deposit_outcomes_total", "up", "igaming_never_written_total"],
            START,
            START + timedelta(hours=2),
            tmp_path / "fetched",
            chunk=timedelta(minutes=25),  # chunks that do not divide the period
            max_rps=1000,
        )
    got = read_openmetrics(tmp_path / "fetched" / SAMPLES_FILE)
    end = (START + timedelta(hours=2)).timestamp()
    want = {
        labels: [(t, v) for t, v in points if START.timestamp() <= t <= end]
        for labels, points in written.items()
    }
    assert got == want  # every sample once, none outside [from, to], values exact
    assert recording.series == 3 and recording.samples == sum(map(len, want.values()))
    again = Recording.read(tmp_path / "fetched")
    assert again.source == recording.source and again.start == START


def test_the_throttle_keeps_the_gap_between_requests():
    slept: list[float] = []
    throttle = Throttle(4.0, sleep=slept.append)
    throttle.wait()
    throttle.wait()
    assert slept and 0.2 < slept[0] <= 0.25


def _reader(handler, **kwargs) -> PrometheusReader:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return PrometheusReader("http://prom.example", client=client, sleep=lambda s: None, **kwargs)


def test_a_5xx_is_retried_and_only_get_requests_are_made():
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503, text="overloaded")
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": []}}
        )

    reader = _reader(handler, max_rps=1000)
    assert reader.raw("up", START, timedelta(hours=1)) == []
    assert len(calls) == 3 and {c.method for c in calls} == {"GET"}
    assert calls[-1].url.params["query"] == '{__name__="up"}[3600s]'


@pytest.mark.parametrize(
    "response, words",
    [
        (httpx.Response(503, text="x"), "answered 503"),
        (httpx.Response(400, json={"status": "error", "error": "parse error"}), "parse error"),
        (httpx.Response(200, text="<html>"), "not a Prometheus query API"),
    ],
)
def test_a_bad_answer_is_one_line(response, words):
    reader = _reader(lambda request: response, max_rps=1000, retries=1)
    with pytest.raises(BacktestError) as error:
        reader.raw("up", START, timedelta(hours=1))
    assert words in str(error.value) and "\n" not in str(error.value)
