"""Security review, accounts: player status vs withdrawals and tokens, KYC re-verification
after a rejection, password hashing, log-in/registration rate limits, log-out."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, update

from ground.clock import FakeClock
from igaming import admin
from igaming.accounts import passwords
from igaming.accounts import service as accounts
from igaming.accounts.ratelimit import Limit, RateLimiter
from igaming.api.app import create_app
from igaming.cashier import deposits, withdrawals
from igaming.cashier.callbacks import handle_callback
from igaming.errors import Conflict, Forbidden, RateLimited, Unauthorized
from igaming.kyc import service as kyc
from igaming.models import AuditLog, AuthToken, Player
from igaming.wallet.service import balances
from pitwatch.settings import Settings
from tests.conftest import make_platform, register_player
from tests.fakes import FakeKyc, callback_body, signature

PASSWORD = "correct horse battery"
COMPLIANCE = admin.OperatorIdentity("cleo", "compliance")
SUPPORT = admin.OperatorIdentity("sam", "support")


def funded_approved_player(p, amount: int = 10_000) -> Player:
    player = register_player(p)
    d = deposits.request_deposit(
        p, player.id, amount=amount, currency="EUR", method="card", idempotency_key="seed"
    )
    body = callback_body(
        merchant_reference=d.id,
        status="approved",
        amount=amount,
        currency="EUR",
        psp=d.psp,
        occurred_at=p.clock.now(),
    )
    handle_callback(p, d.psp, body, signature(body, p.clock.now(), d.psp))
    with p.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(kyc_status="approved"))
        s.commit()
    return player


def withdraw(p, player_id: str, key: str = "w1", amount: int = 4_000):
    return withdrawals.request_withdrawal(
        p, player_id, amount=amount, currency="EUR", method="card", idempotency_key=key
    )


def client_for(p, ip: str = "203.0.113.7", app=None) -> TestClient:
    app = app or create_app(p)
    return TestClient(app, raise_server_exceptions=False, client=(ip, 50000))


def two_clients(p) -> tuple[TestClient, TestClient]:
    """Two client addresses on one app (the limits live in the app's process)."""
    app = create_app(p)
    return client_for(p, "198.51.100.1", app), client_for(p, "198.51.100.2", app)


def login_body(email: str, password: str = PASSWORD) -> dict[str, str]:
    return {"email": email, "password": password}


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


# -- item 2: player status -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [("blocked", "account_blocked"), ("fraud", "account_restricted"), ("closed", "account_closed")],
)
def test_blocked_fraud_or_closed_player_cannot_withdraw(platform, status, reason):
    player = funded_approved_player(platform)
    admin.set_player_status(platform, COMPLIANCE, player.id, status, "case 4411 under review")
    with pytest.raises(Forbidden) as refused:
        withdraw(platform, player.id)
    assert refused.value.extra["reason"] == reason
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (10_000, 0)
    assert platform.psp.submitted[-1].kind != "payouts"


def test_self_excluded_player_may_still_withdraw(platform):
    player = funded_approved_player(platform)
    accounts.self_exclude(platform, player.id, 30)
    assert withdraw(platform, player.id).status == "processing"
    b = balances(platform, player.id)[0]
    assert (b.cash, b.withdrawal_pending) == (6_000, 4_000)


def test_reactivated_player_may_withdraw_again(platform):
    player = funded_approved_player(platform)
    admin.set_player_status(platform, COMPLIANCE, player.id, "blocked", "source of funds check")
    admin.set_player_status(platform, COMPLIANCE, player.id, "active", "documents received")
    assert withdraw(platform, player.id).status == "processing"


def test_status_change_revokes_every_token_of_the_player_and_is_audited(platform):
    player = register_player(platform, email="anna@example.com")
    other = register_player(platform, email="otto@example.com")
    tokens = [accounts.login(platform, "anna@example.com", PASSWORD) for _ in range(2)]
    kept = accounts.login(platform, "otto@example.com", PASSWORD)
    admin.set_player_status(platform, COMPLIANCE, player.id, "blocked", "source of funds check")
    for token in tokens:
        with pytest.raises(Unauthorized):
            accounts.authenticate(platform, token)
    assert accounts.authenticate(platform, kept) == other.id
    with platform.session_factory() as s:
        entry = s.execute(select(AuditLog).order_by(AuditLog.id.desc())).scalars().first()
    assert entry.payload == {"from": "active", "tokens_revoked": 2}


