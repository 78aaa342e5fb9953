"""Back office: operators with roles, manual adjustments, KYC reviews, the audit log."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ground.money import check_amount
from igaming.accounts.service import revoke_tokens
from igaming.bootstrap import Platform
from igaming.casino.sessions import end_player_sessions
from igaming.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from igaming.events import AdjustmentPosted, IdempotentReplay
from igaming.kyc.service import allow_retry, resolve_review
from igaming.models import AuditLog, KycCheck, Operator, Player, WalletTransaction
from igaming.wallet.accounts import house_account, player_account
from igaming.wallet.ledger import Posting

# People's roles. ``faults`` is not a person's: it is the traffic simulator's (and a game
# day's) key for injected incidents, and it moves no money and reads no player data.
STAFF = ("finance", "support", "compliance", "admin")
ROLES = (*STAFF, "faults")
# Who may do what. Support reads; money moves only by finance; compliance decides KYC.
PERMISSIONS = {
    "adjust": ("finance", "admin"),
    "review_kyc": ("compliance", "admin"),
    "set_player_status": ("compliance", "admin"),
    # Incidents on purpose (igaming.faults), and only where settings.faults_enabled: never
    # an admin's daily power, so a leaked admin key cannot slow the database down.
    "inject_faults": ("faults",),
    "read_faults": (*STAFF, "faults"),
    "check_invariants": (*STAFF, "faults"),
    # A simulation's affiliates and deals (igaming.traffic.live), where faults are enabled.
    "stage_affiliates": ("faults",),
    "read": STAFF,
}


@dataclass(frozen=True)
class OperatorIdentity:
    name: str
    role: str


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_operator(p: Platform, name: str, role: str) -> str:
    """Create an operator; returns its API key (shown once, stored hashed)."""
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    key = "pwk_" + secrets.token_urlsafe(24)
    with p.uow() as uow:
        if uow.session.execute(select(Operator.id).where(Operator.name == name)).first():
            raise Conflict(f"operator {name!r} exists")
        uow.session.add(
            Operator(name=name, role=role, key_hash=_key_hash(key), created_at=p.clock.now())
        )
        uow.commit()
    return key


def authenticate_operator(p: Platform, key: str | None) -> OperatorIdentity:
    if not key:
        raise Unauthorized("an operator API key is required (X-API-Key)")
    with p.session_factory() as session:
        op = session.execute(
            select(Operator).where(Operator.key_hash == _key_hash(key))
        ).scalar_one_or_none()
    if op is None or not op.active:
        raise Unauthorized("unknown or disabled operator API key")
    return OperatorIdentity(op.name, op.role)


def require(op: OperatorIdentity, permission: str) -> None:
    if op.role not in PERMISSIONS[permission]:
        raise Forbidden(f"role {op.role} may not {permission.replace('_', ' ')}")


def adjust(
    p: Platform,
    op: OperatorIdentity,
    *,
    player_id: str,
    amount: int,
    currency: str,
    reason: str,
    idempotency_key: str,
) -> WalletTransaction:
    """A manual credit (amount > 0) or debit (amount < 0) of a player's cash, audited."""
    require(op, "adjust")
    if len(reason.strip()) < 5:
        raise ValidationFailed("a reason of at least 5 characters is required")
    if amount == 0:
        raise ValidationFailed("amount must not be zero")
    check_amount(abs(amount))
    now = p.clock.now()
    with p.uow() as uow:
        player = uow.session.get(Player, player_id)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        started = p.ledger.begin(
            uow.session,
            now=now,
            tx_type="adjustment",
            idempotency_key=f"adjustment:{idempotency_key}",
            currency=currency,
            amount=abs(amount),
            player_id=player_id,
            request={"player": player_id, "amount": amount, "currency": currency, "reason": reason},
            details={
                "operator": op.name,
                "role": op.role,
                "reason": reason,
                "signed_amount": amount,
            },
        )
        if started.replayed:
            uow.emit(IdempotentReplay(occurred_at=now, tx_type="adjustment"))
            uow.commit()
            return started.transaction
        p.ledger.post(
            uow.session,
            started.transaction,
            [
                Posting(player_account(player_id, "cash", currency), amount),
                Posting(house_account("adjustments", currency), -amount),
            ],
            now=now,
            status="completed",
        )
        audit(
            uow.session,
            p,
            op,
            "adjustment",
            player_id,
            reason,
            {"transaction_id": started.transaction.id, "amount": amount, "currency": currency},
        )
        uow.emit(
            AdjustmentPosted(
                occurred_at=now,
                transaction_id=started.transaction.id,
                player_id=player_id,
                operator=op.name,
                role=op.role,
                currency=currency,
                amount=amount,
                reason=reason,
            )
        )
        uow.commit()
    return started.transaction


def review_kyc(
    p: Platform, op: OperatorIdentity, check_id: str, status: str, reason: str
) -> KycCheck:
    require(op, "review_kyc")
    if len(reason.strip()) < 5:
        raise ValidationFailed("a reason of at least 5 characters is required")
    with p.uow() as uow:
        check = resolve_review(p, uow, check_id, status)
        audit(uow.session, p, op, f"kyc_{status}", check.player_id, reason, {"check_id": check_id})
        uow.commit()
    return check


def allow_kyc_retry(p: Platform, op: OperatorIdentity, player_id: str, reason: str) -> Player:
    """Let a player whose verification was rejected open one new check."""
    require(op, "review_kyc")
    if len(reason.strip()) < 5:
        raise ValidationFailed("a reason of at least 5 characters is required")
    with p.uow() as uow:
        player = allow_retry(uow, player_id)
        audit(uow.session, p, op, "kyc_retry_allowed", player_id, reason, {})
        uow.commit()
    return player


PLAYER_STATUSES = ("active", "blocked", "fraud", "closed")


def set_player_status(
    p: Platform, op: OperatorIdentity, player_id: str, status: str, reason: str
) -> Player:
    """Block, flag for fraud (FTDs then do not qualify), close or reactivate a player."""
    require(op, "set_player_status")
    if status not in PLAYER_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(PLAYER_STATUSES)}")
    if len(reason.strip()) < 5:
        raise ValidationFailed("a reason of at least 5 characters is required")
    with p.uow() as uow:
        player = uow.session.get(Player, player_id, with_for_update=True)
        if player is None:
            raise NotFound(f"player {player_id} not found")
        before, player.status = player.status, status
        if status != "active":  # the game sessions already open must not take stakes
            end_player_sessions(uow.session, player_id, p.clock.now())
        revoked = revoke_tokens(uow.session, player_id)  # every change ends the log-ins
        payload = {"from": before, "tokens_revoked": revoked}
        audit(uow.session, p, op, f"player_{status}", player_id, reason, payload)
        uow.commit()
    return player


def audit(
    session, p: Platform, op: OperatorIdentity, action: str, target: str, reason: str, payload: dict
) -> None:
    session.add(
        AuditLog(
            at=p.clock.now(),
            operator=op.name,
            role=op.role,
            action=action,
            target=target,
            reason=reason,
            payload=payload,
        )
    )


def audit_log(p: Platform, op: OperatorIdentity, limit: int = 100) -> list[AuditLog]:
    require(op, "read")
    with p.session_factory() as session:
        return list(
            session.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)).scalars()
        )
