"""``serve --role``: a web, a scheduler and a worker process on one PostgreSQL.

Real processes (``python -m sitekeeper serve``), one data directory (one vault) as on
hosts sharing their secret key, short heartbeats (a process silent for 1.5 s is gone).
Waits are on the database's state or the command's output under a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from sitekeeper.store.database import Database, head_revisions
from sitekeeper.store.tables import Site, SiteState
from sitekeeper.store.task_tables import OK
from tests.engine.test_job_queue import task_row, until
from tests.web.conftest import World, world

__all__ = ["world"]

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """``serve`` processes of several roles on one database; stopped at the end."""

    def __init__(self, db: Database, home: Path) -> None:
        self.db, self.home = db, home
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            "SITEKEEPER_HOME": str(home),
            "SITEKEEPER_DATABASE_URL": db.url,
            "SITEKEEPER_CONFIRM_DELAY": "0",
            "SITEKEEPER_JOB_HEARTBEAT_SECONDS": "0.5",
            "SITEKEEPER_JOB_STALLED_SECONDS": "2",
            "SITEKEEPER_JOB_SWEEP_SECONDS": "1",
        }

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.home.parent / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sitekeeper", "serve", "--stats-interval", "0", *args],
            cwd=ROOT,
            env={**self.env, "SITEKEEPER_WORKER_NAME": name},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        until(f"{name} registered", lambda: self.registered(f"{name}/{proc.pid}") or proc.poll())
        assert proc.poll() is None, self.log(name)
        return proc

    def log(self, name: str) -> str:
        return (self.home.parent / f"{name}.log").read_text()[-3000:]

    def registered(self, name: str) -> bool:
        with self.db.engine.connect() as conn:
            found = conn.scalar(text("SELECT count(*) FROM workers WHERE name = :n"), {"n": name})
            return bool(found)

    def workers_json(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "sitekeeper", "workers", "--json"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        listed: list[dict[str, Any]] = json.loads(done.stdout)
        return listed

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
def cluster(db: Database, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(db, tmp_path / "home")
    yield c
    c.stop_all()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_web_scheduler_and_worker_processes_share_the_work(
    db: Database, world: World, cluster: Cluster
) -> None:
    site_id = world.acme_sites[0]
    with db.session() as s:  # nothing listens there: the check is quick and "down"
        s.execute(update(Site).where(Site.id == site_id).values(url="http://127.0.0.1:1/"))
    port = _free_port()
    web = cluster.start("web", "--role", "web", "--web-port", str(port))
    scheduler = cluster.start("scheduler", "--role", "scheduler", "--location", "eu-central")
    worker = cluster.start("worker", "--role", "worker", "--queues", "tasks,backups")

    # A check asked for through the web process's API runs on the worker process.
    auth = {"Authorization": f"Bearer {world.admin_token}"}
    base = f"http://127.0.0.1:{port}"
    answer = httpx.post(f"{base}/api/sites/{site_id}/check", headers=auth, timeout=30)
    assert answer.status_code == 202, answer.text
    task_id = int(answer.json()["id"])
    until("the check task is done", lambda: task_row(db, task_id).status == OK)
    assert task_row(db, task_id).worker == f"worker/{worker.pid}"
    with db.session() as s:
        state = s.get(SiteState, site_id)
        assert state is not None and not state.up

    listed = {w["name"]: w for w in cluster.workers_json()}
    assert {n: (w["role"], w["state"]) for n, w in listed.items()} == {
        f"web/{web.pid}": ("web", "running"),
        f"scheduler/{scheduler.pid}": ("scheduler", "running"),
        f"worker/{worker.pid}": ("worker", "running"),
    }
    mine = listed[f"worker/{worker.pid}"]
    assert mine["queues"] == ["tasks", "backups"]
    assert mine["location"] == "default"
    assert listed[f"scheduler/{scheduler.pid}"]["location"] == "eu-central"
    assert [mine["schema_revision"]] == sorted(head_revisions()) and mine["pid"] == worker.pid

    # kill -9: no goodbye; after three silent heartbeats it is listed as gone.
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)

    def states() -> dict[str, str]:
        return {w["name"]: w["state"] for w in cluster.workers_json()}

    until("the killed worker is gone", lambda: states()[f"worker/{worker.pid}"] == "gone")
    after = states()
    assert after[f"web/{web.pid}"] == after[f"scheduler/{scheduler.pid}"] == "running"


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_worker_shows_the_jobs_it_runs(db: Database, cluster: Cluster, tmp_path: Path) -> None:
    from tests.engine.test_job_queue import queue_task, runs

    cluster.env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.job_worker"],
        cwd=ROOT,
        env={**cluster.env, "SITEKEEPER_WORKER_NAME": "held", "SITEKEEPER_WEB_PORT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cluster.procs["held"] = proc
    until("held registered", lambda: cluster.registered(f"held/{proc.pid}"))
    log = tmp_path / "runs.txt"
    queue_task(db, "test-hold", {"name": "a", "log": str(log)})
    until("the task runs", lambda: runs(log))
    listed = {w["name"]: w for w in cluster.workers_json()}
    assert listed[f"held/{proc.pid}"]["jobs_running"] == 1
    assert listed[f"held/{proc.pid}"]["role"] == "all"


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_running_worker_stops_once_a_newer_version_migrated_the_database(
    db: Database, cluster: Cluster
) -> None:
    worker = cluster.start("old", "--role", "worker")
    with db.engine.begin() as conn:  # a newer sitekeeper on another host migrated it
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    until("the old worker stops by itself", lambda: worker.poll() is not None)
    assert "this worker is older than the database schema" in cluster.log("old")
