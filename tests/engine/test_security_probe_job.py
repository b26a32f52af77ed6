"""The security probe as a job: a registered site's issues become findings (journalled, one
alert per client for medium and worse), resolve when the site is fixed, stay open when the
check could not look, and ``serve``'s schedule probes each site once per interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event, Notification
from tests.probes.conftest import serve
from tests.probes.security_sites import ENV, GIT_HEAD, GOOD_HEADERS, Site, page, text, well_kept
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _jobs(db: Database, tmp_path: Path) -> IntelJobs:
    settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
    return IntelJobs(db, settings, vault=VAULT, concurrency=2)


def _add(db: Database, *urls: str, client: str = "Bäckerei") -> list[int]:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name=client, now=NOW)
        return [
            sites.add_site(
                session, sites.SiteFields(url=url, client=owner, name=f"{client}-{n}"), NOW,
                default_interval=300,
            ).id
            for n, url in enumerate(urls)
        ]  # fmt: skip


def _open(session: Session) -> dict[tuple[int, str], str]:
    rows = session.scalars(select(Finding).where(Finding.resolved_at.is_(None)))
    return {(f.site_id, f.package): f.data["severity"] for f in rows}


def _count(session: Session, model: type, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def leaky() -> Site:
    return Site(
        {
            "/": page("<html><body>Hallo</body></html>"),
            "/.git/HEAD": text(GIT_HEAD),
            "/.env": text(ENV),
        },
        headers=GOOD_HEADERS,
    )


async def test_findings_open_alert_once_per_client_and_resolve_when_fixed(
    db: Database, tmp_path: Path
) -> None:
    site = leaky()
    async with serve(site.app()) as one, serve(well_kept().app(), host="127.0.0.2") as two:
        leaky_id, clean_id = _add(db, one.url("/"), two.url("/"))
        jobs = _jobs(db, tmp_path)
        async with jobs.security_probe() as probe:
            report, changes = await jobs.probe_site_security(leaky_id, probe)
            _, quiet = await jobs.probe_site_security(clean_id, probe)
        assert report.error is None
        assert {s.package for s in changes.opened} == {"/.git/HEAD", "/.env"}
        assert quiet.opened == []
        with db.session() as session:
            assert _open(session) == {
                (leaky_id, "/.git/HEAD"): "high",
                (leaky_id, "/.env"): "critical",
            }
            assert _count(session, Event, Event.kind == str(IntelEventKind.FINDING_OPENED)) == 2
            alerts = session.scalars(
                select(Event).where(Event.kind == str(IntelEventKind.SECURITY_ALERT))
            ).all()
            assert [a.data["issues"] for a in alerts] == [["/.env", "/.git/HEAD"]]
            assert _count(session, Notification) == 1
            note = session.scalars(select(Notification)).one()
            assert "[critical]" in note.body and "rotate" in note.body

        # Seen again: nothing new, no second alert.
        _, again = await jobs.probe_site_security(leaky_id)
        assert again.opened == [] and again.resolved == []

        # The technician removes the .env; the .git stays.
        del site.paths["/.env"]
        _, fixed = await jobs.probe_site_security(leaky_id)
        assert [f.package for f in fixed.resolved] == ["/.env"]
        with db.session() as session:
            assert _open(session) == {(leaky_id, "/.git/HEAD"): "high"}
            assert _count(session, Event, Event.kind == str(IntelEventKind.FINDING_RESOLVED)) == 1
            assert _count(session, Notification) == 1


async def test_a_check_that_could_not_look_keeps_its_findings_open(
    db: Database, tmp_path: Path
) -> None:
    site = leaky()
    never = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response(text="late")

    async with serve(site.app()) as running:
        [site_id] = _add(db, running.url("/"))
        jobs = _jobs(db, tmp_path)
        await jobs.probe_site_security(site_id)
        site.handlers["/.git/HEAD"] = stall  # the server is overloaded for that path now
        del site.paths["/.env"]
        async with jobs.security_probe() as probe:
            probe._request_timeout = 1.0  # the test shortens the per-request wait
            report, changes = await jobs.probe_site_security(site_id, probe)
        never.set()
    assert report.error is None  # the home page was read: only the stalled check fell short
    assert "exposed-file" not in report.complete and "header" in report.complete
    assert changes.resolved == []  # neither the unseen .git nor the .env: the check did not finish
    with db.session() as session:
        assert set(_open(session)) == {(site_id, "/.git/HEAD"), (site_id, "/.env")}


async def test_an_unreachable_site_changes_nothing(db: Database, tmp_path: Path) -> None:
    site = leaky()
    async with serve(site.app()) as running:
        [site_id] = _add(db, running.url("/"))
        jobs = _jobs(db, tmp_path)
        await jobs.probe_site_security(site_id)
    report, changes = await jobs.probe_site_security(site_id)  # the server is gone now
    assert report.error is not None
    assert changes.resolved == [] and changes.opened == []
    with db.session() as session:
        assert set(_open(session)) == {(site_id, "/.git/HEAD"), (site_id, "/.env")}


async def test_the_schedule_probes_each_site_once_per_interval(
    db: Database, tmp_path: Path
) -> None:
    first, second = well_kept(), well_kept()
    async with serve(first.app()) as one, serve(second.app(), host="127.0.0.2") as two:
        _add(db, one.url("/"), two.url("/"))
        jobs = _jobs(db, tmp_path)
        assert "security-probes" in {s.name for s in jobs.schedules()}
        assert await jobs.security_due() == 2
        assert await jobs.security_due() == 0  # a day has not passed
    assert first.seen.count("/") == 1 and second.seen.count("/") == 1


async def test_the_probe_security_task_does_what_the_command_does(
    db: Database, tmp_path: Path
) -> None:
    """The task the API and the site page queue: the same job, its report as the result."""
    from sitekeeper.engine.tasks import NoParams, TaskContext, handler_class
    from sitekeeper.store.dbthread import DbThread

    handler = handler_class("probe-security")
    assert handler.needs_site
    async with serve(leaky().app()) as running:
        [site_id] = _add(db, running.url("/"))
        jobs = _jobs(db, tmp_path)
        context = TaskContext(
            settings=jobs.settings,
            dbthread=DbThread(db),
            vault=VAULT,
            checks=None,  # type: ignore[arg-type]  # not used by this task
            recorder=None,  # type: ignore[arg-type]
            intel_jobs=jobs,
        )
        done = await handler().run(context, site_id, NoParams())
    assert done.error is None
    assert done.result["issues"][0]["item"] == "/.env"
    assert done.summary == "2 issues, worst critical · 2 opened, 0 resolved"  # GOOD_HEADERS
