"""The simulated compliance desk (igaming.traffic.desk) decides the KYC checks in manual
review once they have waited, in office hours only, audited like an officer's decision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from igaming.models import AuditLog, KycCheck, Player
from igaming.traffic import desk
from tests.conftest import make_platform, register_player


def _in_review(p, requested_at: datetime) -> str:
    player = register_player(p, email=f"{uuid.uuid4().hex}@example.com")
    check_id = str(uuid.uuid4())
    with p.uow() as uow:
        uow.session.add(
            KycCheck(
                id=check_id,
                player_id=player.id,
                status="manual_review",
                attempts=1,
                requested_at=requested_at,
            )
        )
        uow.commit()
    return check_id


def _status(p, check_id: str) -> str:
    with p.session_factory() as session:
        check = session.get(KycCheck, check_id)
        assert check is not None
        return check.status


def test_the_desk_decides_checks_that_waited_in_office_hours_only(engine):
    p = make_platform(engine)
    morning = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    waited = [_in_review(p, morning - timedelta(hours=3)) for _ in range(30)]
    fresh = _in_review(p, morning - timedelta(minutes=30))
    night = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)

    assert desk.review_due(p, night) == 0  # the desk is closed
    assert {_status(p, c) for c in waited} == {"manual_review"}

    assert desk.review_due(p, morning) == 30
    decided = [_status(p, c) for c in waited]
    assert set(decided) <= {"approved", "rejected"} and "approved" in decided
    assert _status(p, fresh) == "manual_review"  # not yet picked up
    # the same decisions on every run: fixed by the check's id
    assert decided == [
        "rejected" if desk._share(c) < desk.REJECTED_SHARE else "approved" for c in waited
    ]
    with p.session_factory() as session:
        audited = (
            session.execute(select(AuditLog.action).where(AuditLog.operator == desk.DESK.name))
            .scalars()
            .all()
        )
        players = (
            session.execute(
                select(Player.kyc_status)
                .join(KycCheck, KycCheck.player_id == Player.id)
                .where(KycCheck.id.in_(waited))
                .order_by(KycCheck.id)
            )
            .scalars()
            .all()
        )
    assert sorted(audited) == sorted(f"kyc_{d}" for d in decided)
    # each player's verification is the desk's decision on its check
    assert players == [d for _, d in sorted(zip(waited, decided, strict=True))]
