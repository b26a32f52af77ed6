"""`serve` end to end on loopback: a site goes down, is confirmed, alerted, recovers;
SIGTERM stops it in bounded time whatever is in flight.

Real HTTP site and real webhook receiver (aiohttp on 127.0.0.1), real Apprise
delivery, the store on SQLite and PostgreSQL. Waits are on events and on
conditions in the store, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update

from sitekeeper.config import load_settings
from sitekeeper.engine.service import Service
from sitekeeper.engine.tasks import STOPPED
from sitekeeper.store import tasks as task_store
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Event, Incident, Job, Site, SiteState
from sitekeeper.vault import Vault


@dataclass
class Loopback:
    """A site that can be switched down, and a webhook that queues what it receives."""

    site_url: str
    hook_url: str
    healthy: bool = True
    site_hits: int = 0
    hook_delay: float = 0.0  # seconds the webhook takes to answer, once it has the alert
    alerts: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    hit: asyncio.Event = field(default_factory=asyncio.Event)

    async def hit_after(self, count: int) -> None:
        """Wait until the site has been requested more than ``count`` times."""
        while self.site_hits <= count:
            self.hit.clear()
            await self.hit.wait()


@pytest.fixture
async def loopback() -> AsyncIterator[Loopback]:
    state = Loopback("", "")

    async def page(_request: web.Request) -> web.Response:
        state.site_hits += 1
        state.hit.set()
        if state.healthy:
            return web.Response(text="<title>Bäckerei</title>", content_type="text/html")
        return web.Response(status=503, text="maintenance")

    async def hook(request: web.Request) -> web.Response:
        await state.alerts.put(await request.json())
        await asyncio.sleep(state.hook_delay)  # a slow receiver, not a wait in the test
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.site_url = f"http://127.0.0.1:{port}/"
    state.hook_url = f"json://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


def _register(db: Database, lb: Loopback, home: Path) -> int:
    vault = Vault.from_home(home)
    with db.session() as s:
        client = Client(
            name="Bäckerei Müller",
            language="de",
            alert_urls=[vault.encrypt(lb.hook_url)],  # as `client add --alert-url` stores it
            created_at=datetime.now(UTC),
        )
        s.add(client)
        s.flush()
        site = Site(name="baeckerei", url=lb.site_url, client=client, created_at=datetime.now(UTC))
        s.add(site)
        s.flush()
        s.add(Job(kind="check", site_id=site.id, interval=3600, next_run_at=time.time()))
        return site.id


def _due_now(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(Job).values(next_run_at=time.time()))


async def _running(db: Database, home: Path) -> tuple[Service, asyncio.Event, asyncio.Task[None]]:
    # The alert hook listens on loopback, which alerts may not reach by default.
    settings = load_settings(home=home, confirm_delay=0, check_timeout=5, egress_allow=["loopback"])
    service = Service(settings, db, delivery_interval=0.1, software_intel=False, backups=False)
    stop = asyncio.Event()
    return service, stop, asyncio.create_task(service.run(stop))


async def _stop(stop: asyncio.Event, task: Awaitable[None]) -> None:
    stop.set()
    await task


def _open_incidents(db: Database) -> list[Incident]:
    with db.session() as s:
        return list(s.scalars(select(Incident).where(Incident.closed_at.is_(None))))


def _events(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(Event.kind).order_by(Event.id)))


async def test_down_is_confirmed_alerted_once_and_survives_a_restart(
    db: Database, loopback: Loopback, tmp_path: Path
) -> None:
    site_id = _register(db, loopback, tmp_path)
    service, stop, task = await _running(db, tmp_path)

    def state_up() -> bool | None:
        with db.session() as s:
            state = s.get(SiteState, site_id)
            return state.up if state else None

    await asyncio.wait_for(service.recorder.wait_until(lambda: state_up() is True), 15)
    assert loopback.site_hits == 1
    assert loopback.alerts.empty()

    loopback.healthy = False
    hits_before = loopback.site_hits
    _due_now(db)
    alert = await asyncio.wait_for(loopback.alerts.get(), timeout=15)
    assert alert["title"] == "AUSGEFALLEN: baeckerei"  # the client's language is German
    assert alert["type"] == "failure"  # what Slack, Teams and pagers colour and route by
    assert "http_status" in alert["message"]
    assert "ist seit" in alert["message"]
    assert loopback.site_hits - hits_before == 2  # the failure was confirmed by a re-check
    (incident,) = _open_incidents(db)
    assert incident.kind == "down"
    assert incident.cause is not None and incident.cause.startswith("http_status")

    # Still down at the next check: no second incident, no second alert.
    _due_now(db)
    hits_before = loopback.site_hits
    await asyncio.wait_for(loopback.hit_after(hits_before), 15)
    await _stop(stop, task)  # stopping flushes the results of running checks
    assert loopback.alerts.empty()
    assert len(_open_incidents(db)) == 1

    # A restart loses no incident state: recovery closes the same incident.
    loopback.healthy = True
    service, stop, task = await _running(db, tmp_path)
    _due_now(db)
    recovered = await asyncio.wait_for(loopback.alerts.get(), timeout=15)
    await _stop(stop, task)
    assert recovered["title"] == "WIEDER ERREICHBAR: baeckerei"
    assert recovered["type"] == "success"
    assert _open_incidents(db) == []
    with db.session() as s:
        closed = s.scalars(select(Incident)).one()
    assert closed.id == incident.id and closed.closed_at is not None
    kinds = _events(db)
    assert kinds.count("incident.opened") == 1
    assert kinds.count("incident.closed") == 1
    assert kinds.count("notification.sent") == 2
    assert loopback.alerts.empty()


@dataclass
class BlackHole:
    """A DNS server that swallows every query (the servers of dead domains)."""

    port: int = 0
    queries: int = 0
    asked: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def black_hole() -> AsyncIterator[BlackHole]:
    hole = BlackHole()

    class Swallow(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            hole.queries += 1
            hole.asked.set()

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Swallow, local_addr=("127.0.0.1", 0)
    )
    hole.port = transport.get_extra_info("sockname")[1]
    yield hole
    transport.close()


def _dead_fleet(home: Path, sites: int) -> int:
    """Sites on names nobody answers for, all due now, and a queued check task; its id."""
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    now = datetime.now(UTC)
    try:
        with db.session() as s:
            c = Client(name="Tote Domains", created_at=now)
            s.add(c)
            s.flush()
            rows = [
                Site(name=f"dead-{i}", url=f"http://dead-{i}.example/", client=c, created_at=now)
                for i in range(sites)
            ]
            s.add_all(rows)
            s.flush()
            s.add_all(
                Job(kind="check", site_id=r.id, interval=3600, next_run_at=time.time())
                for r in rows
            )
            task, _ = task_store.enqueue(
                s, "check", site_id=rows[0].id, params={}, requested_by=None, now=now
            )
            return task.id
    finally:
        db.dispose()


async def test_a_stop_lets_the_alert_being_sent_finish_and_records_it(
    db: Database, loopback: Loopback, tmp_path: Path
) -> None:
    """Stopped while the webhook has the alert but has not answered yet: the send gets the
    stop's grace like any running work, and its outcome is stored. Cut off there, it would
    go out a second time once its claim lapsed."""
    _register(db, loopback, tmp_path)
    loopback.healthy, loopback.hook_delay = False, 1.0
    service, stop, task = await _running(db, tmp_path)
    alert = await asyncio.wait_for(loopback.alerts.get(), timeout=20)
    await _stop(stop, task)  # the webhook answers a second later
    assert alert["title"] == "AUSGEFALLEN: baeckerei"
    assert _events(db).count("notification.sent") == 1


async def test_sigterm_stops_serve_in_bounded_time_while_lookups_hang(
    tmp_path: Path, black_hole: BlackHole
) -> None:
    """Hundreds of checks and a task waiting on a DNS server that never answers: SIGTERM
    still ends `serve` promptly (not after the checks' minute-long deadlines), and the
    task is failed as interrupted."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    task_id = _dead_fleet(home, 300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEKEEPER_")}
    env.update(
        SITEKEEPER_HOME=str(home),
        SITEKEEPER_DNS_SERVERS=f"127.0.0.1:{black_hole.port}",
        SITEKEEPER_DNS_TIMEOUT="30",
        SITEKEEPER_CHECK_TIMEOUT="60",
        SITEKEEPER_STOP_TIMEOUT="1",
        SITEKEEPER_WEB_PORT="0",
    )
    exe = Path(sys.executable).parent / "sitekeeper"
    proc = await asyncio.create_subprocess_exec(
        str(exe), "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    log: list[str] = []
    try:

        async def started() -> None:
            assert proc.stderr is not None
            while f"task {task_id}: check of site" not in "".join(log):
                line = await proc.stderr.readline()
                assert line, "serve ended early:\n" + "".join(log)
                log.append(line.decode())
            while black_hole.queries < 300:
                black_hole.asked.clear()
                await black_hole.asked.wait()

        await asyncio.wait_for(started(), 60)
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stderr.read(), 30)  # a bound, not a benchmark
        log.append(rest.decode())
        assert await proc.wait() == 0, "".join(log)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "stopped cleanly" in log[-1]
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    try:
        with db.session() as s:
            task = task_store.get_task(s, task_id)
            assert task is not None
            assert (task.status, task.error) == ("failed", STOPPED)
    finally:
        db.dispose()


def test_a_second_serve_on_a_busy_port_says_so_and_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SITEKEEPER_")}
        env["SITEKEEPER_HOME"] = str(home)
        exe = Path(sys.executable).parent / "sitekeeper"
        second = subprocess.run(
            [str(exe), "serve", "--web-host", "127.0.0.1", "--web-port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr  # one line, no traceback, no log
    assert second.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert "in use" in second.stderr
    assert not home.exists()  # no database opened, nothing checked