def test_blocked_player_may_log_in_and_read_but_not_withdraw_over_http(platform):
    player = funded_approved_player(platform)
    admin.set_player_status(platform, COMPLIANCE, player.id, "blocked", "source of funds check")
    with client_for(platform) as c:
        r = c.post("/sessions", json=login_body(player.email))
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        assert c.get("/players/me", headers=bearer(token)).json()["status"] == "blocked"
        assert c.get("/wallet/balance", headers=bearer(token)).json()[0]["cash"] == 10_000
        body = {"amount": 100, "currency": "EUR", "method": "card"}
        r = c.post("/cashier/withdrawals", json=body, headers=bearer(token, "w1"))
        assert problem(r, 403)["reason"] == "account_blocked"
        r = c.post("/cashier/deposits", json=body, headers=bearer(token, "d1"))
        assert problem(r, 403)["reason"] == "account_blocked"


@pytest.mark.parametrize(
    ("status", "reason"), [("fraud", "account_restricted"), ("closed", "account_closed")]
)
def test_fraud_or_closed_player_cannot_log_in(platform, status, reason):
    player = register_player(platform)
    admin.set_player_status(platform, COMPLIANCE, player.id, status, "case 4411 under review")
    with client_for(platform) as c:
        # A wrong password is a 401 whatever the status: the status is no e-mail oracle.
        problem(c.post("/sessions", json=login_body(player.email, "wrong password")), 401)
        body = problem(c.post("/sessions", json=login_body(player.email)), 403)
        assert body["reason"] == reason and "fraud" not in body["detail"]


def test_token_of_a_closed_player_is_refused_even_if_not_revoked(platform):
    # A status written by another path (a migration, a DBA) must not leave tokens working.
    player = register_player(platform)
    token = accounts.login(platform, player.email, PASSWORD)
    with platform.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(status="closed"))
        s.commit()
    with pytest.raises(Forbidden) as refused:
        accounts.authenticate(platform, token)
    assert refused.value.extra["reason"] == "account_closed"


# -- item 9: KYC re-verification -----------------------------------------------------------


def test_rejected_player_cannot_open_a_new_check_without_compliance(engine):
    vendor = FakeKyc(script=["rejected", "approved"])
    p = make_platform(engine, kyc=vendor)
    player = register_player(p)
    assert kyc.request_verification(p, player.id).status == "rejected"
    with pytest.raises(Forbidden) as refused:
        kyc.request_verification(p, player.id)
    assert refused.value.extra["reason"] == "kyc_rejected"
    assert vendor.calls == 1
    assert accounts.get_player(p, player.id).kyc_status == "rejected"


def test_compliance_allows_one_audited_retry(engine):
    vendor = FakeKyc(script=["rejected", "rejected", "approved"])
    p = make_platform(engine, kyc=vendor)
    player = register_player(p)
    kyc.request_verification(p, player.id)
    admin.allow_kyc_retry(p, COMPLIANCE, player.id, "new passport scan sent by mail")
    with p.session_factory() as s:
        entry = s.execute(select(AuditLog).order_by(AuditLog.id.desc())).scalars().first()
    assert (entry.action, entry.target, entry.operator) == (
        "kyc_retry_allowed",
        player.id,
        "cleo",
    )
    assert kyc.request_verification(p, player.id).status == "rejected"
    # The allowance was used by that check: a second rejection needs a second decision.
    with pytest.raises(Forbidden):
        kyc.request_verification(p, player.id)
    admin.allow_kyc_retry(p, COMPLIANCE, player.id, "second look, utility bill attached")
    assert kyc.request_verification(p, player.id).status == "approved"


def test_allow_retry_needs_compliance_and_a_rejected_player(platform):
    player = register_player(platform)
    with pytest.raises(Forbidden):
        admin.allow_kyc_retry(platform, SUPPORT, player.id, "player asked nicely")
    with pytest.raises(Conflict):
        admin.allow_kyc_retry(platform, COMPLIANCE, player.id, "nothing was rejected")


def test_new_checks_per_player_are_limited_per_day(engine):
    p = make_platform(engine, kyc=FakeKyc(script=["rejected"]))
    p.settings.kyc_checks_per_day = 2
    player = register_player(p)
    kyc.request_verification(p, player.id)
    p.clock.advance(3600)
    admin.allow_kyc_retry(p, COMPLIANCE, player.id, "new passport scan sent by mail")
    kyc.request_verification(p, player.id)
    admin.allow_kyc_retry(p, COMPLIANCE, player.id, "third try, approved by the MLRO")
    with pytest.raises(RateLimited) as limited:
        kyc.request_verification(p, player.id)
    assert limited.value.retry_after == 23 * 3600  # when the first check leaves the window
    p.clock.advance(23 * 3600)
    assert kyc.request_verification(p, player.id).status == "rejected"


