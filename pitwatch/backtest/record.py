"""Record an accelerated simulation's metrics as Prometheus would have scraped them.

``Recorder`` is the accelerated driver's ``RunObserver``: attached to the platform, it
instruments it (the driver builds an uninstrumented one) and builds the state exporter's
registry over the same database on the simulated clock. Then it looks at both every
scrape interval of simulated time and keeps, per series, only the looks at which its value
changed. ``finish`` writes every scrape of every series (as Prometheus would hold them:
one sample per scrape, ``job``/``instance`` labels, ``up``) to OpenMetrics text with
explicit timestamps, which ``promtool tsdb create-blocks-from openmetrics`` loads.

Reading the platform's registry with ``collect()`` costs 13-20 ms a look (it builds a
Metric object per family and a Sample per series); the platform job instead reads the
client objects' values directly (``_Fast``), the way their ``_child_samples`` would, and
only custom collectors (db pool, bus failures, every state collector) go through
``collect()``. ``*_created`` samples are left out (no rule reads them).

Series that stay zero for the whole run are left out unless asked for (``keep``,
``keep_zero``); a histogram child is one unit (its buckets, count and sum are kept or left
out together: ``histogram_quantile`` needs every bucket).
"""

from __future__ import annotations

import io
import time
from array import array
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, compress
from operator import ne
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from prometheus_client.values import MutexValue, ValueClass
from sqlalchemy import create_engine

from alert_rules.config import Jobs
from collectors.catalog import platform as catalog
from collectors.instrumentation.http import Answered
from ground.ports import COLLECT_PORT, PLATFORM_METRICS_PORT
from pitwatch.backtest.model import SAMPLES_FILE, BacktestError, Recording
from pitwatch.backtest.openmetrics import escape, number

if TYPE_CHECKING:
    from igaming.bootstrap import Platform

JOBS = Jobs()
PLATFORM_JOB = JOBS.platform
STATE_JOB = JOBS.state
DEFAULT_SCRAPE: dict[str, timedelta] = {
    PLATFORM_JOB: timedelta(seconds=30),
    STATE_JOB: timedelta(seconds=60),  # SQL per scrape; its gauges move slowly
}
DEFAULT_INSTANCES: dict[str, str] = {
    PLATFORM_JOB: f"127.0.0.1:{PLATFORM_METRICS_PORT}",
    STATE_JOB: f"127.0.0.1:{COLLECT_PORT}",
}
UP = "up"
Key = tuple[str, tuple[tuple[str, str], ...]]  # sample name, sorted labels (target's included)


class RecordError(BacktestError):
    """A recorder used wrongly (bad intervals, looks out of order): one line."""


# -- one series' history ------------------------------------------------------------------


class _Store:
    """The series of one job: per series the looks at which its value changed (and the
    value), and the looks at which it appeared or went away. A look is an index into
    ``times``."""

    def __init__(self) -> None:
        self.times = array("d")  # Unix seconds of each look
        self.keys: list[Key] = []
        self.family: list[str] = []  # the metric's name (a histogram's base name)
        self.group: list[int] = []  # series kept or left out together (a histogram child)
        self.change_at: list[array[int]] = []
        self.change_to: list[array[float]] = []
        self.toggles: list[array[int]] = []  # look of appearance, of going away, ...
        self.last: list[float | None] = []  # None: absent (the next value is a change)

    def add(self, key: Key, family: str, group: int | None = None) -> int:
        slot = len(self.keys)
        self.keys.append(key)
        self.family.append(family)
        self.group.append(slot if group is None else group)
        self.change_at.append(array("I"))
        self.change_to.append(array("d"))
        self.toggles.append(array("I"))
        self.last.append(None)
        return slot

    def record(self, slots: Iterable[int], values: Iterable[float]) -> None:
        """These slots' values at the latest look (present slots only)."""
        look = len(self.times) - 1
        last = self.last
        for slot, value in zip(slots, values, strict=True):
            if last[slot] is None and not len(self.toggles[slot]) % 2:
                self.toggles[slot].append(look)  # appears (again)
            if value != last[slot]:
                self.change_at[slot].append(look)
                self.change_to[slot].append(value)
                last[slot] = value

    def gone(self, slot: int) -> None:
        """Absent from the latest look on."""
        if len(self.toggles[slot]) % 2:
            self.toggles[slot].append(len(self.times) - 1)
            self.last[slot] = None

    def zero(self, slot: int) -> bool:
        return not any(self.change_to[slot])


