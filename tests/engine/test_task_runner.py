"""The task runner: bounded concurrency, wake-ups, stop and restart, errors, a real check.

Test handlers register themselves like real ones; a gate lets a test hold
tasks "running" for as long as it needs. Waits are on the runner's
condition (``wait_until``) under a deadline, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import STOPPED, TASKS, Done, NoParams, TaskContext, TaskRunner
from sitekeeper.errors import UsageError
from sitekeeper.store import leases
from sitekeeper.store import tasks as queue
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Incident, SiteState
from sitekeeper.store.task_tables import FAILED, OK, QUEUED, Task
from tests.store.factories import NOW, baker, site

DEADLINE = 20.0


@dataclass
class Gate:
    """Holds gate tasks until opened; counts how many run at once."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    started: int = 0
    running: int = 0
    peak: int = 0
    runs: dict[str, int] = field(default_factory=dict)


GATE = Gate()


class GateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@TASKS.register("test-gate")
class GateTask:
    """Waits for the test's gate, so the test decides how long a task runs."""

    Params: ClassVar[type[BaseModel]] = GateParams
    needs_site: ClassVar[bool] = False

    async def run(self, ctx: TaskContext, site_id: int | None, params: GateParams) -> Done:
        gate = GATE
        gate.started += 1
        gate.running += 1
        gate.peak = max(gate.peak, gate.running)
        gate.runs[params.name] = gate.runs.get(params.name, 0) + 1
        try:
            await gate.opened.wait()
        finally:
            gate.running -= 1
        return Done({"name": params.name})


