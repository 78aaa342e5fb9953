"""The recorder: what it writes is what Prometheus would have scraped (the fast path reads
what collect() gives, the file loads into TSDB blocks with promtool), a run with it writes
the same database as without, and bad use is a one-line error."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import create_engine

from igaming.traffic.run import RunResult, run_accelerated
from igaming.traffic.scenario import load
from igaming.traffic.truth import db_dump
from pitwatch.backtest.model import RECORDING_FILE, SAMPLES_FILE, Recording
from pitwatch.backtest.record import (
    DEFAULT_INSTANCES,
    PLATFORM_JOB,
    STATE_JOB,
    Recorder,
    RecordError,
)
from pitwatch.compose import simulation_settings

T0 = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(seconds=30)
Series = dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]]
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def read_om(path: Path) -> Series:
    """Our OpenMetrics file as series -> [(timestamp, value)]; checks the file's shape."""
    out: Series = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[-1] == "# EOF"
    typed: set[str] = set()
    for line in lines[:-1]:
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, f"family {name} is not contiguous"
            typed.add(name)
            continue
        head, value, stamp = line.rsplit(" ", 2)
        name, _, labels = head.partition("{")
        assert name in typed, line
        key = (name, tuple(sorted(_LABEL.findall(labels))))
        out.setdefault(key, []).append((float(stamp), float(value)))
    return out


def read_dump(text: str) -> Series:
    """``promtool tsdb dump`` output in the same shape (milliseconds back to seconds)."""
    out: Series = {}
    for line in text.splitlines():
        labels, _, rest = line.rpartition("} ")
        value, stamp = rest.split()
        pairs = dict(_LABEL.findall(labels))
        name = pairs.pop("__name__")
        key = (name, tuple(sorted(pairs.items())))
        out.setdefault(key, []).append((int(stamp) / 1000, float(value)))
    return out


# -- on registries of our own -----------------------------------------------------------------


class Flicker(Collector):
    """A custom collector whose one series is there only when ``shown``."""

    def __init__(self) -> None:
        self.shown = True
        self.value = 3.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("t_flicker", "h", labels=["job"])
        if self.shown:
            family.add_metric(["theirs"], self.value)  # a clashing label: exported_job
        yield family


@dataclass
class Own:
    registry: CollectorRegistry
    events: Counter
    level: Gauge
    latency: Histogram
    flicker: Flicker


def own() -> Own:
    registry = CollectorRegistry()
    events = Counter("t_events", "h", ["kind"], registry=registry)
    level = Gauge("t_level", "h", registry=registry)
    latency = Histogram("t_seconds", "h", ["op"], buckets=(0.1, 1.0), registry=registry)
    Info("t_build", "h", registry=registry).info({"version": "1.2"})
    computed = Gauge("t_computed", "h", registry=registry)
    computed.set_function(lambda: 7.0)  # not a plain value: read through collect()
    flicker = Flicker()
    registry.register(flicker)
    return Own(registry, events, level, latency, flicker)


def test_the_fast_path_reads_exactly_what_collect_gives():
    o = own()
    recorder = Recorder()
    recorder.watch({PLATFORM_JOB: o.registry})
    recorder.look(T0)
    assert recorder.latest(PLATFORM_JOB) == recorder.live(PLATFORM_JOB)
    o.events.labels("a").inc(2)
    o.level.set(-4.5)
    o.latency.labels("read").observe(0.05)
    o.latency.labels("read").observe(0.5)
    o.latency.labels("write").observe(5)  # new children between looks
    recorder.look(T0 + STEP)
    latest = recorder.latest(PLATFORM_JOB)
    assert latest == recorder.live(PLATFORM_JOB)
    target = (("instance", DEFAULT_INSTANCES[PLATFORM_JOB]), ("job", PLATFORM_JOB))
    assert latest["t_seconds_bucket", (*target, ("le", "1.0"), ("op", "read"))] == 2
    assert latest["t_seconds_count", (*target, ("op", "write"))] == 1
    assert latest["t_computed", target] == 7.0
    assert latest["t_flicker", (("exported_job", "theirs"), *target)] == 3.0
    assert latest["up", target] == 1.0
    assert not any(name.endswith("_created") for name, _ in latest)


