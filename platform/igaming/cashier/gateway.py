"""The platform's client of the PSPs' HTTP API (docs/psp-protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from igaming.tracing import client_span, record_status


class PspUnavailable(Exception):
    """The request never reached the PSP, or the PSP answered 503 (which by the protocol
    records nothing): the payment certainly does not exist."""


class PspTimeout(Exception):
    """No usable answer (a timeout, the connection lost after sending, a 5xx other than
    503, an unreadable 2xx): the PSP may or may not have created the payment, so the
    platform keeps it open and waits for the callback."""


# Raised before any byte of the request reached the PSP: nothing can have been created.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class PspRejected(Exception):
    """The PSP answered 4xx: the request itself was refused."""


@dataclass(frozen=True)
class PaymentRequest:
    kind: str  # "payments" | "payouts"
    psp: str
    merchant_reference: str
    amount: int
    currency: str
    method: str
    geo: str
    callback_url: str


class PspGateway(Protocol):
    def submit(self, request: PaymentRequest) -> str:
        """Send a payment or payout; returns the PSP's reference."""
        ...


class HttpPspGateway:
    def __init__(self, base_url: str, timeout: float, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)

    def submit(self, request: PaymentRequest) -> str:
        body = {
            "merchant_reference": request.merchant_reference,
            "amount": request.amount,
            "currency": request.currency,
            "method": request.method,
            "geo": request.geo,
            "callback_url": request.callback_url,
        }
        with client_span("psp.submit", psp=request.psp, kind=request.kind) as headers:
            try:
                response = self._client.post(
                    f"/v1/{request.psp}/{request.kind}", json=body, headers=headers
                )
            except NOT_SENT as exc:
                raise PspUnavailable(str(exc) or type(exc).__name__) from exc
            except httpx.TransportError as exc:  # after sending: a read error, a reset...
                raise PspTimeout(str(exc) or type(exc).__name__) from exc
            record_status(response.status_code)
        if response.status_code == 503:
            raise PspUnavailable(f"{request.psp} answered 503")
        if response.status_code >= 500:
            raise PspTimeout(f"{request.psp} answered {response.status_code}")
        if response.status_code >= 400:
            raise PspRejected(
                f"{request.psp} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            return str(response.json()["psp_reference"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PspTimeout(
                f"{request.psp} answered {response.status_code} without a reference"
            ) from exc
