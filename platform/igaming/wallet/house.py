"""House accounts created up front, so that postings find them in the id cache."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from ground.money import CURRENCY_EXPONENTS
from igaming.wallet.accounts import HOUSE_KINDS, AccountRef, ensure_accounts, house_account


def house_account_refs(psps: Iterable[str]) -> list[AccountRef]:
    refs: list[AccountRef] = []
    for currency in CURRENCY_EXPONENTS:
        refs += [house_account(k, currency) for k in HOUSE_KINDS if k != "psp_clearing"]
        refs += [house_account("psp_clearing", currency, psp) for psp in psps]
    return refs


def bootstrap_house_accounts(session: Session, psps: Iterable[str], now: datetime) -> None:
    ensure_accounts(session, house_account_refs(psps), now)
