"""The scheduler's planning round on PostgreSQL: due per-site work becomes one queued task
and one job per site, with the per-server lock slots and fair priorities between clients,
and a second round (or a second scheduler) queues nothing twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sitekeeper.config import Settings, load_settings
from sitekeeper.domain.workers import ALL_QUEUES, SCHEDULE
from sitekeeper.engine import dispatch
from sitekeeper.engine.planner import PLANNED, Planned, fair_priorities, plan_due
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import handler_kinds, job_traits
from sitekeeper.store import plans
from sitekeeper.store import tasks as task_store
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from sitekeeper.store.task_tables import Task
from tests.store import factories as f
from tests.store.factories import NOW
from tests.updates.test_policy import AKISMET, CORE_FIX, site_on
from tests.updates.test_policy import NOW as POLICY_NOW

BACKUPS = tuple(p for p in PLANNED if p.kind == "backup")


def _fleet(session: Session, layout: dict[str, list[str]]) -> dict[str, list[Site]]:
    """Per client name, sites on the servers listed (one site per entry), daily backups."""
    plan = plans.add_plan(session, name="Backed up", options={"backup": "daily"}, now=NOW)
    made: dict[str, list[Site]] = {}
    for client_name, servers in layout.items():
        client = f.baker(session, name=client_name)
        contract = f.contract(session, client, plan)
        for n, server in enumerate(servers):
            name = f"{client_name.lower()}-{n}"
            site = f.site(session, client, url=f"https://{name}.example", contract=contract)
            site.ssh = {"host": server, "port": 22, "user": "u", "key_id": None, "docroot": "/d"}
            made.setdefault(client_name, []).append(site)
    session.flush()
    return made


def _jobs(session: Session) -> dict[int, dict[str, Any]]:
    """procrastinate's waiting jobs by the task id they carry."""
    rows = session.execute(
        text(
            "SELECT (args->>'task_id')::int, queue_name, lock, queueing_lock, priority "
            "FROM procrastinate_jobs WHERE status = 'todo'"
        )
    )
    return {r[0]: {"queue": r[1], "lock": r[2], "qlock": r[3], "priority": r[4]} for r in rows}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_due_backups_become_one_task_and_job_per_site_once(db: Database) -> None:
    settings = Settings(server_parallel=2)
    with db.session() as s:
        fleet = _fleet(s, {"Big": ["Web1.example"] * 4, "Small": ["web2.example"]})
        assert plan_due(s, NOW, settings, BACKUPS) == {"backup": 5}
        s.commit()
        tasks = s.scalars(select(Task).order_by(Task.id)).all()
        assert [(t.kind, t.requested_by, t.params) for t in tasks] == [
            ("backup", None, {"scheduled": True})
        ] * 5
        jobs = _jobs(s)
        by_site = {t.site_id: jobs[t.id] for t in tasks}
        big, small = fleet["Big"], fleet["Small"]
        # Per-server slots: each site always the same one, at most two on web1 at once.
        assert {by_site[x.id]["lock"] for x in big} == {
            f"server:web1.example:{x.id % 2}" for x in big
        }
        assert len({by_site[x.id]["lock"] for x in big}) == 2
        assert by_site[small[0].id]["lock"] == f"server:web2.example:{small[0].id % 2}"
        assert {j["queue"] for j in jobs.values()} == {"backups"}
        # Fair between clients: the small client's site is not behind the big one's four.
        assert [by_site[x.id]["priority"] for x in big] == [0, -1, -2, -3]
        assert by_site[small[0].id]["priority"] == 0
        # A second round, or a standby scheduler's, queues nothing again.
        assert plan_due(s, NOW + timedelta(minutes=1), settings, BACKUPS) == {}
        s.commit()
        assert len(_jobs(s)) == 5


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_person_s_request_is_not_replaced_by_the_schedule(db: Database) -> None:
    with db.session() as s:
        site = _fleet(s, {"Solo": ["web1.example"]})["Solo"][0]
        mine, _ = task_store.enqueue(
            s, "backup", site_id=site.id, params={}, requested_by=None, now=NOW
        )
        dispatch.defer(s, mine, server_parallel=2)
        s.commit()
        assert plan_due(s, NOW, Settings(), BACKUPS) == {}
        s.commit()
        assert [t.id for t in s.scalars(select(Task))] == [mine.id]
        assert _jobs(s)[mine.id]["priority"] == dispatch.ASKED


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_job_left_waiting_by_an_ended_task_is_replaced_and_the_rest_still_queued(
    db: Database,
) -> None:
    """A round queues its sites in one batch; a site whose job still waits for a task that
    ended some other way (by hand, by the in-process runner) makes it fall back to one
    site at a time, which cancels that job: every site ends with one job, its task's."""
    with db.session() as s:
        sites = _fleet(s, {"Solo": ["web1.example"] * 3})["Solo"]
        ended, _ = task_store.enqueue(
            s, "backup", site_id=sites[1].id, params={}, requested_by=None, now=NOW
        )
        dispatch.defer(s, ended, server_parallel=2)
        ended.status = "ok"
        s.commit()
        stale_job = ended.job_id

        assert plan_due(s, NOW, Settings(), BACKUPS) == {"backup": 3}
        s.commit()

        queued = s.scalars(select(Task).where(Task.status == "queued")).all()
        assert sorted(t.site_id for t in queued) == sorted(x.id for x in sites)
        waiting = s.execute(
            text("SELECT id, (args->>'task_id')::int FROM procrastinate_jobs WHERE status = 'todo'")
        ).all()
        assert sorted((t.job_id, t.id) for t in queued) == sorted(tuple(r) for r in waiting)
        assert stale_job not in {job for job, _ in waiting}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_batch_past_one_statement_s_parameters_is_queued_whole(db: Database) -> None:
    """A task row is six parameters and PostgreSQL takes 65,535 a statement: 11,000 due
    sites of one kind (a bench's, or a larger round limit) are queued in several."""
    with db.session() as s:
        contract_id = _fleet(s, {"Solo": ["web1.example"]})["Solo"][0].contract_id
        s.execute(
            text(
                "INSERT INTO sites (name, url, check_options, paused, created_at, contract_id,"
                " backup_host) SELECT 'bulk-' || n, 'https://bulk-' || n || '.example/', '{}',"
                " false, now(), :contract, 'h' || n FROM generate_series(1, 11000) AS n"
            ),
            {"contract": contract_id},
        )
        ids = list(s.scalars(select(Site.id).where(Site.name.like("bulk-%"))))
        every = Planned("backup", None, lambda *_: {i: {"scheduled": True} for i in ids})

        assert plan_due(s, NOW, Settings(), (every,)) == {"backup": 11000}
        s.commit()
        assert len(_jobs(s)) == 11000
        assert s.scalar(select(func.count()).where(Task.job_id.is_(None))) == 0