@TASKS.register("test-refuse")
class RefuseTask:
    """Fails the way an action fails for a user's reason."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = False

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        raise UsageError("the site has no SSH access")


@TASKS.register("test-boom")
class BoomTask:
    """Crashes like a bug."""

    Params: ClassVar[type[BaseModel]] = NoParams
    needs_site: ClassVar[bool] = False

    async def run(self, ctx: TaskContext, site_id: int | None, params: NoParams) -> Done:
        raise RuntimeError("bug")


@dataclass
class Harness:
    """A service's task runner running on the test's loop, and a way to queue work."""

    db: Database
    service: Service
    stop: asyncio.Event
    loop_task: asyncio.Task[None] | None = None

    @property
    def runner(self) -> TaskRunner:
        return self.service.tasks

    def start(self) -> None:
        self.loop_task = asyncio.create_task(self.runner.run(self.stop))

    async def halt(self) -> None:
        self.stop.set()
        if self.loop_task is not None:
            await self.loop_task

    def enqueue(self, kind: str, params: dict[str, Any], site_id: int | None = None) -> int:
        with self.db.session() as s:
            task, _ = queue.enqueue(
                s, kind, site_id=site_id, params=params, requested_by=None, now=NOW
            )
            return task.id

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(DEADLINE):
            await self.runner.wait_until(predicate)

    def task(self, task_id: int) -> Task:
        with self.db.session() as s:
            row = queue.get_task(s, task_id)
            assert row is not None
            return row


def _settings(db: Database, home: Path, **changes: Any) -> Settings:
    return Settings(
        home=home,
        database_url=db.url,
        confirm_delay=0,
        task_concurrency=2,
        worker_name="test-worker",
        **changes,
    )


@pytest.fixture
async def harness(db: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    global GATE  # noqa: PLW0603 - fresh per test, and made inside this test's loop
    GATE = Gate()
    service = Service(
        _settings(db, tmp_path / "home"),
        db,
        software_intel=False,
        backups=False,
        task_poll_interval=3600,  # only wake-ups and freed slots start work in these tests
    )
    h = Harness(db, service, asyncio.Event())
    yield h
    await h.halt()
    await service.probe.aclose()
    service.dbthread.close()


async def test_runs_tasks_at_most_concurrency_at_once(harness: Harness) -> None:
    ids = [harness.enqueue("test-gate", {"name": f"t{i}"}) for i in range(5)]
    harness.start()
    await harness.until(lambda: GATE.started == 2)
    assert harness.runner.running == 2
    GATE.opened.set()
    await harness.until(lambda: harness.runner.finished == 5)
    assert GATE.peak == 2
    assert [harness.task(i).status for i in ids] == [OK] * 5
    assert harness.task(ids[0]).result == {"name": "t0"}
    assert harness.task(ids[0]).worker == "test-worker"


async def test_a_wake_up_starts_queued_work_without_waiting_for_the_poll(
    harness: Harness,
) -> None:
    harness.start()
    await harness.until(lambda: harness.runner.polls >= 1)  # idle: the next poll is in an hour
    GATE.opened.set()
    task_id = harness.enqueue("test-gate", {"name": "now"})
    harness.runner.wake()
    await harness.until(lambda: harness.runner.finished == 1)
    assert harness.task(task_id).status == OK


async def test_two_workers_run_each_task_once(harness: Harness, db: Database) -> None:
    other = TaskRunner(
        harness.service.tasks.ctx, concurrency=3, worker="other-worker", poll_interval=3600
    )
    names = [f"t{i}" for i in range(12)]
    for name in names:
        harness.enqueue("test-gate", {"name": name})
    GATE.opened.set()
    harness.start()
    other_loop = asyncio.create_task(other.run(harness.stop))

    def all_done() -> bool:
        return harness.runner.finished + other.finished == len(names)

    # Whichever runner records the last outcome wakes its waiter.
    waits = [asyncio.ensure_future(r.wait_until(all_done)) for r in (harness.runner, other)]
    async with asyncio.timeout(DEADLINE):
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    assert GATE.runs == dict.fromkeys(names, 1)
    await harness.halt()
    await other_loop
    with db.session() as s:
        workers = {t.worker for t in s.scalars(select(Task))}
    assert workers <= {"test-worker", "other-worker"}


async def test_stopping_interrupts_a_running_task(harness: Harness) -> None:
    task_id = harness.enqueue("test-gate", {"name": "long"})
    harness.start()
    await harness.until(lambda: GATE.started == 1)
    await harness.halt()
    stopped = harness.task(task_id)
    assert (stopped.status, stopped.error) == (FAILED, STOPPED)
    assert stopped.finished_at is not None


async def test_a_restart_fails_what_the_last_run_left_running(harness: Harness) -> None:
    left = harness.enqueue("test-gate", {"name": "left"})
    with harness.db.engine.begin() as conn:
        (claimed,) = queue.claim(conn, "test-worker", NOW, 1, ["test-gate"])
    assert claimed.id == left
    fresh = harness.enqueue("test-gate", {"name": "fresh"})
    GATE.opened.set()
    harness.start()
    await harness.until(lambda: harness.runner.finished == 1)
    assert (harness.task(left).status, harness.task(left).error) == (FAILED, queue.INTERRUPTED)
    assert harness.task(fresh).status == OK
    assert GATE.runs == {"fresh": 1}, "an interrupted task is not run again by itself"


async def test_failures_are_recorded_with_a_message(harness: Harness) -> None:
    refused = harness.enqueue("test-refuse", {})
    crashed = harness.enqueue("test-boom", {})
    bad = harness.enqueue("test-gate", {"name": 5, "extra": 1})
    unknown = harness.enqueue("no-such-kind", {})
    harness.start()
    await harness.until(lambda: harness.runner.finished == 3)
    assert harness.task(refused).error == "the site has no SSH access"
    assert harness.task(crashed).error == "internal error: RuntimeError: bug"
    failed = harness.task(bad)
    assert failed.status == FAILED and (failed.error or "").startswith("invalid parameters")
    assert harness.task(unknown).status == QUEUED, "no worker here runs it: it stays queued"


@pytest.fixture
async def loopback() -> AsyncIterator[dict[str, Any]]:
    """A site on 127.0.0.1 that answers 200 or 503, as the test decides."""
    state: dict[str, Any] = {"healthy": True, "hits": 0}

    async def page(_request: web.Request) -> web.Response:
        state["hits"] += 1
        if state["healthy"]:
            return web.Response(text="<title>Bäckerei</title>", content_type="text/html")
        return web.Response(status=503, text="maintenance")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    state["url"] = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    yield state
    await runner.cleanup()


async def test_a_check_task_checks_the_site_and_records_it(
    harness: Harness, loopback: dict[str, Any]
) -> None:
    with harness.db.session() as s:
        site_id = site(s, baker(s), loopback["url"], name="bakery").id
    first = harness.enqueue("check", {}, site_id)
    harness.start()
    harness.runner.wake()
    await harness.until(lambda: harness.runner.finished == 1)
    done = harness.task(first)
    assert done.status == OK, done.error
    assert done.result is not None
    assert (done.result["site"], done.result["up"], done.result["status"]) == ("bakery", True, 200)
    assert done.result["summary"].startswith("up · HTTP 200 · ")
    with harness.db.session() as s:
        state = s.get(SiteState, site_id)
        assert state is not None and state.up is True
    # Down: confirmed by a re-check, then stored with its incident, as a scheduled check is.
    loopback["healthy"] = False
    hits = loopback["hits"]
    second = harness.enqueue("check", {}, site_id)
    harness.runner.wake()
    await harness.until(lambda: harness.runner.finished == 2)
    down = harness.task(second)
    assert down.status == OK, "the check ran; the site being down is its result"
    assert down.result is not None
    assert (down.result["up"], down.result["status"]) == (False, 503)
    assert down.result["incidents"] == [{"action": "open", "kind": "down"}]
    assert down.result["summary"].startswith("down · HTTP 503 · ")
    assert loopback["hits"] == hits + 2, "a new failure is confirmed before it counts"
    with harness.db.session() as s:
        incident = s.scalar(select(Incident).where(Incident.site_id == site_id))
        assert incident is not None and incident.closed_at is None


async def test_a_check_of_a_paused_site_fails_with_the_reason(harness: Harness) -> None:
    with harness.db.session() as s:
        row = site(s, baker(s), "http://127.0.0.1:9/", name="paused")
        row.paused = True
        site_id = row.id
    task_id = harness.enqueue("check", {}, site_id)
    harness.start()
    await harness.until(lambda: harness.runner.finished == 1)
    assert "paused" in (harness.task(task_id).error or "")


async def test_back_up_now_waits_for_no_backup_running_anywhere(harness: Harness) -> None:
    """A scheduled backup of the site holds its lease (here: another serve's); the manual
    one is refused with a reason instead of running beside it."""
    with harness.db.session() as s:
        site_id = site(s, baker(s), "https://bakery.example/").id
    with harness.db.engine.begin() as conn:
        assert leases.acquire(conn, f"backup:{site_id}", "other-host", NOW, timedelta(days=365))
    busy = harness.enqueue("backup", {}, site_id)
    harness.start()
    await harness.until(lambda: harness.runner.finished == 1)
    assert harness.task(busy).error == (
        "a backup of this site is running already; try again when it is done"
    )
    with harness.db.engine.begin() as conn:
        leases.release(conn, f"backup:{site_id}", "other-host")
    free = harness.enqueue("backup", {}, site_id)
    harness.runner.wake()
    await harness.until(lambda: harness.runner.finished == 2)
    # Past the lease: the backup itself ran (and fails here: the site has no SSH access).
    assert "running already" not in (harness.task(free).error or "")
    with harness.db.engine.begin() as conn:
        assert leases.acquire(conn, f"backup:{site_id}", "other-host", NOW, timedelta(hours=1))
