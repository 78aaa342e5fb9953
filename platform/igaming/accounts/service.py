"""Player accounts: registration, log-in, responsible-gambling controls."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ground.money import check_amount, check_currency
from ground.vocabulary import DEFAULT_BRAND
from igaming.accounts.passwords import (
    ScryptParams,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from igaming.bootstrap import Platform
from igaming.casino.sessions import end_player_sessions
from igaming.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RegistrationRefused,
    ResponsibleGamblingBlock,
    Unauthorized,
    ValidationFailed,
)
from igaming.events import PlayerRegistered
from igaming.events import RegistrationRefused as RegistrationRefusedEvent
from igaming.models import AuthToken, Deposit, Player
from igaming.wallet.accounts import open_player_accounts

TOKEN_TTL = timedelta(hours=12)
# A raised deposit limit takes effect only after a cooling-off period (a lowered one at once),
# as gambling regulators require.
LIMIT_INCREASE_DELAY = timedelta(hours=24)
# What a player whose account is not active is told, by status (docs/accounts.md). A fraud
# flag is never named to the player: telling a suspect is "tipping off" under AML rules.
RESTRICTIONS = {
    "blocked": ("account_blocked", "account is blocked; contact support"),
    "fraud": ("account_restricted", "account is restricted; contact support"),
    "closed": ("account_closed", "account is closed"),
}
# Statuses that may not log in at all (a blocked player may, to read and to verify).
NO_LOG_IN = ("fraud", "closed")


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    country: str
    currency: str
    date_of_birth: date
    brand: str = DEFAULT_BRAND
    click_id: str | None = None
    btag: str | None = None
    affiliate: str | None = None
    campaign: str | None = None
    sub_id: str | None = None


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def register(p: Platform, reg: Registration) -> Player:
    now = p.clock.now()
    check_currency(reg.currency)
    country = reg.country.upper()
    refusal = None
    if country in p.settings.blocked_countries:
        refusal = ("blocked_country", f"registrations from {country} are not accepted")
    elif reg.date_of_birth > now.date():
        raise ValidationFailed("date_of_birth is in the future")
    elif age_on(reg.date_of_birth, now.date()) < p.settings.minimum_age:
        refusal = ("under_age", f"players must be at least {p.settings.minimum_age} years old")
    if refusal:
        p.bus.publish(
            [RegistrationRefusedEvent(occurred_at=now, country=country, reason=refusal[0])]
        )
        raise RegistrationRefused(refusal[1], reason=refusal[0])
    player = Player(
        id=str(uuid.uuid4()),
        email=reg.email.lower(),
        password_hash=hash_password(reg.password, password_params(p)),
        country=country,
        currency=reg.currency,
        date_of_birth=reg.date_of_birth,
        brand=reg.brand,
        click_id=reg.click_id,
        btag=reg.btag,
        affiliate=reg.affiliate,
        campaign=reg.campaign,
        sub_id=reg.sub_id,
        created_at=now,
    )
    with p.uow() as uow:
        uow.session.add(player)
        try:
            uow.session.flush()
        except IntegrityError as exc:
            raise Conflict("a player with this email already exists") from exc
        open_player_accounts(uow.session, player.id, player.currency, now)
        uow.emit(
            PlayerRegistered(
                occurred_at=now,
                player_id=player.id,
                country=country,
                currency=player.currency,
                brand=player.brand,
                affiliate=player.affiliate,
                campaign=player.campaign,
            )
        )
        uow.commit()
    return player


def password_params(p: Platform) -> ScryptParams:
    return ScryptParams(p.settings.password_scrypt_n or 2**15)


def restriction(status: str) -> Forbidden:
    reason, detail = RESTRICTIONS.get(status, ("account_restricted", "account is restricted"))
    return Forbidden(detail, reason=reason)


def check_may_withdraw(player: Player) -> None:
    """Only an active account pays out; a self-excluded one does (regulators require it)."""
    if player.status != "active":
        raise restriction(player.status)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(p: Platform, email: str, password: str) -> str:
    params = password_params(p)
    with p.session_factory() as session:
        found = session.execute(
            select(Player.id, Player.password_hash, Player.status).where(
                Player.email == email.lower()
            )
        ).one_or_none()
    # scrypt runs outside any transaction, and runs for an unknown e-mail too (against a
    # hash no password matches): the time taken must not tell which e-mails exist.
    stored = found.password_hash if found is not None else dummy_hash(params)
    if not verify_password(password, stored) or found is None:
        raise Unauthorized("email or password is wrong")
    # After the password, so that the status is no oracle for who has an account.
    if found.status in NO_LOG_IN:
        raise restriction(found.status)
    now = p.clock.now()
    token = secrets.token_urlsafe(32)
    with p.uow() as uow:
        if needs_rehash(stored, params):
            # Only if unchanged meanwhile: a concurrent password change must win.
            uow.session.execute(
                update(Player)
                .where(Player.id == found.id, Player.password_hash == stored)
                .values(password_hash=hash_password(password, params))
            )
        uow.session.add(
            AuthToken(
                token_hash=_token_hash(token),
                player_id=found.id,
                created_at=now,
                expires_at=now + TOKEN_TTL,
            )
        )
        uow.commit()
    return token


def authenticate(p: Platform, token: str) -> str:
    """The player id a bearer token belongs to."""
    with p.session_factory() as session:
        row = session.execute(
            select(AuthToken.player_id, AuthToken.expires_at, Player.status)
            .join(Player, Player.id == AuthToken.player_id)
            .where(AuthToken.token_hash == _token_hash(token))
        ).one_or_none()
    if row is None or row.expires_at <= p.clock.now():
        raise Unauthorized("invalid or expired token")
    # Tokens are revoked on a status change; this holds if a status was written elsewhere.
    if row.status in NO_LOG_IN:
        raise restriction(row.status)
    return row.player_id


def logout(p: Platform, token: str) -> None:
    """Revoke the presented token (whatever the account's status)."""
    with p.uow() as uow:
        # Session.execute is typed as returning a Result; a DML statement's is a CursorResult.
        revoked = cast(
            CursorResult[Any],
            uow.session.execute(
                delete(AuthToken).where(
                    AuthToken.token_hash == _token_hash(token), AuthToken.expires_at > p.clock.now()
                )
            ),
        ).rowcount
        if not revoked:
            raise Unauthorized("invalid or expired token")
        uow.commit()


def revoke_tokens(session, player_id: str) -> int:
    """Revoke every token of a player (in the caller's transaction); how many there were."""
    return session.execute(delete(AuthToken).where(AuthToken.player_id == player_id)).rowcount


def get_player(p: Platform, player_id: str) -> Player:
    with p.session_factory() as session:
        player = session.get(Player, player_id)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        return player


def self_exclude(p: Platform, player_id: str, days: int) -> Player:
    if not 1 <= days <= 3650:
        raise ValidationFailed("self-exclusion lasts between 1 and 3650 days")
    now = p.clock.now()
    with p.uow() as uow:
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        until = now + timedelta(days=days)
        # Self-exclusion can be extended, never shortened.
        if player.self_excluded_until is None or player.self_excluded_until < until:
            player.self_excluded_until = until
        end_player_sessions(uow.session, player_id, now)  # open game sessions too
        uow.commit()
    return player


def set_deposit_limit(p: Platform, player_id: str, limit: int | None) -> Player:
    """A lower (or first) limit applies at once; a higher one or removal after 24 h."""
    if limit is not None:
        check_amount(limit)
    now = p.clock.now()
    with p.uow() as uow:
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        apply_due_limit(player, now)
        current = player.daily_deposit_limit
        if current is None or (limit is not None and limit <= current):
            player.daily_deposit_limit = limit
            player.pending_deposit_limit = player.pending_deposit_limit_at = None
        else:
            player.pending_deposit_limit = limit
            player.pending_deposit_limit_at = now + LIMIT_INCREASE_DELAY
        uow.commit()
    return player


def apply_due_limit(player: Player, now: datetime) -> None:
    if player.pending_deposit_limit_at is not None and player.pending_deposit_limit_at <= now:
        player.daily_deposit_limit = player.pending_deposit_limit
        player.pending_deposit_limit = player.pending_deposit_limit_at = None


def check_may_deposit(session, player: Player, amount: int, now: datetime) -> None:
    """Responsible-gambling checks before a deposit (called under the player's row lock)."""
    if player.status != "active":
        refused = restriction(player.status)
        raise ResponsibleGamblingBlock(refused.detail, **refused.extra)
    if player.self_excluded_until is not None and player.self_excluded_until > now:
        raise ResponsibleGamblingBlock(
            f"self-excluded until {player.self_excluded_until.isoformat()}", reason="self_excluded"
        )
    apply_due_limit(player, now)
    if player.daily_deposit_limit is None:
        return
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    used = session.execute(
        select(func.coalesce(func.sum(Deposit.amount), 0)).where(
            Deposit.player_id == player.id,
            Deposit.created_at >= day_start,
            Deposit.status.not_in(("declined", "failed")),
        )
    ).scalar_one()
    if used + amount > player.daily_deposit_limit:
        raise ResponsibleGamblingBlock(
            f"daily deposit limit {player.daily_deposit_limit} reached "
            f"({used} already deposited today)",
            reason="deposit_limit",
        )