def test_fair_priorities_interleave_clients() -> None:
    ranked = fair_priorities([1, 2, 3, 4, 5], {1: 7, 2: 7, 3: 7, 4: 8, 5: None})
    assert ranked == {1: 0, 2: -1, 3: -2, 4: 0, 5: 0}


def test_site_changing_work_takes_a_server_slot_and_other_work_none() -> None:
    backup = dispatch.job_spec("backup", 7, server="web1", server_parallel=3)
    update = dispatch.job_spec("update", 7, server="web1", server_parallel=3)
    assert backup.lock == update.lock == "server:web1:1"  # one at a time on the site
    assert dispatch.job_spec("drill", 8, server="web1", server_parallel=3).lock == "server:web1:2"
    assert dispatch.job_spec("backup", 7).lock == "site:7"  # no SSH host known
    scan = dispatch.job_spec("scan", 7, server="web1", server_parallel=3)
    assert (scan.lock, scan.queue) == (None, "scans")
    assert dispatch.job_spec("check", 7).priority > dispatch.ASKED >= backup.priority


def test_every_task_kind_waits_in_a_queue_workers_can_take() -> None:
    queues = {job_traits(kind)[0] for kind in handler_kinds()}
    assert queues <= set(ALL_QUEUES) - {SCHEDULE}
    assert {"backups", "updates", "scans", "reports", "feeds", "tasks"} <= queues


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_policy_s_due_updates_become_one_update_job_per_site(db: Database) -> None:
    site_id = site_on(db, "minor", "shop")
    policy = tuple(p for p in PLANNED if p.kind == "policy-update")
    with db.session() as s:
        assert plan_due(s, POLICY_NOW, Settings(), policy) == {"policy-update": 1}
        s.commit()
        task = s.scalars(select(Task)).one()
        assert (task.site_id, task.requested_by) == (site_id, None)
        assert sorted(map(tuple, task.params["exact"])) == sorted([CORE_FIX, AKISMET])
        job = _jobs(s)[task.id]
        assert (job["queue"], job["lock"]) == ("updates", f"server:127.0.0.1:{site_id % 2}")
        # Queued already: the next round adds nothing, whatever else the policy decides.
        assert plan_due(s, POLICY_NOW + timedelta(minutes=5), Settings(), policy) == {}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_client_s_cap_holds_back_the_rest_for_later_rounds(db: Database) -> None:
    settings = Settings(client_parallel=2)
    with db.session() as s:
        fleet = _fleet(s, {"Big": ["web1.example"] * 5, "Small": ["web2.example"]})
        assert plan_due(s, NOW, settings, BACKUPS) == {"backup": 3}  # 2 of Big's, Small's
        s.commit()
        assert plan_due(s, NOW + timedelta(minutes=1), settings, BACKUPS) == {}  # still full
        # One of Big's finishes: the next round queues one more of its sites, not more.
        done = s.scalars(select(Task).where(Task.site_id == fleet["Big"][0].id)).one()
        done.status = "ok"
        s.commit()
        assert plan_due(s, NOW + timedelta(minutes=2), settings, BACKUPS) == {"backup": 1}


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_the_policies_updates_are_planned_every_few_minutes_not_every_round(
    db: Database, tmp_path: Path
) -> None:
    site_on(db, "minor", "shop")
    service = Service(load_settings(home=tmp_path), db, software_intel=False)
    try:
        periods = {p.name: p.period for p in service.periodics()}
        assert (periods["plan"], periods["plan-updates"]) == (60.0, 300.0)
        await service.plan()  # the minute's round: backups, drills, ... but no policy
        with db.session() as s:
            assert s.scalars(select(Task.kind)).all() == []
        await service.plan(policy=True)
        with db.session() as s:
            assert s.scalars(select(Task.kind)).all() == ["policy-update"]
    finally:
        await service.probe.aclose()
        service.dbthread.close()