def _sorted_labels(labels: Iterable[tuple[str, str]], target: tuple[tuple[str, str], ...]) -> Any:
    own = dict(labels)
    for name, _ in target:  # honor_labels: false renames a clashing label
        if name in own:
            own[f"exported_{name}"] = own.pop(name)
    own.update(target)
    return tuple(sorted(own.items()))


# -- the platform registry's client objects, read directly ----------------------------------


class _Fast:
    """The Counter/Gauge/Histogram objects of a registry as a flat list of value cells,
    one per series (a histogram child: a cell per bucket, a slot for the count, the sum),
    in slots of a ``_Store``. New children (label combinations) are picked up at each look."""

    def __init__(self, store: _Store, objects: list[Collector], target: Any) -> None:
        self.store = store
        self.target = target
        self.objects = objects
        self.known: dict[int, set[tuple[str, ...]]] = {id(o): set() for o in objects}
        self.cells: list[MutexValue] = []  # each series' value holder
        self.slots: list[int] = []
        self.histograms: list[tuple[int, int]] = []  # [start, count position) in cells
        self.prev: list[float | None] = []  # the values at the previous look

    @staticmethod
    def handles(obj: Collector) -> bool:
        if type(obj) not in (Counter, Gauge, Histogram) or ValueClass is not MutexValue:
            return False  # (multiprocess mode keeps values in files)
        # Gauge.set_function replaces the samples: collect() reads those
        return "_child_samples" not in vars(obj)

    def refresh(self) -> None:
        for obj in self.objects:
            o: Any = obj
            if o._is_parent():
                children = o._metrics
                known = self.known[id(o)]
                if len(children) != len(known):
                    for values in list(children):
                        if values not in known:
                            known.add(values)
                            labels = tuple(zip(o._labelnames, values, strict=True))
                            self._add(o, labels, children[values])
            elif not self.known[id(o)]:
                self.known[id(o)].add(())
                self._add(o, (), o)

    def _add(self, parent: Any, labels: tuple[tuple[str, str], ...], child: Any) -> None:
        store, name = self.store, parent._name
        if isinstance(parent, Counter):
            key = (f"{name}_total", _sorted_labels(labels, self.target))
            self._slot(key, name, child._value)
        elif isinstance(parent, Gauge):
            self._slot((name, _sorted_labels(labels, self.target)), name, child._value)
        else:
            group = len(store.keys)
            start = len(self.cells)
            for bound, bucket in zip(child._upper_bounds, child._buckets, strict=True):
                le = floatToGoString(bound)
                key = (f"{name}_bucket", _sorted_labels((*labels, ("le", le)), self.target))
                self._slot(key, name, bucket, group)
            count = len(self.cells)
            own = _sorted_labels(labels, self.target)
            self._slot((f"{name}_count", own), name, _COUNT, group)
            self._slot((f"{name}_sum", own), name, child._sum, group)
            self.histograms.append((start, count))

    def _slot(self, key: Key, family: str, cell: MutexValue, group: int | None = None) -> None:
        self.slots.append(self.store.add(key, family, group))
        self.cells.append(cell)
        self.prev.append(None)

    def values(self) -> list[float]:
        # A MutexValue's float, read without its lock (one attribute read is atomic in
        # CPython; the simulation is one thread): a quarter of the cost of get().
        values = [cell._value for cell in self.cells]
        for start, count in self.histograms:  # cumulative buckets, count = the +Inf bucket
            values[start:count] = accumulate(values[start:count])
            values[count] = values[count - 1]
        return values

    def look(self) -> None:
        self.refresh()
        values = self.values()
        slots = self.slots
        changed = list(compress(range(len(values)), map(ne, values, self.prev)))
        self.store.record([slots[i] for i in changed], [values[i] for i in changed])
        self.prev = values  # type: ignore[assignment]


# The count's cell: its value is set from the +Inf bucket at each look.
_COUNT = MutexValue("counter", "", "", (), (), "")


# -- custom collectors, through collect() ---------------------------------------------------


