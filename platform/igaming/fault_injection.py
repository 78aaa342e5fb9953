"""Putting faults in force (igaming.faults): audited, and a new version published as a
deploy."""

from __future__ import annotations

from igaming.admin import OperatorIdentity, audit
from igaming.bootstrap import Platform
from igaming.errors import NotFound
from igaming.events import PlatformDeployed
from igaming.faults import Faults


def apply_faults(p: Platform, faults: Faults, actor: str, *, role: str = "system") -> Faults:
    """Put ``faults`` in force, audited under ``actor``; a new version is published as a
    deploy (``PlatformDeployed``, on the bus only: the audit entry is its record). Returns
    ``faults``."""
    if not p.settings.faults_enabled:
        raise NotFound("fault injection is not enabled here (settings.faults_enabled)")
    before = p.faults.replace(faults)
    try:
        with p.uow() as uow:
            payload = {"from": before.model_dump(), "to": faults.model_dump()}
            who = OperatorIdentity(actor, role)
            audit(uow.session, p, who, "faults", "platform", "fault injection", payload)
            uow.commit()
    except BaseException:
        p.faults.replace(before)  # an unaudited fault must not stay in force
        raise
    version = faults.version or p.settings.version
    # Built only for a listener, as the metric was only set on an instrumented platform: an
    # event draws a uuid, which would shift every later id of a seeded simulation.
    if version != (before.version or p.settings.version) and p.bus.has_subscribers(
        PlatformDeployed
    ):
        p.bus.publish([PlatformDeployed(occurred_at=p.clock.now(), version=version)])
    return faults
