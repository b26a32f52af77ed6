"""Tasks on PostgreSQL's job queue (procrastinate), with real worker processes.

Each worker is ``tests.engine.job_worker``: the service ``serve`` runs, in its own
process, with short heartbeats (a worker silent for 2 s is taken for dead). A worker is
killed with SIGKILL, as a crash or a lost host would. Waits are on the database's state
under a deadline, never fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from sitekeeper.engine import dispatch
from sitekeeper.engine.job_queue import CRASHED, defer_job
from sitekeeper.errors import UsageError
from sitekeeper.store import tasks as queue
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site, SiteState
from sitekeeper.store.task_tables import FAILED, OK, Task
from tests.store.factories import NOW
from tests.web.conftest import Live, World, live, world

__all__ = ["live", "world"]  # the web tests' fixtures: the seeded agency, its served app

pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)

ROOT = Path(__file__).parents[2]
DEADLINE = 60.0


def until(what: str, predicate: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """``predicate()``'s first true value, looked at every 50 ms; fails after ``deadline``."""
    end = time.monotonic() + deadline
    while not (value := predicate()):
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline:g}s: {what}")
        time.sleep(0.05)
    return value


class Workers:
    """Worker processes on one database; stopped (or killed) at the end of the test."""

    def __init__(self, db: Database, home: Path) -> None:
        self.db, self.home = db, home
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        """Start a worker process and wait until it takes jobs; ``extra``: more environment
        (e.g. its role)."""
        before = self.registered()
        proc = self.launch(name, **extra)
        until(f"worker {name} registered", lambda: self.registered() > before or proc.poll())
        self.check_alive(name)
        return proc

    def launch(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        """Start a worker process without waiting for it (jobs wait in the queue)."""
        env = {
            **os.environ,
            "SITEKEEPER_HOME": str(self.home),
            "SITEKEEPER_DATABASE_URL": self.db.url,
            "SITEKEEPER_WORKER_NAME": name,
            "SITEKEEPER_WEB_PORT": "0",
            "SITEKEEPER_CONFIRM_DELAY": "0",
            "SITEKEEPER_JOB_HEARTBEAT_SECONDS": "0.5",
            "SITEKEEPER_JOB_STALLED_SECONDS": "2",
            "SITEKEEPER_JOB_SWEEP_SECONDS": "1",
            **extra,
        }
        log = (self.home.parent / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.job_worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def check_alive(self, *names: str) -> None:
        """Fail with its log's end if one of the workers ``names`` has exited."""
        for name in names:
            log = self.home.parent / f"{name}.log"
            assert self.procs[name].poll() is None, log.read_text()[-3000:]

    def registered(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM procrastinate_workers")) or 0)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(db: Database, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(db, tmp_path / "home")
    yield w
    w.stop_all()


def queue_task(db: Database, kind: str, params: dict[str, Any], site_id: int | None = None) -> int:
    """What the web layer's queue_task does: the row, then its job, in one transaction."""
    with db.session() as s:
        task, created = queue.enqueue(
            s, kind, site_id=site_id, params=params, requested_by=None, now=NOW
        )
        if created:
            dispatch.defer(s, task, server_parallel=2)
        return task.id


def task_row(db: Database, task_id: int) -> Task:
    with db.session() as s:
        row = queue.get_task(s, task_id)
        assert row is not None
        return row


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def job_status(db: Database, job_id: int) -> str | None:
    with db.engine.connect() as conn:
        status = conn.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
        return None if status is None else str(status)


def test_a_task_queued_through_the_api_runs_on_a_job_worker(
    db: Database, world: World, live: Live, workers: Workers
) -> None:
    site_id = world.acme_sites[0]
    with db.session() as s:  # nothing listens there: the check is quick and "down"
        s.execute(update(Site).where(Site.id == site_id).values(url="http://127.0.0.1:1/"))
    worker = workers.start("api-worker")
    auth = {"Authorization": f"Bearer {world.admin_token}"}
    answer = httpx.post(f"{live.base}/api/sites/{site_id}/check", headers=auth, timeout=30)
    assert answer.status_code == 202, answer.text
    task_id = int(answer.json()["id"])
    done = until("the check task is done", lambda: task_row(db, task_id).finished_at)
    row = task_row(db, task_id)
    assert (row.status, row.error) == (OK, None), row.error
    assert row.job_id is not None
    assert row.worker == f"api-worker/{worker.pid}"
    assert done >= row.started_at
    with db.session() as s:  # the worker process checked the site and recorded it
        state = s.get(SiteState, site_id)
        assert state is not None and not state.up


def test_a_killed_worker_s_task_is_run_again_by_another_worker_once(
    db: Database, workers: Workers, tmp_path: Path
) -> None:
    log = tmp_path / "runs.txt"
    first = workers.start("w1")
    task_id = queue_task(db, "test-hold", {"name": "a", "log": str(log)})
    until("w1 runs the task", lambda: runs(log))
    second = workers.start("w2")
    workers.kill("w1")
    until("the task is done", lambda: task_row(db, task_id).status == OK)
    assert runs(log) == [f"{first.pid} a", f"{second.pid} a"]
    row = task_row(db, task_id)
    assert row.worker == f"w2/{second.pid}"
    assert row.job_id is not None
    # Done jobs are deleted, so it cannot run again: just after the row's outcome is stored.
    until("its job is deleted", lambda: job_status(db, row.job_id or 0) is None)


def test_a_killed_worker_s_update_like_task_is_interrupted_not_run_again(
    db: Database, workers: Workers, tmp_path: Path
) -> None:
    log = tmp_path / "runs.txt"
    first = workers.start("w1")
    task_id = queue_task(db, "test-hold-once", {"name": "u", "log": str(log)})
    until("w1 runs the task", lambda: runs(log))
    workers.start("w2")
    workers.kill("w1")
    until("the task is failed", lambda: task_row(db, task_id).status == FAILED)
    row = task_row(db, task_id)
    assert row.error == CRASHED
    assert row.job_id is not None
    until("its job is failed", lambda: job_status(db, row.job_id or 0) == "failed")
    assert runs(log) == [f"{first.pid} u"]


def test_one_waiting_job_per_site_and_kind(db: Database, world: World, live: Live) -> None:
    site_id = world.acme_sites[0]
    auth = {"Authorization": f"Bearer {world.admin_token}"}
    url = f"{live.base}/api/sites/{site_id}/backups"
    first = httpx.post(url, headers=auth, timeout=30)
    again = httpx.post(url, headers=auth, timeout=30)  # a double click: the same task
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    with db.engine.connect() as conn:
        jobs = conn.execute(
            text("SELECT queueing_lock, lock, queue_name FROM procrastinate_jobs")
        ).all()
    assert [tuple(j) for j in jobs] == [(f"backup:{site_id}", f"site:{site_id}", "backups")]
    # The engine refuses a second waiting job of the site and kind while its task lives,
    # and the refused request leaves nothing behind.
    with db.session() as s:
        live_task = s.get(Task, first.json()["id"])
        assert live_task is not None
        with pytest.raises(UsageError, match="already waiting in the job queue"):
            defer_job(s, live_task)
    assert jobs_waiting(db) == [(f"backup:{site_id}", first.json()["id"])]
    # A task finished some other way (by hand here) leaves its job waiting: the next
    # request cancels that stale job instead of being refused for ever.
    with db.session() as s:
        s.execute(update(Task).values(status=FAILED))
    fresh = queue_task(db, "backup", {}, site_id=site_id)
    assert jobs_waiting(db) == [(f"backup:{site_id}", fresh)]


def jobs_waiting(db: Database) -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT queueing_lock, (args->>'task_id')::int FROM procrastinate_jobs")
        ).all()
    return [(str(r[0]), int(r[1])) for r in rows]
