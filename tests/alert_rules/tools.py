"""Prometheus' and Alertmanager's binaries for the tests: skipped when missing, except in
CI (PITWATCH_REQUIRE_PROMTOOL=1), where a missing binary fails the run."""

from __future__ import annotations

import os
import shutil

import pytest


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("PITWATCH_REQUIRE_PROMTOOL") == "1":
            pytest.fail(f"{binary} is required (PITWATCH_REQUIRE_PROMTOOL=1) but not on PATH")
        pytest.skip(f"{binary} is not installed")
    return path
