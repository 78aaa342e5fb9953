"""Fakes of what lies outside the platform: PSPs and the KYC vendor (no mocks)."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from igaming.cashier.gateway import PaymentRequest, PspTimeout, PspUnavailable
from igaming.kyc.vendor import KycDecision, KycVendorUnavailable
from igaming.partners.signing import sign


@dataclass
class FakePsp:
    """Accepts every payment with a fresh reference unless told to fail."""

    fail_with: type[Exception] | None = None
    submitted: list[PaymentRequest] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def submit(self, request: PaymentRequest) -> str:
        self.submitted.append(request)
        if self.fail_with is PspTimeout:
            raise PspTimeout("timed out")
        if self.fail_with is not None:
            raise PspUnavailable("503")
        return f"{request.psp}-{next(self._ids):06d}"


@dataclass
class FakeKyc:
    """Answers from a script of statuses; 'unavailable' raises."""

    script: list[str] = field(default_factory=lambda: ["approved"])
    calls: int = 0

    def check(self, reference: str, country: str, date_of_birth: str) -> KycDecision:
        status = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if status == "unavailable":
            raise KycVendorUnavailable("http_503")
        return KycDecision(f"v-{self.calls}", status)


def callback_body(
    *,
    merchant_reference: str,
    status: str,
    amount: int,
    currency: str = "EUR",
    psp: str = "paybridge",
    kind: str = "payment",
    occurred_at: datetime,
    event_id: str | None = None,
    psp_reference: str = "ref-1",
    reason: str | None = None,
) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "psp": psp,
            "psp_reference": psp_reference,
            "merchant_reference": merchant_reference,
            "kind": kind,
            "status": status,
            "amount": amount,
            "currency": currency,
            "reason": reason,
            "occurred_at": occurred_at.isoformat(),
        }
    ).encode()


def signature(
    body: bytes, when: datetime, psp: str = "paybridge", secret: str | None = None
) -> str:
    return sign(secret or f"dev-secret-{psp}", int(when.timestamp()), body)