def test_the_file_holds_every_scrape_and_leaves_out_what_stayed_zero(tmp_path: Path):
    o = own()
    o.events.labels("zero")  # a child that stays 0: left out
    o.latency.labels("idle")  # a histogram child never observed: left out whole
    recorder = Recorder()
    recorder.watch({PLATFORM_JOB: o.registry})
    for i in range(4):
        o.events.labels("busy").inc(i)
        if i == 1:
            o.latency.labels("read").observe(0.5)  # the 0.1 bucket stays 0: kept with it
        o.flicker.shown = i != 2  # gone at the third look, back at the fourth
        recorder.look(T0 + i * STEP)
    recording = recorder.finish(tmp_path)

    series = read_om(tmp_path / SAMPLES_FILE)
    stamps = [(T0 + i * STEP).timestamp() for i in range(4)]
    by_name = {}
    for (name, pairs), points in series.items():
        labels = dict(pairs)
        by_name[name, labels.get("kind") or labels.get("op"), labels.get("le")] = points
    assert by_name["t_events_total", "busy", None] == list(zip(stamps, [0, 1, 3, 6], strict=True))
    assert ("t_events_total", "zero", None) not in by_name
    assert not any(op == "idle" for _, op, _ in by_name)
    # A series is scraped from the look at which its child exists.
    assert by_name["t_seconds_bucket", "read", "0.1"] == [(t, 0) for t in stamps[1:]]
    assert by_name["t_seconds_bucket", "read", "1.0"] == [(t, 1) for t in stamps[1:]]
    assert [t for t, _ in by_name["t_flicker", None, None]] == [stamps[0], stamps[1], stamps[3]]
    assert [v for _, v in by_name["up", None, None]] == [1, 1, 1, 1]
    assert ("t_level", None, None) not in by_name  # a gauge at 0 all run
    assert recording.series == len(series)
    assert recording.samples == sum(len(p) for p in series.values())
    assert recording.dropped_series == 1 + 1 + 5  # events{zero}, level, idle's 3 buckets + 2
    assert recording.start == T0 and recording.end == T0 + 3 * STEP
    assert recording.scrape_seconds == {PLATFORM_JOB: 30.0}
    assert Recording.read(tmp_path) == recording


def test_keep_and_keep_zero_write_series_that_stayed_zero(tmp_path: Path):
    for keep, keep_zero, expected in (({"t_level"}, False, 1), ((), True, 1), ((), False, 0)):
        o = own()
        recorder = Recorder(keep=keep, keep_zero=keep_zero)
        recorder.watch({PLATFORM_JOB: o.registry})
        recorder.look(T0)
        recorder.finish(tmp_path)
        names = [name for name, _ in read_om(tmp_path / SAMPLES_FILE)]
        assert names.count("t_level") == expected, (keep, keep_zero)


def test_the_state_job_is_scraped_at_its_own_interval(tmp_path: Path):
    platform, state = own(), CollectorRegistry()
    Gauge("t_state", "h", registry=state).set(2)
    recorder = Recorder(scrape={STATE_JOB: timedelta(minutes=2)})
    recorder.watch({PLATFORM_JOB: platform.registry, STATE_JOB: state})
    for i in range(9):
        recorder.look(T0 + i * STEP)
    recording = recorder.finish(tmp_path)
    series = read_om(tmp_path / SAMPLES_FILE)
    up = {dict(labels)["job"]: [t for t, _ in points]
          for (name, labels), points in series.items() if name == "up"}  # fmt: skip
    assert up[PLATFORM_JOB] == [(T0 + i * STEP).timestamp() for i in range(9)]
    assert up[STATE_JOB] == [(T0 + i * 4 * STEP).timestamp() for i in range(3)]
    (state_key,) = [k for k in series if k[0] == "t_state"]
    assert dict(state_key[1])["instance"] == DEFAULT_INSTANCES[STATE_JOB]
    assert recording.scrape_seconds == {PLATFORM_JOB: 30.0, STATE_JOB: 120.0}


@pytest.mark.parametrize(
    ("scrape", "message"),
    [
        ({"prometheus": STEP}, "unknown job 'prometheus'"),
        ({STATE_JOB: timedelta(seconds=45)}, "must be a multiple"),
        ({PLATFORM_JOB: timedelta(0)}, "must be positive"),
    ],
)
def test_bad_scrape_intervals_are_one_line_errors(scrape, message):
    with pytest.raises(RecordError, match=message) as error:
        Recorder(scrape=scrape)
    assert "\n" not in str(error.value)


