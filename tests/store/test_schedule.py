"""Every site has a check job whose interval follows its plan and whose first run is jittered."""

from __future__ import annotations

import random
import statistics

import pytest
from sqlalchemy import select

from sitekeeper.store import contracts, plans, schedule, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Job
from tests.store.factories import DEFAULT_INTERVAL, NOW, baker, basic, contract, site


def _job(db: Database, site_id: int) -> Job:
    with db.session() as s:
        job = schedule.check_job(s, site_id)
        assert job is not None
        return job


def test_site_gets_plan_interval_and_first_run_within_one_interval(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        contract(s, client, basic(s, interval=60))
        site_id = site(s, client).id
    job = _job(db, site_id)
    assert job.interval == 60
    assert job.enabled
    assert NOW.timestamp() <= job.next_run_at < NOW.timestamp() + 60


def test_site_without_contract_uses_default_interval(db: Database) -> None:
    with db.session() as s:
        site_id = site(s, baker(s)).id
    assert _job(db, site_id).interval == DEFAULT_INTERVAL


def test_sync_is_idempotent_one_job_per_site(db: Database) -> None:
    with db.session() as s:
        created = site(s, baker(s))
        for _ in range(3):
            schedule.sync_check_job(s, created, NOW.timestamp(), default_interval=120)
    with db.session() as s:
        jobs = s.scalars(select(Job).where(Job.site_id == created.id)).all()
    assert len(jobs) == 1
    assert jobs[0].interval == 120


def test_jitter_spreads_first_runs_over_the_interval(db: Database) -> None:
    interval, count = 600, 200
    with db.session() as s:
        client = baker(s)
        contract(s, client, basic(s, interval=interval))
        ids = [site(s, client, url=f"https://s{i}.example.com").id for i in range(count)]
    with db.session() as s:
        runs = [j.next_run_at - NOW.timestamp() for j in s.scalars(select(Job))]
    assert len(runs) == len(ids)
    assert all(0 <= r < interval for r in runs)
    # A thundering herd would put them all at 0; uniform jitter fills the interval.
    assert max(runs) - min(runs) > interval * 0.8
    assert len({int(r // 60) for r in runs}) == interval // 60
    assert statistics.pstdev(runs) > interval / 5


def test_plan_interval_edit_resyncs_its_sites_only(db: Database) -> None:
    with db.session() as s:
        client, other = baker(s), baker(s, name="Other GmbH")
        plan, gold = basic(s, interval=300), basic(s, interval=30, name="Gold")
        contract(s, client, plan)
        contract(s, other, gold)
        on_plan = site(s, client).id
        elsewhere = site(s, other, url="https://other.example").id
    with db.session() as s:
        changed = plans.update_plan(
            s, plans.get_plan(s, "Basic"), NOW.timestamp(), default_interval=300, check_interval=60
        )
    assert changed == 1
    moved = _job(db, on_plan)
    assert moved.interval == 60
    assert moved.next_run_at < NOW.timestamp() + 60  # re-jittered into the shorter interval
    assert _job(db, elsewhere).interval == 30


def test_changing_a_sites_contract_resyncs_its_job(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        slow = contract(s, client, basic(s, interval=600))
        fast = contract(s, client, basic(s, interval=20, name="Fast"))
        created = site(s, client, contract=slow)
    assert _job(db, created.id).interval == 600
    with db.session() as s:
        found = sites.get_site(s, str(created.id))
        sites.update_site(
            s,
            found,
            sites.SiteFields(contract=contracts.get_contract(s, fast.id)),
            NOW,
            default_interval=DEFAULT_INTERVAL,
        )
    assert _job(db, created.id).interval == 20


def test_pause_disables_and_resume_rejitters(db: Database) -> None:
    with db.session() as s:
        created = site(s, baker(s))
    for paused, enabled in ((True, False), (False, True)):
        with db.session() as s:
            found = sites.get_site(s, created.name)
            sites.update_site(
                s,
                found,
                sites.SiteFields(paused=paused),
                NOW,
                default_interval=DEFAULT_INTERVAL,
                rng=random.Random(1),
            )
        job = _job(db, created.id)
        assert job.enabled is enabled
        assert NOW.timestamp() <= job.next_run_at < NOW.timestamp() + DEFAULT_INTERVAL


def test_removing_a_contract_falls_back_to_default_interval(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        c = contract(s, client, basic(s, interval=45))
        created = site(s, client)
    with db.session() as s:
        contracts.remove_contract(
            s, contracts.get_contract(s, c.id), NOW.timestamp(), default_interval=DEFAULT_INTERVAL
        )
    assert _job(db, created.id).interval == DEFAULT_INTERVAL


@pytest.mark.parametrize("interval", [10, 60, 86400])
def test_first_run_is_in_range(interval: int) -> None:
    rng = random.Random(7)
    runs = [schedule.first_run(1000.0, interval, rng) for _ in range(500)]
    assert all(1000.0 <= r < 1000.0 + interval for r in runs)
