"""run_due_backups: the plan decides what is due, retention prunes, the journal tells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from sitekeeper.backup import repository
from sitekeeper.backup.drill import run_due_drills
from sitekeeper.backup.identity import snapshot_host
from sitekeeper.backup.runner import BackupContext, run_due_backups
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Event, Site
from tests.backup.conftest import add_wp_site


async def test_due_sites_are_backed_up_and_retention_applied(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    wp1 = real_wp_sites[0]
    plan = {
        "backup": "daily",
        "keep_daily": 1,
        "keep_weekly": 0,
        "keep_monthly": 0,
        "restore_drill": "weekly",
    }
    planned = add_wp_site(bctx.db, bctx.vault, wp1, name="planned", plan_options=plan)
    add_wp_site(bctx.db, bctx.vault, wp1, name="no-plan", client_name="No contract")
    now = datetime.now(UTC)
    bctx.clock = lambda: now

    first = await run_due_backups(bctx)
    assert [(o.site, o.ok) for o in first] == [("planned", True)]
    assert await run_due_backups(bctx) == []  # done for today

    bctx.clock = lambda: now + timedelta(hours=25)
    second = await run_due_backups(bctx)
    assert [(o.site, o.ok) for o in second] == [("planned", True)]

    with bctx.db.session() as s:
        runs = list(s.scalars(select(BackupRun).order_by(BackupRun.id)))
        pruned = list(s.scalars(select(Event).where(Event.kind == "backup.pruned")))
        site = s.get(Site, planned)
        assert site is not None
        repo = repository.for_site(s, bctx.vault, site, bctx.settings.home)
        host = snapshot_host(site.backup_host)
    # Both snapshots fall on the same real day, and keep_daily=1 keeps the newest.
    assert [r.status for r in runs] == ["pruned", "ok"]
    assert len(pruned) == 1
    snaps = await bctx.restic(repo).snapshots(host=host)
    assert [s.id[:8] for s in snaps] == [runs[1].snapshot_id[:8]]

    drilled = await run_due_drills(bctx)
    assert [(d.site, d.ok) for d in drilled] == [("planned", True)]
    assert await run_due_drills(bctx) == []  # verified this week
