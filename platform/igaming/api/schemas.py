"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from ground.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR

Amount = Field(gt=0, le=MAX_AMOUNT_MINOR, description="minor units (cents); JPY has none")
# The enum documents what the platform accepts; the check stays ground.money's.
Currency = Field(
    pattern=r"^[A-Z]{3}$",
    description="ISO 4217 code",
    json_schema_extra={"enum": [*sorted(CURRENCY_EXPONENTS)]},  # a list of pydantic's JsonValue
)
Country = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterIn(Strict):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200)
    country: str = Country
    currency: str = Currency
    date_of_birth: date = Field(strict=False)
    brand: str = Field("pitwatch", pattern=r"^[a-z0-9_-]{1,40}$")
    click_id: str | None = Field(None, max_length=100)
    btag: str | None = Field(None, max_length=200)
    affiliate: str | None = Field(None, max_length=64)
    campaign: str | None = Field(None, max_length=64)
    sub_id: str | None = Field(None, max_length=100)


class LoginIn(Strict):
    email: EmailStr
    password: str = Field(max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"


class PlayerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    country: str
    currency: str
    brand: str
    status: str
    kyc_status: str
    self_excluded_until: datetime | None
    daily_deposit_limit: int | None
    pending_deposit_limit: int | None
    pending_deposit_limit_at: datetime | None
    affiliate: str | None
    campaign: str | None
    created_at: datetime


class SelfExclusionIn(Strict):
    days: int = Field(ge=1, le=3650)


class DepositLimitIn(Strict):
    daily_limit: int | None = Field(gt=0, le=MAX_AMOUNT_MINOR)


class MoneyIn(Strict):
    amount: int = Amount
    currency: str = Currency
    method: str = Field(max_length=24)


class DepositOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    status: str
    psp: str
    method: str
    amount: int
    currency: str
    reason: str | None
    psp_reference: str | None
    first_deposit: bool
    created_at: datetime
    completed_at: datetime | None


class WithdrawalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    status: str
    psp: str
    method: str
    amount: int
    currency: str
    reason: str | None
    psp_reference: str | None
    created_at: datetime
    completed_at: datetime | None


class BalanceOut(BaseModel):
    currency: str
    cash: int
    bonus: int
    withdrawal_pending: int


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    type: str
    status: str
    currency: str
    amount: int
    reference: str | None
    flagged: bool
    created_at: datetime


class KycOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    status: str
    attempts: int
    last_error: str | None
    requested_at: datetime
    decided_at: datetime | None
    next_retry_at: datetime | None


class AdjustmentIn(Strict):
    player_id: str = Field(max_length=36)
    amount: int = Field(description="signed minor units: credit > 0, debit < 0")
    currency: str = Currency
    reason: str = Field(min_length=5, max_length=1000)


class PlayerStatusIn(Strict):
    status: str = Field(pattern="^(active|blocked|fraud|closed)$")
    reason: str = Field(min_length=5, max_length=1000)


class KycDecisionIn(Strict):
    status: str = Field(pattern="^(approved|rejected)$")
    reason: str = Field(min_length=5, max_length=1000)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    operator: str
    role: str
    action: str
    target: str
    reason: str
    payload: dict
