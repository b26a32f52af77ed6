"""Scheduled backups on PostgreSQL's job engine, end to end with real processes: a
scheduler process plans the backup a real WordPress site's plan makes due, a worker
process (a different one) takes its job and backs the site up over SSH; the run is a
scheduled one (the plan's retention applies), the task is the record, and the next round
queues nothing more (the site is no longer due)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from sitekeeper.store.backup_tables import OK as RUN_OK
from sitekeeper.store.backup_tables import SCHEDULED, BackupRun
from sitekeeper.store.database import Database
from sitekeeper.store.task_tables import OK, Task
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site
from tests.engine.test_job_queue import Workers, until, workers
from tests.realsites import real_wp_sites

__all__ = ["real_wp_sites", "workers"]

pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)


def test_a_due_backup_is_planned_by_the_scheduler_and_run_by_a_worker(
    db: Database, workers: Workers, real_wp_sites: list[dict[str, Any]]
) -> None:
    wp1 = real_wp_sites[0]
    site_id = add_wp_site(db, Vault.from_home(workers.home), wp1, plan_options={"backup": "daily"})
    env = {"SITEKEEPER_TEST_BACKUPS": "1", "SITEKEEPER_TEST_PLAN_SECONDS": "1"}
    workers.start("sched", SITEKEEPER_TEST_ROLE="scheduler", **env)
    workers.start("backer", SITEKEEPER_TEST_ROLE="worker", **env)

    def finished() -> Task | None:
        with db.session() as s:
            task = s.scalars(select(Task).where(Task.kind == "backup")).first()
            return task if task is not None and task.status not in ("queued", "running") else None

    task = until("the scheduled backup's task finishes", finished, deadline=180)
    assert (task.status, task.error) == (OK, None)
    assert (task.site_id, task.requested_by, task.params) == (site_id, None, {"scheduled": True})
    assert task.worker is not None and task.worker.startswith("backer/")
    # Planning rounds after it (every second) find the site backed up: no second task.
    after = _last_round(db)
    until("two more planning rounds", lambda: _last_round(db) >= after + 2)
    with db.session() as s:
        runs = s.scalars(select(BackupRun).where(BackupRun.site_id == site_id)).all()
        assert [(r.status, r.reason) for r in runs] == [(RUN_OK, SCHEDULED)]
        assert [t.id for t in s.scalars(select(Task).where(Task.kind == "backup"))] == [task.id]


def _last_round(db: Database) -> int:
    """The period (epoch seconds) of the planning round deferred last."""
    with db.engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT max(defer_timestamp) FROM procrastinate_periodic_defers "
                    "WHERE task_name = 'sitekeeper.every.plan'"
                )
            )
            or 0
        )
