"""Leases: one holder at a time per name until it expires, on both dialects."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from sitekeeper.store import leases
from sitekeeper.store.database import Database
from sitekeeper.store.lease_tables import Lease
from sitekeeper.store.leases import Leases
from tests.store.factories import NOW

TTL = timedelta(minutes=10)


def _acquire(db: Database, name: str, holder: str, at: timedelta = timedelta(0)) -> bool:
    with db.engine.begin() as conn:
        return leases.acquire(conn, name, holder, NOW + at, TTL)


def _release(db: Database, name: str, holder: str) -> bool:
    with db.engine.begin() as conn:
        return leases.release(conn, name, holder)


def _holder(db: Database, name: str) -> tuple[str, object] | None:
    with db.session() as s:
        lease = s.scalar(select(Lease).where(Lease.name == name))
        return None if lease is None else (lease.holder, lease.expires_at)


def test_one_holder_until_the_lease_expires(db: Database) -> None:
    assert _acquire(db, "backup:1", "a")
    assert _acquire(db, "backup:1", "a", timedelta(minutes=1))  # renewed by its holder
    assert _holder(db, "backup:1") == ("a", NOW + timedelta(minutes=11))
    assert not _acquire(db, "backup:1", "b", timedelta(minutes=10))  # a's runs to 11 min
    assert _acquire(db, "backup:2", "b")  # another name is another lease
    assert _acquire(db, "backup:1", "b", timedelta(minutes=11))  # expired: taken over
    assert _holder(db, "backup:1") == ("b", NOW + timedelta(minutes=21))
    assert not _acquire(db, "backup:1", "a", timedelta(minutes=12))


def test_only_the_holder_releases(db: Database) -> None:
    assert _acquire(db, "drill:7", "a")
    assert not _release(db, "drill:7", "b")
    assert not _acquire(db, "drill:7", "b")
    assert _release(db, "drill:7", "a")
    assert _holder(db, "drill:7") is None
    assert _acquire(db, "drill:7", "b")  # free again at once
    assert not _release(db, "drill:7", "a")


def test_acquire_many_takes_what_is_free_expired_or_ours(db: Database) -> None:
    assert _acquire(db, "fingerprint:1", "b")
    assert _acquire(db, "fingerprint:2", "a")
    with db.engine.begin() as conn:
        assert leases.acquire(conn, "fingerprint:3", "b", NOW - TTL, TTL)  # expires at NOW
        names = ["fingerprint:1", "fingerprint:2", "fingerprint:3", "fingerprint:4"]
        taken = leases.acquire_many(conn, names + names[:1], "a", NOW, TTL)
        assert taken == {"fingerprint:2", "fingerprint:3", "fingerprint:4"}
        assert leases.release_many(conn, names, "a") == 3
    assert _holder(db, "fingerprint:1") == ("b", NOW + TTL)


def test_racing_holders_one_wins(db: Database) -> None:
    winners: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def contend(holder: str) -> None:
        barrier.wait()
        for name in ("schedule:intel-feeds", "backup:1", "backup:2"):
            if _acquire(db, name, holder):
                with lock:
                    winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(winners) == ["backup:1", "backup:2", "schedule:intel-feeds"]


async def test_claimed_sites_are_due_after_the_leases_are_held(db: Database) -> None:
    """A site another holder finished between our first look and our lease is given back."""
    looks = iter([[3, 1, 2], [2, 3]])  # site 1 was done by someone else meanwhile
    assert _acquire(db, "inventory:2", "b")
    mine = Leases(db, "a", clock=lambda: NOW)
    async with mine.claim("inventory", TTL, lambda _session: next(looks)) as site_ids:
        assert site_ids == [3]  # 2 is b's; 1 is no longer due
        assert _holder(db, "inventory:1") is None
        assert _holder(db, "inventory:3") == ("a", NOW + TTL)
    assert _holder(db, "inventory:3") is None  # released on exit
    assert _holder(db, "inventory:2") == ("b", NOW + TTL)


async def test_a_periodic_action_runs_in_one_holder_per_period(db: Database) -> None:
    clock = [NOW]
    runs: list[str] = []

    def action(holder: str) -> object:
        async def run() -> str:
            runs.append(holder)
            return holder

        return run

    a, b = (Leases(db, h, clock=lambda: clock[0]).periodic("feeds", 300, action(h)) for h in "ab")
    assert (await a(), await b()) == ("a", None)
    clock[0] = NOW + timedelta(seconds=300)  # a's next period: a renews
    assert (await a(), await b()) == ("a", None)
    clock[0] = NOW + timedelta(seconds=600)  # a missed its run (stopped): b takes over
    assert (await b(), await a()) == ("b", None)
    assert runs == ["a", "a", "b"]
