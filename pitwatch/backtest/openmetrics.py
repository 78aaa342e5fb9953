"""OpenMetrics text with explicit timestamps, as ``promtool tsdb create-blocks-from
openmetrics`` reads it: a series' samples in time order, the series of one metric name
together, ``# EOF`` last. Written as it goes, never held whole in memory."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from pitwatch.backtest.model import BacktestError

Labels = tuple[tuple[str, str], ...]  # __name__ included
Key = Labels  # sorted

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(\S+))?\s*$")
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def series_name(labels: Labels) -> tuple[str, str]:
    """The metric name and the ``{...}`` part of a series' labels."""
    name = ""
    parts = []
    for key, value in labels:
        if key == "__name__":
            name = value
        else:
            parts.append(f'{key}="{escape(value)}"')
    return name, ("{" + ",".join(parts) + "}") if parts else ""


class OpenMetricsWriter:
    """Writes series one after another; a metric name's series must come together."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._names: set[str] = set()
        self._current: str | None = None
        self.samples = 0
        self.series_written = 0

    def __enter__(self) -> OpenMetricsWriter:
        self._file = self.path.open("w", encoding="utf-8", buffering=1 << 20)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._file is not None
        if kind is None:
            self._file.write("# EOF\n")
        self._file.close()

    def series(self, labels: Labels, points: Iterable[tuple[float, float]]) -> None:
        """One series' samples, (Unix seconds, value) in time order."""
        assert self._file is not None, "use the writer as a context manager"
        name, selector = series_name(labels)
        if name != self._current:
            if name in self._names:
                raise ValueError(f"{name}: its series must be written together")
            self._names.add(name)
            self._current = name
        head = f"{name}{selector} "
        lines = [f"{head}{number(v)} {t:.3f}\n" for t, v in points]
        self._file.writelines(lines)
        self.samples += len(lines)
        self.series_written += 1


# -- reading -----------------------------------------------------------------------------


def _unescape(v: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_labels(text: str, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if m is None:
            raise BacktestError(f"{where}: bad labels {{{text[:80]}}}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


def read_openmetrics(path: Path) -> Iterator[tuple[Key, float, float]]:
    """(labels, Unix time, value) of every sample line of an OpenMetrics file with
    timestamps (exemplars ignored)."""
    try:
        f = path.open(encoding="utf-8")
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read ({exc.strerror})") from None
    with f:
        for n, line in enumerate(f, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            body = line.split(" # ", 1)[0]
            m = _SAMPLE.match(body)
            if m is None or m.group(4) is None:
                raise BacktestError(f"{path}:{n}: not a sample with a timestamp")
            labels = parse_labels(m.group(2) or "", f"{path}:{n}")
            labels["__name__"] = m.group(1)
            try:
                value, t = float(m.group(3)), float(m.group(4))
            except ValueError:
                raise BacktestError(f"{path}:{n}: bad value or timestamp") from None
            yield tuple(sorted(labels.items())), t, value
