"""KYC: vendor decisions, retries of an unavailable vendor, manual review by compliance."""

from __future__ import annotations

import pytest

from igaming import admin
from igaming.errors import Conflict, Forbidden
from igaming.kyc import service
from igaming.sim.kyc.app import KycSimConfig
from igaming.sim.kyc.app import create_app as create_kyc_app
from tests.conftest import make_platform, register_player
from tests.fakes import FakeKyc


def test_vendor_approval_approves_the_player(platform):
    player = register_player(platform)
    check = service.request_verification(platform, player.id)
    assert (check.status, check.attempts) == ("approved", 1)
    from igaming.accounts.service import get_player

    assert get_player(platform, player.id).kyc_status == "approved"


def test_unavailable_vendor_is_retried_with_backoff_then_decides(engine):
    kyc = FakeKyc(script=["unavailable", "unavailable", "rejected"])
    p = make_platform(engine, kyc=kyc)
    player = register_player(p)
    check = service.request_verification(p, player.id)
    assert check.status == "provider_unavailable" and check.last_error == "http_503"
    assert service.retry_due(p) == 0  # backoff not over yet
    p.clock.advance(31)
    assert service.retry_due(p) == 1
    p.clock.advance(121)
    assert service.retry_due(p) == 1
    final = service.latest_check(p, player.id)
    assert (final.status, final.attempts, kyc.calls) == ("rejected", 3, 3)


def test_a_vendor_that_never_answers_ends_in_manual_review(engine):
    p = make_platform(engine, kyc=FakeKyc(script=["unavailable"]))
    player = register_player(p)
    service.request_verification(p, player.id)
    for _ in range(5):
        p.clock.advance(minutes=15)
        service.retry_due(p)
    check = service.latest_check(p, player.id)
    assert (check.status, check.attempts) == ("manual_review", service.MAX_ATTEMPTS)


def test_manual_review_is_decided_by_compliance_and_audited(engine):
    p = make_platform(engine, kyc=FakeKyc(script=["manual_review"]))
    player = register_player(p)
    check = service.request_verification(p, player.id)
    assert check.status == "manual_review"
    support = admin.OperatorIdentity("sam", "support")
    with pytest.raises(Forbidden):
        admin.review_kyc(p, support, check.id, "approved", "documents fine")
    compliance = admin.OperatorIdentity("cleo", "compliance")
    decided = admin.review_kyc(p, compliance, check.id, "approved", "passport verified by hand")
    assert decided.status == "approved"
    with pytest.raises(Conflict):
        admin.review_kyc(p, compliance, check.id, "rejected", "second thoughts")
    entries = admin.audit_log(p, support)
    assert [(e.operator, e.action, e.target) for e in entries] == [
        ("cleo", "kyc_approved", player.id)
    ]


def test_platform_against_the_simulated_vendor_over_http(sqlite_engine):
    from fastapi.testclient import TestClient

    from igaming.kyc.vendor import HttpKycVendor

    vendor_app = create_kyc_app(
        KycSimConfig(latency_ms=0, failure_rate=0, reject_rate=0, manual_review_rate=0)
    )
    with TestClient(vendor_app) as vendor:
        p = make_platform(sqlite_engine, kyc=HttpKycVendor("http://kyc", 1.0, client=vendor))
        player = register_player(p)
        assert service.request_verification(p, player.id).status == "approved"
        vendor.patch("/admin/config", json={"down": True})
        other = register_player(p)
        check = service.request_verification(p, other.id)
        assert (check.status, check.last_error) == ("provider_unavailable", "http_503")
        assert vendor.patch("/admin/config", json={"failure_rate": 2}).status_code == 422
