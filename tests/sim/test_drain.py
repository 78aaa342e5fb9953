"""The accelerated driver's job passes send what is due as ``platform serve``'s worker
would, at night and in the drain after a run's last action too.

A run ends at midnight, where the daily revenue job queues a postback per attributed
player: the mixed week's second seed left them pending through the whole ten-minute drain
(PostbacksStuckPending fired on the simulator, not on a stall), because the drain idled at
one job pass every five minutes and a pass sent at most 100 postbacks. Production's worker
loops every second until nothing is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from igaming.affiliates.dispatcher import BATCH as DISPATCH_BATCH
from igaming.affiliates.models import PostbackAttempt, PostbackJob
from igaming.db import make_engine
from igaming.migrate import upgrade_engine
from igaming.traffic.run import accelerated_driver
from pitwatch.compose import simulation_settings
from tests.sim.traffic_tools import scenario

BATCH = 2 * DISPATCH_BATCH + 50  # more than one dispatch call's limit


def test_a_batch_queued_on_a_quiet_night_goes_out_within_a_job_pass(tmp_path):
    s = scenario(
        "drain",
        duration="1h",
        players={"daily_active": 1, "existing": 0, "organic_registrations_per_day": 0},
        campaigns=[
            {
                "affiliate": "aff17",
                "campaign": "spring-de",
                "clicks_per_day": 1,
                "geos": ["DE"],
                "click_to_registration": 0.01,
            }
        ],
    )
    url = f"sqlite:///{tmp_path}/db.sqlite"
    engine = make_engine(url)
    upgrade_engine(engine)
    with accelerated_driver(s, engine, simulation_settings(url), s.start) as driver:
        # Forty quiet minutes (the job passes at their idle pace), then a batch larger
        # than one dispatch call's limit is due at once.
        driver.advance_to(s.start + timedelta(minutes=40))
        queued_at = driver.now()
        with Session(engine) as session:
            for i in range(BATCH):
                session.add(
                    PostbackJob(
                        dedupe_key=f"aff17:revenue:drain-{i}",
                        affiliate="aff17",
                        campaign="spring-de",
                        event="revenue",
                        conversion_id=f"drain-{i}",
                        url=f"http://affiliates/postback/aff17?event=revenue&conversion_id=drain-{i}",
                        status="pending",
                        attempts=0,
                        max_attempts=8,
                        next_attempt_at=queued_at,
                        created_at=queued_at,
                    )
                )
            session.commit()
        driver.drain()
    with Session(engine) as session:
        drained = select(PostbackJob).where(PostbackJob.dedupe_key.like("aff17:revenue:drain-%"))
        jobs = list(session.execute(drained).scalars())
        first = {}
        for a in session.execute(select(PostbackAttempt)).scalars():
            first[a.job_id] = min(first.get(a.job_id, a.at), a.at)
    engine.dispose()
    assert len(jobs) == BATCH
    # Every one was tried (whatever the network answered) within one busy job pass.
    assert all(j.attempts >= 1 for j in jobs), [j.attempts for j in jobs][:5]
    late = [first[j.id] - queued_at for j in jobs if first[j.id] - queued_at > driver.jobs_every]
    assert not late, f"{len(late)} of {BATCH} first tried after {max(late)}"
