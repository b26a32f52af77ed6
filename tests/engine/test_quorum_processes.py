"""Two check locations through the one path for check work: the shared ``check`` job
claimed at the home location, the ``check@us-east`` job at the other, each location's
runner and recorder writing under its own name; a site failing for both is down only
once the second location confirms it, and one alert-worthy incident opens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select, update

from sitekeeper.config import Settings
from sitekeeper.engine.check_runner import CheckRunner
from sitekeeper.engine.local import LocalDispatcher
from sitekeeper.engine.recorder import Recorder
from sitekeeper.engine.stats import Stats
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.jobs import claim_due
from sitekeeper.store.location_jobs import location_kind, sync_location_jobs
from sitekeeper.store.locations import heard_from
from sitekeeper.store.tables import CheckRaw, Incident, Job, Site
from tests.store.factories import NOW
from tests.store.test_check_locations import _site


@pytest.fixture
async def failing_site() -> AsyncIterator[str]:
    """A site answering 503 on the loopback."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="maintenance")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    await runner.cleanup()


class Location:
    """One location's check path: claims of its kind -> dispatcher -> runner -> recorder."""

    def __init__(self, db: Database, name: str, tmp_path: Path) -> None:
        self.db = DbThread(db)
        self.kind = location_kind(name)
        self.probes = ProbeSet.from_settings(Settings(home=tmp_path / name, location=name))
        self.recorder = Recorder(self.db, None, location=name)
        runner = CheckRunner(self.db, self.probes, self.recorder, Stats(), confirm_delay=0)
        self.dispatcher = LocalDispatcher(runner, 4)

    async def check_due(self) -> int:
        claims = await self.db.call(claim_due, self.kind, time.time(), 100)
        self.dispatcher.submit(claims)
        await self.dispatcher.drain()
        assert await self.recorder.flush()
        return len(claims)

    async def close(self) -> None:
        await self.probes.aclose()
        self.db.close()


def _due_now(db: Database) -> None:
    with db.session() as s:
        s.execute(update(Job).values(next_run_at=time.time() - 1))


async def test_down_is_confirmed_from_the_second_location(
    db: Database, failing_site: str, tmp_path: Path
) -> None:
    site = _site(db, 2)
    with db.session() as s:
        s.execute(update(Site).where(Site.id == site).values(url=failing_site))
        heard_from(s.connection(), "us-east", NOW)
        sync_location_jobs(s, "us-east", time.time())
    home, east = Location(db, "default", tmp_path), Location(db, "us-east", tmp_path)
    try:
        _due_now(db)
        assert await home.check_due() == 1
        with db.session() as s:
            assert s.scalars(select(Incident)).all() == []  # one opinion: nobody woken
        assert await east.check_due() == 1
    finally:
        await home.close()
        await east.close()
    with db.session() as s:
        incidents = [(i.kind, i.cause) for i in s.scalars(select(Incident))]
        places = sorted(s.scalars(select(CheckRaw.location)))
    assert incidents == [
        ("down", "http_status: status 503 not accepted (down from 2 of 2 locations)")
    ]
    assert places == ["", "us-east"]