def test_kyc_refusals_over_http(engine):
    p = make_platform(engine, kyc=FakeKyc(script=["rejected", "approved"]))
    p.settings.kyc_checks_per_day = 1
    player = register_player(p)
    key = admin.create_operator(p, "cleo", "compliance")
    with client_for(p) as c:
        token = c.post("/sessions", json=login_body(player.email)).json()["token"]
        assert c.post("/kyc/verifications", headers=bearer(token)).json()["status"] == "rejected"
        r = c.post("/kyc/verifications", headers=bearer(token))
        assert problem(r, 403)["reason"] == "kyc_rejected"
        url = f"/admin/players/{player.id}/kyc/allow-retry"
        problem(c.post(url, json={"reason": "x"}, headers={"X-API-Key": key}), 422)
        r = c.post(url, json={"reason": "new passport scan"}, headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["kyc_status"] == "rejected", r.text
        r = c.post("/kyc/verifications", headers=bearer(token))
        assert problem(r, 429)["reason"] == "kyc_checks_per_day"
        assert int(r.headers["Retry-After"]) == 24 * 3600
        p.clock.advance(24 * 3600)
        token = c.post("/sessions", json=login_body(player.email)).json()["token"]  # 12 h TTL
        r = c.post("/kyc/verifications", headers=bearer(token))
        assert r.status_code == 202 and r.json()["status"] == "approved"


# -- item 12: passwords, rate limits, log-out ----------------------------------------------


def test_hash_names_its_parameters_and_verifies():
    params = passwords.ScryptParams(n=2**11, r=8, p=1)
    stored = passwords.hash_password("s3cret pass", params)
    scheme, described, salt, digest = stored.split("$")
    assert (scheme, described) == ("scrypt", "n=2048,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 64
    assert passwords.verify_password("s3cret pass", stored)
    assert not passwords.verify_password("s3cret pasS", stored)
    assert not passwords.needs_rehash(stored, params)
    assert passwords.needs_rehash(stored, passwords.ScryptParams(n=2**12))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "bcrypt$abc$def",
        "scrypt$n=2048,r=8$c2FsdA==$ZGln",
        "scrypt$n=3000,r=8,p=1$c2FsdA==$ZGln",  # not a power of two
        "scrypt$n=1073741824,r=8,p=1$c2FsdA==$ZGln",  # a cost no hash of ours has
        "scrypt$n=2048,r=8,p=1$%%%$ZGln",
        "scrypt$n=2048,r=8,p=1$c2FsdA==$",  # an empty digest
        "scrypt$c2FsdA==$",  # the legacy format, empty digest
    ],
)
def test_malformed_hashes_never_verify(stored):
    assert passwords.verify_password("anything", stored) is False


def test_legacy_hash_still_verifies_and_is_rehashed_at_log_in(platform):
    player = register_player(platform)
    salt = os.urandom(16)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
    legacy = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    with platform.session_factory() as s:
        s.execute(update(Player).where(Player.id == player.id).values(password_hash=legacy))
        s.commit()
    with pytest.raises(Unauthorized):
        accounts.login(platform, player.email, "wrong password")
    assert accounts.get_player(platform, player.id).password_hash == legacy
    accounts.login(platform, player.email, PASSWORD)
    stored = accounts.get_player(platform, player.id).password_hash
    assert stored.startswith(f"scrypt$n={platform.settings.password_scrypt_n},r=8,p=1$")
    accounts.login(platform, player.email, PASSWORD)  # the new hash verifies


def test_password_cost_is_lowered_only_in_the_test_environment():
    # (production's default is development's: "anything but test"; a production Settings
    # needs real secrets, which is another validator's business)
    assert Settings(environment="development").password_scrypt_n >= 2**15
    assert Settings(environment="test").password_scrypt_n < 2**15
    assert Settings(environment="test", password_scrypt_n=2**8).password_scrypt_n == 2**8
    for environment in ("production", "development"):
        with pytest.raises(ValidationError, match="password_scrypt_n"):
            Settings(environment=environment, password_scrypt_n=2**14)
    with pytest.raises(ValidationError, match="power of two"):
        Settings(environment="test", password_scrypt_n=1000)


def test_new_hashes_use_the_configured_cost(platform):
    platform.settings.password_scrypt_n = 2**11
    player = register_player(platform)
    assert player.password_hash.startswith("scrypt$n=2048,r=8,p=1$")


def test_unknown_email_costs_a_scrypt_like_a_known_one(platform, monkeypatch):
    register_player(platform, email="anna@example.com")
    calls: list[int] = []
    real = hashlib.scrypt

    def spy(*args, **kwargs):
        calls.append(kwargs["n"])
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    for email in ("anna@example.com", "nobody@example.com"):
        with pytest.raises(Unauthorized, match="email or password is wrong"):
            accounts.login(platform, email, "wrong password")
    n = platform.settings.password_scrypt_n
    assert calls[-2:] == [n, n]


