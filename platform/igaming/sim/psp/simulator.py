"""The PSP simulator's core: accept payments/payouts, decide their fate, schedule callbacks."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictInt, field_validator

import igaming.sim.psp.outcomes as outcomes
from ground.clock import Clock
from ground.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR
from igaming.sim.psp.config import PspKnobs, PspSettings, PspSimConfig
from igaming.sim.psp.dispatcher import CallbackDispatcher
from igaming.sim.psp.ledger import Kind, PspEvent, PspTransaction, SimLedger
from igaming.sim.psp.reports import SettlementReport, write_settlement_reports

log = logging.getLogger(__name__)


class TransferRequest(BaseModel):
    """Body of ``POST /v1/{psp}/payments`` and ``POST /v1/{psp}/payouts``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    merchant_reference: Annotated[str, Field(min_length=1, max_length=128)]
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_MINOR)]
    currency: str
    method: Annotated[str, Field(min_length=1, max_length=32)]
    geo: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    callback_url: AnyHttpUrl

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f"unsupported currency {value!r}")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return value.lower()

    def fingerprint(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


class UnknownPsp(LookupError):
    pass


class PspDown(RuntimeError):
    pass


class IdempotencyConflict(ValueError):
    pass


@dataclass(frozen=True)
class Accepted:
    transaction: PspTransaction
    created: bool  # False: an idempotent replay of an earlier request

    def body(self) -> dict[str, str]:
        return {"psp_reference": self.transaction.psp_reference, "status": "pending"}


class PspSimulator:
    """Holds the config, the ledger and the dispatcher; everything the HTTP layer calls."""

    def __init__(
        self,
        config: PspSimConfig,
        clock: Clock,
        dispatcher: CallbackDispatcher,
        ledger: SimLedger | None = None,
    ) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.ledger = ledger or SimLedger()
        self._config = config
        self._lock = threading.RLock()

    # -- configuration ------------------------------------------------------------------

    @property
    def config(self) -> PspSimConfig:
        with self._lock:
            return self._config

    def replace_config(self, config: PspSimConfig) -> None:
        with self._lock:
            self._config = config

    def patch_psp(self, psp: str, changes: dict[str, Any]) -> PspSettings:
        """Merge knob changes into one PSP; overrides merge per key, ``null`` removes a key."""
        with self._lock:
            current = self._config.psps.get(psp)
            if current is None:
                raise UnknownPsp(psp)
            merged = current.model_dump(exclude_unset=False)
            for key, value in changes.items():
                if key == "overrides" and isinstance(value, dict):
                    overrides = dict(merged.get("overrides") or {})
                    for okey, ovalue in value.items():
                        if ovalue is None:
                            overrides.pop(okey, None)
                        elif isinstance(ovalue, dict):
                            old = overrides.get(okey) or {}
                            base = {k: v for k, v in old.items() if v is not None}
                            overrides[okey] = {**base, **ovalue}
                        else:
                            overrides[okey] = ovalue
                    merged["overrides"] = overrides
                else:
                    merged[key] = value
            settings = PspSettings.model_validate(merged)
            psps = {**self._config.psps, psp: settings}
            self._config = self._config.model_copy(update={"psps": psps})
            return settings

    def knobs(self, psp: str, geo: str, method: str) -> PspKnobs:
        config = self.config
        if psp not in config.psps:
            raise UnknownPsp(psp)
        return config.resolve(psp, geo, method)

    def require_psp(self, psp: str) -> None:
        if psp not in self.config.psps:
            raise UnknownPsp(psp)

    # -- payments and payouts -----------------------------------------------------------

    def submit(self, psp: str, kind: Kind, request: TransferRequest) -> Accepted:
        """Accept a payment or payout, or replay the first answer for the same reference."""
        config = self.config
        settings = config.psps.get(psp)
        if settings is None:
            raise UnknownPsp(psp)
        knobs = config.resolve(psp, request.geo, request.method)
        if knobs.down:
            raise PspDown(psp)
        fingerprint = request.fingerprint()

        def create() -> PspTransaction:
            return self._create(config, settings, knobs, psp, kind, request, fingerprint)

        tx, created = self.ledger.get_or_create(psp, kind, request.merchant_reference, create)
        if not created and tx.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"merchant_reference {request.merchant_reference!r} was already used "
                f"with a different {kind} body"
            )
        return Accepted(tx, created)

    def _create(
        self,
        config: PspSimConfig,
        settings: PspSettings,
        knobs: PspKnobs,
        psp: str,
        kind: Kind,
        request: TransferRequest,
        fingerprint: str,
    ) -> PspTransaction:
        now = self.clock.now()
        rng = outcomes.transaction_rng(config.seed, psp, kind, request.merchant_reference)
        reference = outcomes.psp_reference(config.seed, psp, kind, request.merchant_reference)
        tx = PspTransaction(
            psp=psp,
            kind=kind,
            psp_reference=reference,
            merchant_reference=request.merchant_reference,
            amount=request.amount,
            currency=request.currency,
            method=request.method,
            geo=request.geo,
            callback_url=str(request.callback_url),
            created_at=now,
            fingerprint=fingerprint,
        )
        secret = config.secret_for(psp)
        last_final_due = None
        for index, planned in enumerate(outcomes.plan_lifecycle(kind, knobs, rng, now)):
            event = PspEvent(
                event_id=outcomes.event_id(reference, index),
                status=planned.status,
                reason=planned.reason,
                occurred_at=planned.occurred_at,
            )
            plan = outcomes.plan_delivery(knobs, rng, planned.occurred_at)
            self._schedule(tx, event, plan.due, plan.bad_signature, secret, settings)
            event.late = plan.late
            if index == 0 and plan.due:
                last_final_due = plan.due[-1]
            tx.events.append(event)
        if outcomes.wants_reorder(knobs, rng) and last_final_due is not None:
            # Re-send the earlier "pending" state after the final one: the platform must
            # not move a settled transaction back.
            stale = PspEvent(
                event_id=outcomes.event_id(reference, len(tx.events)),
                status="pending",
                reason=None,
                occurred_at=now,
                stale=True,
            )
            due = last_final_due + timedelta(seconds=outcomes.STALE_GAP_SECONDS)
            self._schedule(tx, stale, (due,), False, secret, settings)
            tx.events.append(stale)
        log.info(
            "psp %s accepted %s %s (%s %s %s/%s)",
            psp,
            kind,
            reference,
            request.amount,
            request.currency,
            request.geo,
            request.method,
        )
        return tx

    def _schedule(
        self,
        tx: PspTransaction,
        event: PspEvent,
        due: tuple[Any, ...],
        bad_signature: bool,
        secret: str,
        settings: PspSettings,
    ) -> None:
        event.deliveries = len(due)
        event.bad_signature = bad_signature and bool(due)
        # A wrong secret, as when a PSP rotates keys and the merchant has not.
        used_secret = f"{secret}-rotated" if bad_signature else secret
        payload = tx.callback_payload(event)
        for when in due:
            self.dispatcher.schedule(
                tx.callback_url,
                payload,
                used_secret,
                when,
                max_attempts=settings.retry_max_attempts,
                backoff_seconds=settings.retry_backoff_seconds,
            )

    def transaction(self, psp: str, kind: Kind, psp_reference: str) -> PspTransaction | None:
        tx = self.ledger.by_psp_reference(psp_reference)
        if tx is None or tx.psp != psp or tx.kind != kind:
            return None
        return tx

    # -- settlement ---------------------------------------------------------------------

    def write_settlement_reports(
        self, day: date, out_dir: str | Path | None = None
    ) -> list[SettlementReport]:
        config = self.config
        return write_settlement_reports(
            self.ledger.transactions(),
            config,
            day,
            Path(out_dir if out_dir is not None else config.report_dir),
            now=self.clock.now(),
        )
