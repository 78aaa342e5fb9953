"""The exposition after a real scenario: promtool-clean, and no label value that names a
person or a payment (UUIDs, emails, the scenario's click id, player ids)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from igaming.api.app import create_app
from tests.collectors.metrics_helpers import deliver, deposit
from tests.conftest import register_player

CLICK_ID = "clk-8f3a2b1c"
EMAIL = "hygiene.player@example.com"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def scenario(p) -> tuple[str, list[str]]:
    """Referred registration, deposits, callbacks and HTTP calls with ids in their paths."""
    referred = register_player(
        p, email=EMAIL, affiliate="aff17", campaign="spring-de", click_id=CLICK_ID
    )
    # hostile label values: an email as affiliate, a UUID as campaign (both folded)
    other = register_player(p, affiliate=EMAIL, campaign=str(uuid.uuid4()))
    d = deposit(p, referred, "d1")
    deliver(p, d, "approved")
    client = TestClient(create_app(p), raise_server_exceptions=False)
    client.get(f"/cashier/deposits/{d.id}")
    client.get(f"/players/{referred.id}/{CLICK_ID}")
    return generate_latest(p.metrics.registry).decode(), [referred.id, other.id, d.id]


def label_values(exposition: str) -> set[str]:
    return {
        value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        for value in s.labels.values()
    }


def test_no_label_value_names_a_person_or_a_payment(platform):
    exposition, ids = scenario(platform)
    values = label_values(exposition)
    assert "aff17" in values and "spring-de" in values  # the scenario did reach the labels
    assert [v for v in values if UUID.search(v)] == []
    assert [v for v in values if "@" in v] == []
    assert CLICK_ID not in values and not any(CLICK_ID in v for v in values)
    assert not any(i in v for i in ids for v in values)


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("PITWATCH_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is required (PITWATCH_REQUIRE_PROMTOOL=1) but not on PATH")
        pytest.skip("promtool is not installed")
    return path


def test_promtool_check_metrics_is_clean_after_a_scenario(platform):
    exposition, _ = scenario(platform)
    result = subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