class _Collected:
    """Collectors read through ``collect()``: each look's samples matched to their slots;
    a series missing from a look is absent from then on (until it comes back)."""

    def __init__(self, store: _Store, collectors: list[Collector], target: Any) -> None:
        self.store = store
        self.collectors = collectors
        self.target = target
        self.slot: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self.present: set[int] = set()
        self.groups: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    def look(self) -> None:
        slots: list[int] = []
        values: list[float] = []
        for collector in self.collectors:
            for metric in collector.collect():
                for sample in metric.samples:
                    if sample.name.endswith("_created"):
                        continue
                    labels = tuple(sorted(sample.labels.items()))
                    slot = self.slot.get((sample.name, labels))
                    if slot is None:
                        slot = self._add(metric.name, metric.type, sample.name, labels)
                    slots.append(slot)
                    values.append(float(sample.value))
        now = set(slots)
        for slot in self.present - now:
            self.store.gone(slot)
        self.present = now
        self.store.record(slots, values)

    def _add(self, family: str, kind: str, name: str, labels: tuple[tuple[str, str], ...]) -> int:
        group = None
        if kind in ("histogram", "summary"):  # one unit per child, as in _Fast
            child = (family, tuple(kv for kv in labels if kv[0] not in ("le", "quantile")))
            group = self.groups.setdefault(child, len(self.store.keys))
        slot = self.store.add((name, _sorted_labels(labels, self.target)), family, group)
        self.slot[name, labels] = slot
        return slot


# -- the recorder ---------------------------------------------------------------------------


@dataclass
class _Job:
    name: str
    interval: timedelta
    instance: str
    store: _Store = field(default_factory=_Store)
    readers: list[Any] = field(default_factory=list)  # _Fast / _Collected
    up: int = -1
    next_due: datetime | None = None
    seconds: float = 0.0  # time spent looking (wall)

    @property
    def target(self) -> tuple[tuple[str, str], ...]:
        return (("instance", self.instance), ("job", self.name))

    @property
    def looks(self) -> int:
        return len(self.store.times)


@dataclass(frozen=True)
class Written:
    """What ``finish`` wrote and how long it took (wall): for the benchmark."""

    series: int
    samples: int
    dropped_series: int
    bytes: int
    seconds: float


# The routes an accelerated run's calls stand for (igaming.traffic.accelerated): their RED
# series exist from the start, as the API's do.
ANSWERED_ROUTES = (
    ("POST", "/cashier/deposits"),
    ("POST", "/cashier/withdrawals"),
    ("POST", "/sportsbook/bets"),
)


