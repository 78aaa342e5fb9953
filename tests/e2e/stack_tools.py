"""Helpers for end-to-end tests of the native stack: free ports, bounded waits, a stack
brought up in a temporary folder and always brought down."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from pitwatch.stack import native
from pitwatch.stack.config import StackConfig, StackPorts
from tests.alert_rules.tools import require

__all__ = ["require"]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 (held open together while choosing)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def free_stack_ports() -> StackPorts:
    names = StackPorts.names()
    return StackPorts(**dict(zip(names, free_ports(len(names)), strict=True)))


def ports_spec(ports: StackPorts) -> str:
    """``--ports`` for the CLI."""
    return ",".join(f"{n}={getattr(ports, n)}" for n in StackPorts.names())


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def gone(pid: int) -> bool:
    """The process no longer runs (absent, or a zombie waiting for its parent)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = probe()
            if last:
                return last
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout:g} s (last: {last!r})")


def stack_config(tmp_path: Path, **overrides: object) -> StackConfig:
    """A stack on free ports in ``tmp_path`` (SQLite there), fast scrapes and deliveries."""
    fields: dict[str, object] = {
        "run_dir": tmp_path / "stack",
        "database_url": f"sqlite:///{tmp_path / 'pitwatch.db'}",
        "ports": free_stack_ports(),
        "scrape_interval": "1s",
        "evaluation_interval": "1s",
        "group_wait": "1s",
        "group_interval": "1s",
        "ready_timeout": 40.0,
    }
    return StackConfig(**(fields | overrides))  # type: ignore[arg-type]


@contextlib.contextmanager
def running_stack(config: StackConfig) -> Iterator[native.Stack]:
    """``native.up`` and, whatever happens, ``native.down``."""
    try:
        yield native.up(config)
    finally:
        native.down(config.run_dir, timeout=5)


def pitwatch(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", "pitwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
