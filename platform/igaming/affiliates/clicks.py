"""Clicks on affiliate links: recorded once per click_id, handed on to registration."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.exc import IntegrityError

from igaming.affiliates.events import ClickRecorded
from igaming.affiliates.models import Click
from igaming.bootstrap import Platform
from igaming.errors import Conflict, ValidationFailed

TOKEN = re.compile(r"^[A-Za-z0-9._:~-]{1,100}$")


def _check(name: str, value: str | None, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise ValidationFailed(f"{name} has at most {limit} characters")
    return value


def record_click(
    p: Platform,
    *,
    affiliate: str,
    campaign: str | None = None,
    btag: str | None = None,
    sub_id: str | None = None,
    geo: str | None = None,
    click_id: str | None = None,
) -> Click:
    """Record a click (a click_id is generated if absent); the same click_id again returns
    the first click, for another affiliate it is a conflict."""
    if not affiliate or len(affiliate) > 64:
        raise ValidationFailed("affiliate has 1 to 64 characters")
    if click_id is not None and not TOKEN.match(click_id):
        raise ValidationFailed("click_id is 1 to 100 characters of [A-Za-z0-9._:~-]")
    if geo is not None and not re.fullmatch(r"[A-Za-z]{2}", geo):
        raise ValidationFailed("geo is an ISO 3166 alpha-2 code")
    now = p.clock.now()
    click_id = click_id or uuid.uuid4().hex
    with p.uow() as uow:
        existing = uow.session.get(Click, click_id)
        if existing is not None:
            if existing.affiliate != affiliate:
                raise Conflict(f"click_id {click_id!r} belongs to another affiliate")
            uow.session.expunge(existing)  # keep it loaded past the unit of work's rollback
            return existing
        click = Click(
            click_id=click_id,
            affiliate=affiliate,
            campaign=_check("campaign", campaign, 64),
            btag=_check("btag", btag, 200),
            sub_id=_check("sub_id", sub_id, 100),
            geo=geo.upper() if geo else None,
            at=now,
        )
        uow.session.add(click)
        uow.emit(
            ClickRecorded(
                occurred_at=now,
                affiliate=affiliate,
                campaign=click.campaign,
                geo=click.geo,
                click_id=click_id,
            )
        )
        try:
            uow.commit()
        except IntegrityError:
            # The same click_id recorded concurrently: the first one stands.
            uow.rollback()
            return record_click(
                p,
                affiliate=affiliate,
                campaign=campaign,
                btag=btag,
                sub_id=sub_id,
                geo=geo,
                click_id=click_id,
            )
    return click
