"""serve's inventory schedule: a site that cannot be reached does not hold the queue."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import IntelAttempt
from tests.store.factories import VAULT


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_failed_inventory_is_recorded_as_tried_and_not_retried_at_once(
    db: Database, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        owner = clients.add_client(s, VAULT, name="Acme", now=now)
        for i in range(3):
            sites.add_site(s, sites.SiteFields(url=f"https://plain{i}.example", client=owner), now,
                           default_interval=300)  # fmt: skip
        ssh = {"host": "127.0.0.1", "port": _closed_port(), "user": "u", "docroot": "/var/www"}
        unreachable = sites.add_site(
            s, sites.SiteFields(url="https://down.example", client=owner, ssh=ssh), now,
            default_interval=300,
        ).id  # fmt: skip
    jobs = IntelJobs(db, Settings(home=tmp_path / "home"), feeds=FeedSettings(), vault=VAULT)
    assert await jobs.inventories_due() == 1  # only the SSH site, and it fails
    assert await jobs.inventories_due() == 0  # tried just now: not again every round
    with db.session() as s:
        tried = s.scalars(select(IntelAttempt)).all()
    assert [(t.site_id, t.kind) for t in tried] == [(unreachable, "inventory")]