def test_login_is_rate_limited_per_email(platform):
    platform.settings.login_rate_per_email = 3
    platform.settings.login_rate_per_email_seconds = 900
    register_player(platform, email="anna@example.com")
    a, b = two_clients(platform)
    with a, b:
        for c in (a, b, a):
            problem(c.post("/sessions", json=login_body("anna@example.com", "guess")), 401)
        r = b.post("/sessions", json=login_body("Anna@example.com"))
        body = problem(r, 429)
        assert body["reason"] == "login_per_email" and int(r.headers["Retry-After"]) == 900
        assert "anna" not in body["detail"]
        platform.clock.advance(899)
        problem(a.post("/sessions", json=login_body("anna@example.com")), 429)
        platform.clock.advance(1)
        assert a.post("/sessions", json=login_body("anna@example.com")).status_code == 200


def test_login_is_rate_limited_per_client_ip(platform):
    platform.settings.login_rate_per_ip = 2
    platform.settings.login_rate_per_ip_seconds = 60
    a, b = two_clients(platform)
    with a, b:
        for i in range(2):
            problem(a.post("/sessions", json=login_body(f"p{i}@example.com")), 401)
        r = a.post("/sessions", json=login_body("p9@example.com"))
        assert problem(r, 429)["reason"] == "login_per_ip" and r.headers["Retry-After"] == "60"
        problem(b.post("/sessions", json=login_body("p9@example.com")), 401)  # another IP
        platform.clock.advance(60)
        problem(a.post("/sessions", json=login_body("p9@example.com")), 401)


def test_registration_is_rate_limited_per_client_ip(platform):
    platform.settings.registration_rate_per_ip = 2
    platform.settings.registration_rate_per_ip_seconds = 3600
    base = {
        "password": PASSWORD,
        "country": "DE",
        "currency": "EUR",
        "date_of_birth": "1990-05-17",
    }
    with client_for(platform) as c:
        for i in range(2):
            r = c.post("/players", json=base | {"email": f"p{i}@example.com"})
            assert r.status_code == 201, r.text
        r = c.post("/players", json=base | {"email": "p2@example.com"})
        assert problem(r, 429)["reason"] == "registration_per_ip"
        assert r.headers["Retry-After"] == "3600"
    with platform.session_factory() as s:
        assert len(s.execute(select(Player.id)).all()) == 2


def test_a_limit_of_zero_is_off(platform):
    platform.settings.login_rate_per_ip = 0
    platform.settings.login_rate_per_email = 0
    with client_for(platform) as c:
        for _ in range(25):
            problem(c.post("/sessions", json=login_body("p@example.com")), 401)


def test_logout_revokes_only_the_presented_token(platform):
    player = register_player(platform)
    with client_for(platform) as c:
        first = c.post("/sessions", json=login_body(player.email)).json()["token"]
        second = c.post("/sessions", json=login_body(player.email)).json()["token"]
        assert c.post("/players/logout", headers=bearer(first)).status_code == 204
        problem(c.get("/players/me", headers=bearer(first)), 401)
        problem(c.post("/players/logout", headers=bearer(first)), 401)
        assert c.get("/players/me", headers=bearer(second)).status_code == 200
    with platform.session_factory() as s:
        assert len(s.execute(select(AuthToken.token_hash)).all()) == 1


def test_a_refused_attempt_counts_against_no_limit():
    limiter = RateLimiter(FakeClock())
    per_ip, per_email = Limit("ip", 1, 60, "tries"), Limit("email", 2, 60, "tries")
    limiter.hit([(per_ip, "ip1"), (per_email, "e")])
    with pytest.raises(RateLimited, match="too many tries"):
        limiter.hit([(per_ip, "ip1"), (per_email, "e")])
    limiter.hit([(per_ip, "ip2"), (per_email, "e")])  # the refused one did not count
    with pytest.raises(RateLimited) as refused:
        limiter.hit([(per_ip, "ip3"), (per_email, "e")])
    assert refused.value.extra["reason"] == "email"


def test_the_limiter_forgets_keys_whose_window_has_passed():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    limit = Limit("ip", 5, 60, "tries")
    for i in range(5_000):
        limiter.hit([(limit, f"198.51.{i // 256}.{i % 256}")])
    clock.advance(61)
    for i in range(5_000):
        limiter.hit([(limit, f"203.0.{i // 256}.{i % 256}")])
    assert len(limiter) < 6_000  # not 10,000: every address tried would be kept for ever