class Recorder:
    """Records the platform's /metrics and the state exporter as Prometheus would have
    scraped them (see the module doc). ``scrape``: the interval per job name
    (``alert_rules.config.Jobs``), the state job's a multiple of the platform's, which is
    the recorder's ``interval``. ``keep``: metric names written even if zero all run (rules
    that test for presence); ``keep_zero``: write every series."""

    def __init__(
        self,
        *,
        scrape: Mapping[str, timedelta] | None = None,
        keep: Collection[str] = (),
        keep_zero: bool = False,
        instances: Mapping[str, str] | None = None,
        state_collectors: Iterable[type[Any]] | None = None,
    ) -> None:
        intervals = dict(DEFAULT_SCRAPE)
        for job, every in (scrape or {}).items():
            if job not in intervals:
                raise RecordError(
                    f"unknown job {job!r} in scrape intervals (jobs: {', '.join(intervals)})"
                )
            intervals[job] = every
        platform, state = intervals[PLATFORM_JOB], intervals[STATE_JOB]
        if platform <= timedelta(0) or state <= timedelta(0):
            raise RecordError("scrape intervals must be positive")
        if state % platform:
            raise RecordError(
                f"the state job's interval ({state.total_seconds():g}s) must be a multiple "
                f"of the platform job's ({platform.total_seconds():g}s)"
            )
        where = {**DEFAULT_INSTANCES, **(instances or {})}
        self.interval = platform
        self.jobs = {name: _Job(name, intervals[name], where[name]) for name in intervals}
        self.keep = frozenset(keep)
        self.keep_zero = keep_zero
        # Metric families (base names) left out of a job's recording, per job name: views
        # mode records the business counters from one job and leaves them out of the other.
        self.leave_out: dict[str, frozenset[str]] = {}
        self._state_collectors = state_collectors
        self.platform: Platform | None = None
        self.registries: dict[str, CollectorRegistry] = {}
        self._state_engine: Any = None
        self._last_look: datetime | None = None
        self.written: Written | None = None
        self._answered: Answered | None = None

    # -- RunObserver --------------------------------------------------------------------

    def attach(self, platform: Platform) -> None:
        """Instrument the platform and build the state exporter's registry on its clock."""
        from collectors.exporter import create_exporter
        from pitwatch.compose import attach_instrumentation
        from pitwatch.state import STATE_COLLECTORS

        if self.platform is not None:
            raise RecordError("a recorder records one run: it is attached already")
        if platform.metrics is not None:
            raise RecordError(
                "the platform is instrumented already: attach the recorder to an "
                "uninstrumented one (run_accelerated builds one)"
            )
        self.platform = platform
        metrics = attach_instrumentation(platform)
        # The platform started at the run's first instant, in simulated time.
        metrics[catalog.DEPLOY_TIMESTAMP].set(platform.clock.now().timestamp())
        self._state_engine = _state_engine(platform.engine)
        state, _app = create_exporter(
            self._state_engine or platform.engine,
            clock=platform.clock,
            collectors=tuple(self._state_collectors or STATE_COLLECTORS),
        )
        self._answered = Answered(metrics)
        for method, route in ANSWERED_ROUTES:  # as zero_init_routes does for the API's
            self._answered.duration.labels(route, method)
            for status_class in ("2xx", "4xx", "5xx"):
                self._answered.requests.labels(route, method, status_class)
        self.watch({PLATFORM_JOB: metrics.registry, STATE_JOB: state})

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """What the API would have counted for a player's call (in-process in an
        accelerated run: no HTTP middleware sees it)."""
        if self._answered is not None:
            self._answered(route, method, status, seconds)

    def watch(self, registries: Mapping[str, CollectorRegistry]) -> None:
        """Look at these registries, one per job (``attach`` passes the platform's and the
        state exporter's; tests pass their own)."""
        if self.registries:
            raise RecordError("a recorder records one run: it watches its registries already")
        unknown = set(registries) - set(self.jobs)
        if unknown:
            raise RecordError(f"unknown job(s) {', '.join(sorted(unknown))}")
        self.registries = dict(registries)
        for name, registry in self.registries.items():
            job = self.jobs[name]
            collectors = _collectors(registry)
            fast = [c for c in collectors if _Fast.handles(c)]
            rest = [c for c in collectors if not _Fast.handles(c)]
            if fast:
                job.readers.append(_Fast(job.store, fast, job.target))
            if rest:
                job.readers.append(_Collected(job.store, rest, job.target))
            job.up = job.store.add((UP, job.target), UP)

    def look(self, now: datetime) -> None:
        """Scrape every job that is due at ``now`` (the platform job at every look)."""
        if not self.registries:
            raise RecordError("the recorder looks at nothing: attach it to a platform first")
        if self._last_look is not None and now <= self._last_look:
            raise RecordError(
                f"looks must move forward: {now.isoformat()} is not after the last one"
            )
        self._last_look = now
        for job in self.jobs.values():
            if job.name not in self.registries:
                continue
            if job.next_due is not None and now < job.next_due:
                continue
            started = time.perf_counter()
            job.store.times.append(now.timestamp())
            for reader in job.readers:
                reader.look()
            job.store.record((job.up,), (1.0,))
            job.seconds += time.perf_counter() - started
            if job.next_due is None:
                job.next_due = now
            while job.next_due <= now:
                job.next_due += job.interval

    # -- reading back -------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, float]]:
        """Per job: looks, series seen, changes kept, wall seconds spent looking."""
        return {
            j.name: {
                "looks": j.looks,
                "series": len(j.store.keys),
                "changes": sum(len(a) for a in j.store.change_at),
                "seconds": j.seconds,
            }
            for j in self.jobs.values()
        }

    @property
    def next_look(self) -> datetime | None:
        """When the platform job is next due (a look there scrapes it)."""
        return self.jobs[PLATFORM_JOB].next_due

    def latest(self, job: str) -> dict[Key, float]:
        """Every series of ``job`` present at its latest look, with its value then."""
        store = self.jobs[job].store
        return {store.keys[s]: v for s, v in enumerate(store.last) if v is not None}

    def live(self, job: str) -> dict[Key, float]:
        """What ``registry.collect()`` gives now, keyed as ``latest`` (``_created`` left
        out): the check of the fast path."""
        target = self.jobs[job].target
        out: dict[Key, float] = {}
        for metric in self.registries[job].collect():
            for s in metric.samples:
                if not s.name.endswith("_created"):
                    out[s.name, _sorted_labels(s.labels.items(), target)] = float(s.value)
        out[UP, target] = 1.0
        return out

    # -- writing ------------------------------------------------------------------------

    def finish(
        self,
        out_dir: Path,
        *,
        scenario: str | None = None,
        seed: int | None = None,
        scale: float | None = None,
        daily_active: int | None = None,
        measured_from: datetime | None = None,
    ) -> Recording:
        """Write ``metrics.om`` and ``recording.json`` into ``out_dir``."""
        if self._state_engine is not None:
            self._state_engine.dispose()
            self._state_engine = None
        jobs = [j for j in self.jobs.values() if j.looks]
        scraped = {j.name: j.interval.total_seconds() for j in jobs}
        if not jobs:
            raise RecordError("nothing recorded: the recorder never looked")
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        path = out_dir / SAMPLES_FILE
        with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            series, samples, dropped = self._write(out, jobs)
        size = path.stat().st_size
        self.written = Written(series, samples, dropped, size, time.perf_counter() - started)
        first = min(j.store.times[0] for j in jobs)
        last = max(j.store.times[-1] for j in jobs)
        recording = Recording(
            start=datetime.fromtimestamp(first, UTC),
            end=datetime.fromtimestamp(last, UTC),
            scrape_seconds=scraped,
            source="simulation",
            series=series,
            samples=samples,
            dropped_series=dropped,
            scenario=scenario,
            seed=seed,
            scale=scale,
            daily_active=daily_active,
            measured_from=measured_from,
            extra={
                "looks": {j.name: j.looks for j in jobs},
                "instances": {j.name: j.instance for j in jobs},
                "bytes": size,
            },
        )
        recording.write(out_dir)
        return recording

    def _kept(self, store: _Store) -> list[bool]:
        keep = self.keep
        nonzero = [False] * len(store.keys)
        for slot in range(len(store.keys)):
            name = store.keys[slot][0]
            if (
                self.keep_zero
                or name == UP
                or name in keep
                or store.family[slot] in keep
                or not store.zero(slot)
            ):
                nonzero[store.group[slot]] = True
        return [nonzero[store.group[s]] for s in range(len(store.keys))]

    def _write(self, out: TextIO, jobs: list[_Job]) -> tuple[int, int, int]:
        by_name: dict[str, list[tuple[_Job, int]]] = {}
        dropped = 0
        for job in jobs:
            kept = self._kept(job.store)
            left_out = self.leave_out.get(job.name, frozenset())
            for slot, key in enumerate(job.store.keys):
                if job.store.family[slot] in left_out:
                    continue
                if kept[slot]:
                    by_name.setdefault(key[0], []).append((job, slot))
                else:
                    dropped += 1
        stamps = {job.name: [number(t) for t in job.store.times] for job in jobs}
        series = samples = 0
        for name in sorted(by_name):
            out.write(f"# TYPE {name} unknown\n")
            for job, slot in by_name[name]:
                series += 1
                samples += _write_series(out, job.store, slot, stamps[job.name])
        out.write("# EOF\n")
        return series, samples, dropped


