"""A private Prometheus for the backtest: TSDB blocks made from OpenMetrics samples by
``promtool``, and a ``prometheus`` server over them (no scrape targets, 127.0.0.1 only)
that answers PromQL over the recorded period.

Prometheus's own log goes to ``prometheus.log`` in the work directory, never the terminal.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from pitwatch.backtest.model import BacktestError

# Prometheus refuses a range query of more points than this per series.
MAX_POINTS = 11_000
INSTALL_HINT = "apt-get install prometheus"

Labels = dict[str, str]
Matrix = list[tuple[Labels, list[tuple[float, float]]]]


def binary(name: str) -> str:
    """The path of ``name`` (``prometheus`` or ``promtool``) on PATH; BacktestError if absent."""
    found = shutil.which(name)
    if found is None:
        raise BacktestError(f"{name} not found on PATH ({INSTALL_HINT})")
    return found


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def promtool(args: Sequence[str], *, timeout: float = 3600.0) -> subprocess.CompletedProcess[str]:
    """Run ``promtool ARGS`` whatever its exit code; BacktestError if it is missing or
    takes over ``timeout`` seconds."""
    cmd = [binary("promtool"), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BacktestError(f"promtool {' '.join(args[:3])} took over {timeout:.0f} s") from None


def run_promtool(args: Sequence[str], *, timeout: float = 3600.0) -> str:
    """Run ``promtool ARGS``; its stdout, or BacktestError with its last stderr line."""
    done = promtool(args, timeout=timeout)
    if done.returncode != 0:
        last = _last_line(done.stderr or done.stdout)
        raise BacktestError(f"promtool {' '.join(args[:3])} failed: {last}")
    return done.stdout


def create_blocks(om_file: Path, data_dir: Path, *, max_block_duration: str = "24h") -> None:
    """TSDB blocks in ``data_dir`` from an OpenMetrics file with explicit timestamps (ending
    in ``# EOF``). promtool rounds the block length down to 2h times a power of 3 (24h: 18h)
    and reads the whole file once per block, so longer blocks load a long run faster."""
    if not om_file.is_file() or om_file.stat().st_size == 0:
        raise BacktestError(f"{om_file}: no such OpenMetrics file, or it is empty")
    data_dir.mkdir(parents=True, exist_ok=True)
    run_promtool(
        [
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            f"--max-block-duration={max_block_duration}",
            str(om_file),
            str(data_dir),
        ]
    )


def version(name: str = "prometheus") -> str:
    """e.g. ``prometheus 2.42.0+ds``, from ``NAME --version``."""
    done = subprocess.run(
        [binary(name), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    first = (done.stdout or done.stderr).splitlines()[:1]
    parts = first[0].replace(",", "").split() if first else []
    if len(parts) >= 3 and parts[1] == "version":
        return f"{name} {parts[2]}"
    return f"{name} (unknown version)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _value(raw: str) -> float:
    return float(raw)  # Prometheus writes NaN, +Inf and -Inf as float() reads them


class LocalPrometheus:
    """``prometheus`` over ``data_dir``: no scrape targets, 127.0.0.1 on a free port, a
    retention that keeps every (simulated, possibly future-dated) block, generous query
    limits. A context manager: the process is always stopped.

    ``query_range`` splits a long range into requests of at most ``MAX_POINTS`` steps,
    every step on the grid ``start + k * step``.
    """

    def __init__(
        self,
        data_dir: Path,
        workdir: Path | None = None,
        *,
        ready_timeout: float = 60.0,
        query_timeout: float = 600.0,
        max_samples: int = 500_000_000,
    ) -> None:
        self.data_dir = data_dir
        self.workdir = workdir if workdir is not None else data_dir.parent
        self.ready_timeout = ready_timeout
        self.query_timeout = query_timeout
        self.max_samples = max_samples
        self.log = self.workdir / "prometheus.log"
        self.version = version("prometheus")
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(timeout=query_timeout + 30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- process ---------------------------------------------------------------------------

    def start(self) -> LocalPrometheus:
        exe = binary("prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus-backtest.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
        for _attempt in range(3):  # a free port can be taken between looking and listening
            self.port = _free_port()
            args = [
                exe,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--query.max-samples={self.max_samples}",
                f"--query.timeout={int(self.query_timeout)}s",
                "--log.level=warn",
            ]
            with self.log.open("ab") as log:
                log.write(f"--- {' '.join(args)}\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log, stderr=log
                )
            if self._wait_ready():
                return self
            tail = _last_line(self.log.read_text(errors="replace"))
            self.stop()
            if "address already in use" not in tail:
                break
        raise BacktestError(f"prometheus did not start: {tail} (see {self.log})")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if self._client.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Terminate, wait (10 s), kill."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again over the same data directory (to load new blocks)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._client.close()

    def __enter__(self) -> LocalPrometheus:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------

    def _api(self, path: str, params: dict[str, str]) -> Any:
        try:
            r = self._client.post(f"{self.url}{path}", data=params)
        except httpx.HTTPError as exc:
            raise BacktestError(f"prometheus at {self.url}: {exc}") from None
        try:
            body = r.json()
        except ValueError:
            raise BacktestError(f"prometheus at {self.url}: HTTP {r.status_code}") from None
        if body.get("status") != "success":
            error = " ".join(str(body.get("error", f"HTTP {r.status_code}")).split())
            raise BacktestError(f"prometheus query failed: {error[:300]}")
        return body["data"]

    def query(self, expr: str, t: float) -> list[tuple[Labels, float]]:
        """The instant vector (or scalar, with no labels) of ``expr`` at Unix time ``t``."""
        data = self._api("/api/v1/query", {"query": expr, "time": repr(float(t))})
        if data["resultType"] == "vector":
            return [(dict(s["metric"]), _value(s["value"][1])) for s in data["result"]]
        if data["resultType"] == "scalar":
            return [({}, _value(data["result"][1]))]
        raise BacktestError(f"prometheus query gave a {data['resultType']}, not a vector")

    def query_range(self, expr: str, start: float, end: float, step: float) -> Matrix:
        """Every series of ``expr`` at ``start + k * step`` for every such time up to
        ``end``: (labels, [(t, value)]) in time order; one request per ``MAX_POINTS`` steps."""
        if step <= 0 or not math.isfinite(step):
            raise BacktestError(f"query step must be positive, not {step}")
        steps = math.floor((end - start) / step + 1e-9) + 1
        merged: dict[tuple[tuple[str, str], ...], tuple[Labels, list[tuple[float, float]]]] = {}
        for first in range(0, max(steps, 0), MAX_POINTS):
            last = min(first + MAX_POINTS, steps) - 1
            data = self._api(
                "/api/v1/query_range",
                {
                    "query": expr,
                    "start": repr(start + first * step),
                    "end": repr(start + last * step),
                    "step": repr(float(step)),
                },
            )
            if data["resultType"] != "matrix":
                raise BacktestError(f"prometheus range query gave a {data['resultType']}")
            for s in data["result"]:
                labels = dict(s["metric"])
                key = tuple(sorted(labels.items()))
                points = merged.setdefault(key, (labels, []))[1]
                points.extend((float(t), _value(v)) for t, v in s["values"])
        return list(merged.values())