def test_bad_use_is_a_one_line_error(tmp_path: Path):
    recorder = Recorder()
    with pytest.raises(RecordError, match="attach it"):
        recorder.look(T0)
    with pytest.raises(RecordError, match="never looked"):
        recorder.finish(tmp_path)
    recorder.watch({PLATFORM_JOB: own().registry})
    recorder.look(T0)
    with pytest.raises(RecordError, match="move forward"):
        recorder.look(T0 - STEP)
    with pytest.raises(RecordError, match="already"):
        recorder.watch({PLATFORM_JOB: own().registry})


# -- on a simulated run -----------------------------------------------------------------------

SCENARIO = "psp-outage-de"
DURATION = timedelta(minutes=30)
WARMUP = timedelta(minutes=20)
SCALE = 0.1


def simulate(tmp: Path, recorder: Recorder | None) -> RunResult:
    return run_accelerated(
        load(SCENARIO),
        f"sqlite:///{tmp}/db.sqlite",
        settings_for=simulation_settings,
        duration=DURATION,
        scale=SCALE,
        warmup=WARMUP,
        observer=recorder,
    )


@dataclass
class Recorded:
    recorder: Recorder
    result: RunResult
    dir: Path


@pytest.fixture(scope="module")  # one run (5-8 s) for the tests below
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    tmp = tmp_path_factory.mktemp("recorded")
    recorder = Recorder()
    result = simulate(tmp, recorder)
    return Recorded(recorder, result, tmp)


def test_the_recorded_counters_are_the_live_registrys_at_the_end_of_a_run(recorded: Recorded):
    recorder = recorded.recorder
    looks = recorder.stats()[PLATFORM_JOB]["looks"]
    # Every 30 s of simulated time from the warm-up's start, through the drain after the end.
    assert looks >= (DURATION + WARMUP) / STEP
    # What landed after the last look (the drain's last seconds) is seen by one more look.
    assert recorder.next_look is not None
    recorder.look(recorder.next_look)
    latest, live = recorder.latest(PLATFORM_JOB), recorder.live(PLATFORM_JOB)
    counters = {k: v for k, v in live.items()
                if k[0].endswith(("_total", "_bucket", "_count", "_sum"))}  # fmt: skip
    assert len(counters) > 1000
    assert sum(1 for v in counters.values() if v) > 100  # a run with traffic in it
    assert {k: latest.get(k) for k in counters} == counters
    assert latest == live  # the gauges too: the fast path reads what collect() gives
    deploy = [v for (name, _), v in latest.items() if name == "igaming_deploy_timestamp_seconds"]
    assert deploy == [(recorded.result.start - WARMUP).timestamp()]  # simulated, not wall
    state = recorder.latest(STATE_JOB)
    assert any(name.startswith("pitwatch_") for name, _ in state)
    assert state.keys() == recorder.live(STATE_JOB).keys()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_loads_the_recording_sample_for_sample(recorded: Recorded, tmp_path: Path):
    recording = recorded.recorder.finish(tmp_path / "run")
    written = read_om(tmp_path / "run" / SAMPLES_FILE)
    assert recording.series == len(written) and recording.samples > 10 * recording.series
    assert recording.dropped_series > 0
    blocks = tmp_path / "blocks"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics",
         str(tmp_path / "run" / SAMPLES_FILE), str(blocks)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (blocks / "wal").mkdir(exist_ok=True)  # dump reads a WAL, even an empty one
    dump = subprocess.run(
        ["promtool", "tsdb", "dump", str(blocks)],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert read_dump(dump.stdout) == written
    jobs = {dict(labels)["job"] for name, labels in written if name == "up"}
    assert jobs == {PLATFORM_JOB, STATE_JOB}
    assert (tmp_path / "run" / RECORDING_FILE).exists()


@pytest.mark.slow
def test_a_run_with_the_recorder_writes_the_same_database(recorded: Recorded, tmp_path: Path):
    plain = simulate(tmp_path, None)
    assert plain.tally.as_dict() == recorded.result.tally.as_dict()
    dumps = []
    for directory in (recorded.dir, tmp_path):
        engine = create_engine(f"sqlite:///{directory}/db.sqlite")
        dumps.append(db_dump(engine))
        engine.dispose()
    assert dumps[0]["ledger_entries"] and dumps[0]["deposits"]
    assert dumps[0] == dumps[1]