def _write_series(out: TextIO, store: _Store, slot: int, stamps: list[str]) -> int:
    """Every scrape of one series: for each run of looks with one value while present,
    the lines ``name{labels} value timestamp``. Returns the number of samples."""
    name, labels = store.keys[slot]
    prefix = name + "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels) + "} "
    looks = len(stamps)
    toggles = store.toggles[slot]
    spans = [
        (toggles[i], toggles[i + 1] if i + 1 < len(toggles) else looks)
        for i in range(0, len(toggles), 2)
    ]
    at, to = store.change_at[slot], store.change_to[slot]
    buf = io.StringIO()
    written = 0
    runs = len(at)
    for j in range(runs):
        begin = at[j]
        end = at[j + 1] if j + 1 < runs else looks
        head = prefix + number(to[j]) + " "
        for a, b in spans:
            lo, hi = max(a, begin), min(b, end)
            if lo < hi:
                buf.write(head)
                buf.write(("\n" + head).join(stamps[lo:hi]))
                buf.write("\n")
                written += hi - lo
    out.write(buf.getvalue())
    return written


def _collectors(registry: CollectorRegistry) -> list[Collector]:
    """The registry's collectors in registration order (what ``collect()`` walks)."""
    mapping: Any = registry._collector_to_names  # no public accessor
    return list(mapping)


def _state_engine(engine: Any) -> Any:
    """The state exporter's own engine on the platform's database, as in production: its
    queries stay out of the platform's DB histogram. Without the exporter's pre-ping (a
    query more per collector, a third of a scrape's cost; the database cannot go away
    here). None for a database only the platform's engine can see (in-memory SQLite)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return create_engine(url.render_as_string(hide_password=False))
