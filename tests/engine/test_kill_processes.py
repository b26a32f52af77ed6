"""No single point of failure: kill -9 of each kind of ``serve`` process, then count.

Real processes (``sitekeeper serve --role ...``), not threads: 3 workers, 2 schedulers
and a web process on one PostgreSQL schema, checking the fleet simulator's sites every
10 s and alerting a loopback webhook. Each kind is killed in turn while it works: the
scheduler that is sending an alert (killed by the receiver once it has the alert, before
the sender can record it), a worker while checks and a failure's confirmation run,
the other scheduler, and the web process in the middle of a burst of API requests.
Afterwards the database and the receiver are counted: every site checked at its interval
(no gap over two intervals: only the runs a killed worker had claimed are skipped), no
site checked twice in one interval, one incident opened and closed per outage, one
alert per incident change — the one whose sender died after the channel got it is the
documented exception (at-least-once: it arrives a second time, from the survivor).

Waits poll the database, the receiver or the processes under deadlines; no fixed sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.repository import open_stored
from sitekeeper.backup.runner import INTERRUPTED, BackupContext
from sitekeeper.store.backup_tables import BackupRepository
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site
from tests.engine.processes import records
from tests.engine.processes.fleet import Fleet, Simulator, base_env, until
from tests.engine.processes.receiver import Post, Receiver
from tests.engine.processes.records import Seeded
from tests.realsites import wp_record
from tests.updates.sites import update_sites_up

__all__ = ["update_sites_up"]  # the fixture that starts wp1..wp5

pytestmark = [
    pytest.mark.parametrize("db", ["postgresql"], indirect=True),
    pytest.mark.postgres,
]

INTERVAL = 10  # seconds: the shortest check interval a plan may have
SITES = 300
WORKERS = ("w1", "w2", "w3")
SCHEDULERS = ("sched-a", "sched-b")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class World:
    """The fleet under test and what it talks to."""

    db: Database
    fleet: Fleet
    sim: Simulator
    receiver: Receiver
    seeded: Seeded
    web_port: int

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seeded.token}"}


@pytest.fixture
def data_home(tmp_path: Path) -> Path:
    """The data directory every process shares; its vault is made here, once."""
    home = tmp_path / "home"
    Vault.from_home(home)
    return home


@pytest.fixture
def world(db: Database, tmp_path: Path, data_home: Path) -> Iterator[World]:
    receiver = Receiver()
    sim = Simulator.start(SITES, tmp_path / "sites.csv", "--latency", "500-2000ms")
    try:
        seeded = records.seed(db, Vault.from_home(data_home), sim.urls(), INTERVAL)
        fleet = _fleet(
            db,
            data_home,
            tmp_path,
            SITEKEEPER_ALERT_URLS=receiver.url,
            SITEKEEPER_EGRESS_ALLOW="loopback",  # the receiver is on loopback
            SITEKEEPER_CONFIRM_DELAY="1",
            SITEKEEPER_CHECK_TIMEOUT="5",
        )
        try:
            yield World(db, fleet, sim, receiver, seeded, _free_port())
        finally:
            fleet.stop_all()
    finally:
        sim.stop()
        receiver.close()


def _fleet(db: Database, home: Path, tmp_path: Path, **settings: str) -> Fleet:
    logs = tmp_path / "logs"
    logs.mkdir()
    return Fleet(db, home, logs, base_env(db, home, **settings))


def _start_all(w: World) -> None:
    fleet = w.fleet
    fleet.start("web", "web", "--web-port", str(w.web_port))
    for name in SCHEDULERS:
        fleet.start(name, "scheduler")
    for name in WORKERS:
        fleet.start(name, "worker")
    fleet.ready("web", *SCHEDULERS, *WORKERS, deadline=90)


def _burst(w: World, site_ids: list[int]) -> list[int]:
    """Ask for a check of each site at once through the API, and kill the web process
    once the first answer is in; the ids of the tasks it answered with."""
    answered: list[int] = []
    failed = 0
    lock = threading.Lock()

    def one(site_id: int) -> None:
        nonlocal failed
        try:
            r = httpx.post(f"{w.web}/api/sites/{site_id}/check", headers=w.auth(), timeout=30)
        except httpx.HTTPError:
            with lock:
                failed += 1
            return
        with lock:
            if r.status_code == 202:
                answered.append(int(r.json()["id"]))
            else:
                failed += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in site_ids]
    for t in threads:
        t.start()
    until("a first answer", lambda: answered)
    w.fleet.kill("web")
    for t in threads:
        t.join(60)
    return answered


@pytest.mark.timeout(300)
def test_kill_9_of_each_kind_loses_and_doubles_nothing(world: World) -> None:
    w, db, fleet = world, world.db, world.fleet
    names, ids = w.seeded.names, w.seeded.site_ids
    _start_all(w)
    until("every site checked", lambda: records.sites_checked(db) == SITES, 2 * INTERVAL + 30)
    start = time.time()

    # 1. Site 0 goes down; the scheduler that sends its alert dies once the channel has it.
    down_a, down_b = 0, 1
    w.sim.down(down_a)
    armed = w.receiver.kill_sender_of(
        lambda p: names[down_a] in p.title + p.message, fleet.pids("scheduler")
    )
    assert armed.done.wait(4 * INTERVAL), "no alert for the site that went down"
    assert armed.killed in SCHEDULERS, f"the alert came from no scheduler: {armed}"
    fleet.reap(armed.killed)
    fleet.start(armed.killed, "scheduler")  # as its supervisor would

    # 2. A worker during checks, while site 1 fails and is being confirmed.
    w.sim.down(down_b)
    until("checks under way", lambda: w.sim.in_flight() >= 10, 2 * INTERVAL)
    worker_killed = time.time()
    fleet.kill("w1")
    fleet.start("w1", "worker")

    # 3. The other scheduler, once the first one is back (a hot standby for it).
    fleet.ready(armed.killed)
    other_killed = time.time()
    fleet.kill(other := next(n for n in SCHEDULERS if n != armed.killed))
    fleet.start(other, "scheduler")

    # 4. The web process, in the middle of a burst of API requests.
    burst = ids[10:30]
    answered = _burst(w, burst)
    fleet.start("web", "web", "--web-port", str(w.web_port))
    fleet.ready("web", "w1", other)

    # Both outages are seen and over, and every alert and task settles.
    until("both incidents open", lambda: len(records.incidents(db)) == 2, 3 * INTERVAL)
    w.sim.up(down_a)
    w.sim.up(down_b)
    until("both closed", lambda: all(i["closed_at"] for i in records.incidents(db)), 3 * INTERVAL)
    until("every alert sent", lambda: _all_sent(db), 60)
    until("every task done", lambda: all(t[0] in DONE for t in records.tasks(db).values()), 30)
    end = time.time()

    # Checks: each site at its interval; a run is skipped only if the killed worker had
    # claimed it (the gap spans the kill), and no site is checked twice in one interval.
    times = records.check_times(db)
    skipped = 0
    for site_id in ids:
        for a, b in _pairs(times.get(site_id, []), start, end):
            assert b - a <= 2 * INTERVAL + LAG, (site_id, a - start, b - start)
            if b - a > 1.5 * INTERVAL:
                skipped += 1
                assert a <= worker_killed <= b, ("a run lost away from any kill", site_id)
        if site_id not in burst:  # checks asked for through the API come on top
            shortest = min(records.spacings(times[site_id]))
            assert shortest >= INTERVAL / 2, (site_id, "checked twice in one interval")
    print(f"\nruns skipped after kill -9 of a worker: {skipped}")

    # Journal: one incident opened and one closed per outage, for no other site.
    journal = records.event_counts(db, "incident.opened", "incident.closed")
    site_a, site_b = ids[down_a], ids[down_b]
    assert journal == {
        ("incident.opened", site_a): 1,
        ("incident.closed", site_a): 1,
        ("incident.opened", site_b): 1,
        ("incident.closed", site_b): 1,
    }

    # Alerts: one per incident change, except the one whose sender died after the channel
    # had it: at-least-once, it came again from the surviving scheduler.
    got = Counter((p.kind, _site_of(p, names)) for p in w.receiver.posts)
    assert got == {
        ("failure", names[down_a]): 2,
        ("success", names[down_a]): 1,
        ("failure", names[down_b]): 1,
        ("success", names[down_b]): 1,
    }
    again = [p.at for p in w.receiver.posts if got[(p.kind, _site_of(p, names))] == 2]
    print(f"the alert killed in flight came again {again[1] - again[0]:.1f} s later")
    rows = records.outbox(db)
    assert len(rows) == 4 and all(r["status"] == "sent" for r in rows)
    assert records.sent_events(db) == {r["id"]: 1 for r in rows}  # journaled once each
    # Attempts: the row killed in flight was claimed again. Any further attempt was a claim
    # held by the other scheduler when it died (queued before that kill, sent after): kill
    # -9 between a claim and its send costs an attempt, not a message (sent once, above).
    for row in rows:
        killed_in_flight = (row["event"], row["site_id"]) == ("incident.opened", site_a)
        extra = row["attempts"] - (2 if killed_in_flight else 1)
        assert extra in (0, 1), row
        if extra:
            assert row["queued"] <= other_killed <= row["sent"], row

    # Tasks: every request the killed web process answered ran; none is stuck.
    done = records.tasks(db)
    assert set(answered) <= set(done)
    assert all(status == "ok" for status, _ in done.values()), done
    assert fleet.errors() == {}


# Seconds a check may end after its due time on 2 busy cores (lag, the sites' latency,
# a failure's confirmation); well below a further interval, so a second skipped run shows.
LAG = 7.0
DONE = ("ok", "failed")  # a task's final states


def _all_sent(db: Database) -> bool:
    rows = records.outbox(db)
    return bool(rows) and all(r["status"] == "sent" for r in rows)


def _pairs(times: list[float], start: float, end: float) -> list[tuple[float, float]]:
    """Consecutive moments in [start, end]: start, each check, end."""
    marks = [start, *(t for t in times if start <= t <= end), end]
    return list(itertools.pairwise(marks))


def _site_of(post: Post, names: list[str]) -> str | None:
    return next((n for n in names if n in post.title + post.message), None)


# --- a backup of a real WordPress site (wp5), its worker killed mid-way ------------------------


@pytest.mark.realsites
@pytest.mark.timeout(300)
def test_a_backup_whose_worker_is_killed_runs_again_elsewhere_once(
    db: Database, tmp_path: Path, data_home: Path, update_sites_up: None
) -> None:
    site_id = add_wp_site(db, Vault.from_home(data_home), wp_record(5))
    auth = {"Authorization": f"Bearer {records.admin_token(db)}"}
    fleet = _fleet(db, data_home, tmp_path)
    try:
        port = _free_port()
        fleet.start("web", "web", "--web-port", str(port))
        for name in ("b1", "b2"):
            fleet.start(name, "worker")
        fleet.ready("web", "b1", "b2", deadline=90)
        asked = httpx.post(f"http://127.0.0.1:{port}/api/sites/{site_id}/backups", headers=auth)
        assert asked.status_code == 202, asked.text
        task_id = int(asked.json()["id"])

        # kill -9 of the worker (and its rsync, ssh, restic) while restic writes the snapshot.
        taken_by = until("the backup runs", lambda: _backup_under_way(db, site_id, task_id))
        name = taken_by.split("/")[0]
        until("restic writes", lambda: any("backup" in c for c in fleet.running(name)), 120)
        killed = fleet.kill(name)
        until("the task is over", lambda: records.task(db, task_id)["status"] in DONE, 180)
    finally:
        fleet.stop_all()

    row = records.task(db, task_id)
    assert (row["status"], row["error"]) == ("ok", None), row
    assert row["worker"] != killed.registered_as  # run again by the other worker
    runs = records.backup_runs(db, site_id)
    assert [r["status"] for r in runs] == ["interrupted", "ok"], runs
    assert runs[0]["error"] == INTERRUPTED
    assert runs[1]["snapshot_id"]
    asyncio.run(_restic_check(db, data_home))


def _backup_under_way(db: Database, site_id: int, task_id: int) -> str:
    """The worker whose backup run of the task is recorded as running ("" if none is)."""
    task = records.task(db, task_id)
    runs = records.backup_runs(db, site_id)
    if task["status"] == "running" and any(r["status"] == "running" for r in runs):
        return str(task["worker"])
    return ""


async def _restic_check(db: Database, home: Path) -> None:
    """``restic check`` of the repository the backups went to (the agency default)."""
    vault = Vault.from_home(home)
    ctx = BackupContext(db=db, vault=vault, settings=BackupSettings(home=home), alert_urls=[])
    with db.session() as s:
        [row] = s.scalars(select(BackupRepository)).all()
        repo = open_stored(row, vault)
    await ctx.restic(repo).check()
