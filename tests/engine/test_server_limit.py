"""The per-server limit across worker processes: no more than ``server_parallel``
backups at once on one client server, while other servers' backups run beside them.

Real worker processes (``tests.engine.job_worker``) run simulated backups
(``tests.engine.backup_standin``) queued the way the API queues them, so the jobs carry
the real ``job_spec`` locks. Each run writes its start and end; the first runs hold
until the test has seen them under way together, the rest run 50 ms each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.engine import dispatch
from sitekeeper.engine.tasks import TASKS
from sitekeeper.store import sites, tasks
from sitekeeper.store.database import Database
from sitekeeper.store.task_tables import ACTIVE, OK
from tests.engine.backup_standin import KIND, StandInBackup, intervals, most_at_once, started
from tests.engine.test_job_queue import Workers, until, workers
from tests.store.factories import NOW
from tests.store.factories import baker as a_client

__all__ = ["workers"]

pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)

WORK = 0.05  # seconds of simulated transfer once the gate is open
WORKER_ENV = {
    "SITEKEEPER_TEST_ROLE": "worker",
    "SITEKEEPER_BACKUP_CONCURRENCY": "3",
    "SITEKEEPER_JOB_POLL_SECONDS": "0.2",  # a job behind a freed lock waits for this
}


@pytest.fixture
def standin() -> Iterator[None]:
    """The stand-in's kind known here too, so its jobs get the backups' queue and locks."""
    TASKS.add(KIND, StandInBackup)
    yield
    TASKS.remove(KIND)


def servers_sites(db: Database, hosts: dict[str, int]) -> dict[str, list[int]]:
    """``hosts[h]`` paused sites (nothing checks them) reached over SSH on each host."""
    made: dict[str, list[int]] = {}
    with db.session() as s:
        client = a_client(s)
        for host, count in hosts.items():
            for n in range(count):
                fields = sites.SiteFields(
                    url=f"https://{host}/{n}",
                    client=client,
                    ssh={"host": host, "user": "www"},
                    paused=True,
                )
                site = sites.add_site(s, fields, NOW, default_interval=300)
                made.setdefault(host, []).append(site.id)
    return made


def queue_backup(db: Database, site_id: int, params: dict[str, Any], parallel: int) -> int:
    """What the API's queue_task does: the row, then its job, in one transaction."""
    with db.session() as s:
        task, created = tasks.enqueue(
            s, KIND, site_id=site_id, params=params, requested_by=None, now=NOW
        )
        assert created
        dispatch.defer(s, task, server_parallel=parallel, priority=0)
        return task.id


def drain(
    db: Database, workers: Workers, tmp_path: Path, hosts: dict[str, int], parallel: int
) -> tuple[dict[str, list[int]], dict[int, tuple[float, float]]]:
    """Queue one stand-in backup per site, see each server's first ``parallel`` runs under
    way at once, then let all run out; each server's sites and every site's run."""
    made = servers_sites(db, hosts)
    log, gate = tmp_path / "runs.txt", tmp_path / "gate"
    workers.launch("w1", **WORKER_ENV)  # both start while the backups are queued
    workers.launch("w2", **WORKER_ENV)
    ids = [
        queue_backup(db, site, {"log": str(log), "gate": str(gate), "work": WORK}, parallel)
        for host in made
        for site in made[host]
    ]
    wanted = {host: min(parallel, len(made[host])) for host in made}

    def all_servers_busy() -> bool:
        workers.check_alive("w1", "w2")
        now = set(started(log))
        return all(len(now & set(made[h])) >= n for h, n in wanted.items())

    until("every server's first backups are under way together", all_servers_busy)
    gate.touch()
    until("every backup is done", lambda: all(done(db, i) for i in ids))
    return made, intervals(log)


def done(db: Database, task_id: int) -> bool:
    with db.session() as s:
        row = tasks.get_task(s, task_id)
        assert row is not None
        assert row.status in (*ACTIVE, OK), row.error
        return row.status == OK


def test_one_backup_at_a_time_per_server_across_workers(
    db: Database, workers: Workers, tmp_path: Path, standin: None
) -> None:
    made, runs = drain(db, workers, tmp_path, {"a.example": 5, "b.example": 5}, parallel=1)
    assert sorted(runs) == sorted(made["a.example"] + made["b.example"])
    a = [runs[i] for i in made["a.example"]]
    b = [runs[i] for i in made["b.example"]]
    assert most_at_once(a) == 1
    assert most_at_once(b) == 1
    assert most_at_once(a + b) == 2  # the two servers' backups ran side by side


def test_two_at_a_time_with_server_parallel_2(
    db: Database, workers: Workers, tmp_path: Path, standin: None
) -> None:
    made, runs = drain(db, workers, tmp_path, {"a.example": 6, "b.example": 2}, parallel=2)
    a = [runs[i] for i in made["a.example"]]
    b = [runs[i] for i in made["b.example"]]
    assert most_at_once(a) == 2
    assert most_at_once(b) == 2
    assert most_at_once(a + b) == 4
