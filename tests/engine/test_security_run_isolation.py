"""The daily security run: one site whose probe raises (a bug, an answer nobody foresaw)
is logged and skipped; every other due site is still probed and filed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.domain.exposure import SecurityReport
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from tests.probes.conftest import serve
from tests.probes.security_sites import ENV, Site, page, text
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_one_site_that_raises_does_not_end_the_run(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    leaky = Site({"/": page("<html><body>Hallo</body></html>"), "/.env": text(ENV)})
    real = SecurityProbe.probe

    async def probe(
        self: SecurityProbe, url: str, options: SecurityOptions | None = None, **kw: object
    ) -> SecurityReport:
        if "hostile" in url:
            raise RecursionError("maximum recursion depth exceeded")
        return await real(self, url, options, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(SecurityProbe, "probe", probe)
    async with serve(leaky.app()) as running:
        with db.session() as session:
            owner = clients.add_client(session, VAULT, name="Bäckerei", now=NOW)
            for name, url in (("hostile", "http://hostile.invalid/"), ("leaky", running.url("/"))):
                fields = sites.SiteFields(url=url, client=owner, name=name)
                sites.add_site(session, fields, NOW, default_interval=300)
        settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
        jobs = IntelJobs(db, settings, vault=VAULT, concurrency=1)
        assert await jobs.security_due() == 2
    with db.session() as session:
        found = session.scalars(select(Finding.package).where(Finding.resolved_at.is_(None)))
        assert "/.env" in set(found)
    assert "security probe of site" in caplog.text and "failed" in caplog.text
