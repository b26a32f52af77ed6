"""Claiming due jobs: each run is claimed once, by one scheduler, on both dialects."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from sitekeeper.store.database import Database
from sitekeeper.store.jobs import claim_due, respread_overdue
from sitekeeper.store.tables import Job, Site

NOW = 1_800_000_000.0


def _sites_with_jobs(db: Database, due: list[float], interval: int = 60) -> list[int]:
    with db.session() as s:
        sites = [
            Site(name=f"s{i}", url=f"http://127.0.0.1/{i}", created_at=datetime.now(UTC))
            for i in range(len(due))
        ]
        s.add_all(sites)
        s.flush()
        s.add_all(
            Job(kind="check", site_id=site.id, interval=interval, next_run_at=at)
            for site, at in zip(sites, due, strict=True)
        )
        return [site.id for site in sites]


def test_claims_only_due_jobs_and_moves_them_one_interval(db: Database) -> None:
    ids = _sites_with_jobs(db, [NOW - 5, NOW, NOW + 5])
    with db.engine.begin() as conn:
        claims = claim_due(conn, "check", NOW, limit=10)
    assert sorted(c.site_id for c in claims) == ids[:2]
    assert sorted(c.due_at for c in claims) == [NOW - 5, NOW]
    with db.session() as s:
        nexts = dict(s.execute(select(Job.site_id, Job.next_run_at)).tuples().all())
    assert nexts[ids[0]] == NOW + 55  # keeps its phase: no drift
    assert nexts[ids[1]] == NOW + 60
    assert nexts[ids[2]] == NOW + 5


def test_a_job_far_behind_is_not_run_twice_to_catch_up(db: Database) -> None:
    (site,) = _sites_with_jobs(db, [NOW - 600])
    with db.engine.begin() as conn:
        assert len(claim_due(conn, "check", NOW, limit=10)) == 1
        assert claim_due(conn, "check", NOW, limit=10) == []
    with db.session() as s:
        assert s.scalar(select(Job.next_run_at).where(Job.site_id == site)) == NOW + 60


def test_limit_bounds_a_claim(db: Database) -> None:
    _sites_with_jobs(db, [NOW - i for i in range(10)])
    with db.engine.begin() as conn:
        first = claim_due(conn, "check", NOW, limit=4)
        rest = claim_due(conn, "check", NOW, limit=100)
    assert len(first) == 4
    assert len(rest) == 6
    assert {c.job_id for c in first}.isdisjoint(c.job_id for c in rest)
    # The most overdue go first.
    assert max(c.due_at for c in first) < min(c.due_at for c in rest)


def test_concurrent_schedulers_never_claim_the_same_run(db: Database) -> None:
    _sites_with_jobs(db, [NOW - (i % 50) for i in range(300)])
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def scheduler() -> None:
        barrier.wait()
        while True:
            with db.engine.begin() as conn:
                batch = claim_due(conn, "check", NOW, limit=7)
            if not batch:
                return
            with lock:
                claimed.extend(c.job_id for c in batch)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 300
    assert len(set(claimed)) == 300


def test_restart_spreads_the_backlog_within_one_interval(db: Database) -> None:
    _sites_with_jobs(db, [NOW - 3600] * 1000, interval=60)
    with db.engine.begin() as conn:
        moved = respread_overdue(conn, "check", NOW, max_rate=10.0)  # needs 100 s > 60 s
    assert moved == 1000
    with db.session() as s:
        nexts = sorted(s.scalars(select(Job.next_run_at)))
    assert nexts[0] >= NOW and nexts[-1] < NOW + 60  # all within one interval
    # Spread, not bunched: every 10-second slice of the minute gets a share.
    slices = [sum(1 for n in nexts if NOW + k * 10 <= n < NOW + (k + 1) * 10) for k in range(6)]
    assert min(slices) > 100
    with db.engine.begin() as conn:
        assert len(claim_due(conn, "check", NOW + 1, limit=10_000)) < 100


def test_a_small_backlog_is_spread_over_less_than_an_interval(db: Database) -> None:
    _sites_with_jobs(db, [NOW - 30] * 100, interval=3600)
    with db.engine.begin() as conn:
        respread_overdue(conn, "check", NOW, max_rate=50.0)
    with db.session() as s:
        latest = max(s.scalars(select(Job.next_run_at)))
    assert latest < NOW + 2  # 100 jobs at 50/s: two seconds, not an hour


def test_spreading_works_past_the_ids_a_32_bit_product_overflows_at(db: Database) -> None:
    # A fleet of 100,000 sites has job ids past 53,021, where id * 40503 leaves int4.
    ids = _sites_with_jobs(db, [NOW - 30] * 20)
    with db.session() as s:
        for offset, site_id in enumerate(ids):
            job = s.scalars(select(Job).where(Job.site_id == site_id)).one()
            job.id = 100_000 + offset * 7919
    with db.engine.begin() as conn:
        assert respread_overdue(conn, "check", NOW, max_rate=1.0) == 20
    with db.session() as s:
        nexts = list(s.scalars(select(Job.next_run_at)))
    assert all(NOW <= n < NOW + 20 for n in nexts)
    assert len(set(nexts)) > 15  # spread, not all moved to the same second
