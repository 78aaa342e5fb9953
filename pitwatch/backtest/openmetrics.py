"""OpenMetrics text with explicit timestamps, as ``promtool tsdb create-blocks-from
openmetrics`` reads it: a series' samples in time order, the series of one metric name
together, ``# EOF`` last. Written as it goes, never held whole in memory."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

Labels = tuple[tuple[str, str], ...]  # __name__ included


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
