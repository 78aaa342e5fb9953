"""The platform's client of the KYC vendor's HTTP API (docs/kyc-vendor-protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from igaming.tracing import client_span, record_status


class KycVendorUnavailable(Exception):
    """The vendor failed, timed out or could not be reached; the check is retried later."""


@dataclass(frozen=True)
class KycDecision:
    vendor_reference: str
    status: str  # approved | rejected | manual_review


class KycVendor(Protocol):
    def check(self, reference: str, country: str, date_of_birth: str) -> KycDecision: ...


class HttpKycVendor:
    def __init__(self, base_url: str, timeout: float, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)

    def check(self, reference: str, country: str, date_of_birth: str) -> KycDecision:
        with client_span("kyc.check") as headers:
            try:
                response = self._client.post(
                    "/v1/checks",
                    json={
                        "reference": reference,
                        "country": country,
                        "date_of_birth": date_of_birth,
                    },
                    headers=headers,
                )
            except httpx.TimeoutException as exc:
                raise KycVendorUnavailable("timeout") from exc
            except httpx.TransportError as exc:
                raise KycVendorUnavailable(type(exc).__name__) from exc
            record_status(response.status_code)
        if response.status_code != 200:
            raise KycVendorUnavailable(f"http_{response.status_code}")
        data = response.json()
        if data.get("status") not in ("approved", "rejected", "manual_review"):
            raise KycVendorUnavailable("bad_response")
        return KycDecision(str(data["check_id"]), data["status"])
