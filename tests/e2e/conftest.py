"""Every end-to-end test starts processes or a stack: all of them are ``slow``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees the whole session's items: mark only this directory's.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)
