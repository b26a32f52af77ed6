"""The integrity scan's place in serve and the task runner: scheduled by default, a site
without SSH access is a state said once (not a failure), the ``scan`` task exists."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitekeeper.config import Settings
from sitekeeper.engine import intel_sites
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.tasks import TASKS
from sitekeeper.errors import UsageError
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.store import clients, inventories, sites
from sitekeeper.store.database import Database
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _jobs(db: Database, tmp_path: Path) -> IntelJobs:
    return IntelJobs(db, Settings(home=tmp_path / "home"), feeds=FeedSettings(), vault=VAULT)


def _site(db: Database) -> int:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Acme", now=NOW)
        fields = sites.SiteFields(url="https://shop.example", client=owner, name="shop")
        return sites.add_site(session, fields, NOW, default_interval=300).id


async def test_a_site_without_ssh_is_skipped_with_the_reason(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site_id = _site(db)
    jobs = _jobs(db, tmp_path)
    with pytest.raises(UsageError, match="no SSH access"):
        await jobs.scan_site("shop")
    [schedule] = [s for s in jobs.schedules() if s.name == "integrity-scans"]
    # said once per process: the other database's run of this test may have said it already
    intel_sites._site_states.clear(("integrity", site_id))
    with caplog.at_level(logging.INFO, logger="sitekeeper"):
        await jobs.run_safely(schedule)
    said = [r.getMessage() for r in caplog.records]
    assert any("integrity of site" in m and "no SSH access" in m for m in said), said
    with db.session() as session:  # tried: not due again until the interval has passed
        assert site_id not in inventories.attempts_due(
            session, "integrity", datetime.now(UTC), 86400.0
        )


def test_the_scan_task_kind_is_registered() -> None:
    handler = TASKS.get("scan")
    assert handler.needs_site is True
