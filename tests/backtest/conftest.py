"""Fixtures of the backtest tests."""

from __future__ import annotations

import pytest

from tests.backtest.backtest_helpers import require_prometheus


@pytest.fixture
def prometheus_tools() -> None:
    """prometheus and promtool: skipped without them, failed without them in CI."""
    require_prometheus()
