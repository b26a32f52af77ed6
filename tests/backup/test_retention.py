"""Retention: the plan thins scheduled snapshots; a manual one stays for its grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from sitekeeper.backup import repository
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault
from tests.backup.conftest import add_wp_site
from tests.backup.test_cli import _app

DAY = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
PLAN = {"backup": "daily", "keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}


async def _kept(ctx: BackupContext) -> list[tuple[str, tuple[str, ...]]]:
    with ctx.db.session() as s:
        site = s.scalar(select(Site))
        assert site is not None
        repo = repository.for_site(s, ctx.vault, site, ctx.settings.home)
    snaps = await ctx.restic(repo).snapshots()
    return [(snap.time.strftime("%d %H:%M"), snap.tags[2:]) for snap in snaps]


def _statuses(ctx: BackupContext) -> list[tuple[str, str]]:
    with ctx.db.session() as s:
        return [(r.reason, r.status) for r in s.scalars(select(BackupRun).order_by(BackupRun.id))]


async def test_a_manual_backup_outlives_the_daily_retention_for_its_grace_period(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    add_wp_site(bctx.db, bctx.vault, real_wp_sites[0], plan_options=PLAN)
    bctx.clock = lambda: DAY + timedelta(hours=4)

    async def take(reason: str, at: timedelta) -> None:
        outcome = await backup_site(bctx, "wp1", reason=reason, snapshot_time=DAY + at)
        assert outcome.ok, outcome.error

    await take("manual", timedelta(hours=0))  # someone's backup before a change
    await take("scheduled", timedelta(hours=1))
    await take("scheduled", timedelta(hours=2))  # keep_daily=1: the earlier one goes

    assert await _kept(bctx) == [("02 09:00", ("manual",)), ("02 11:00", ("scheduled",))]
    assert _statuses(bctx) == [("manual", "ok"), ("scheduled", "pruned"), ("scheduled", "ok")]

    # 31 days later the grace period (30 days by default) is over: the plan alone decides.
    bctx.clock = lambda: DAY + timedelta(days=31, hours=1)
    await take("scheduled", timedelta(days=31))
    assert await _kept(bctx) == [("05 09:00", ("scheduled",))]
    assert _statuses(bctx) == [
        ("manual", "pruned"),
        ("scheduled", "pruned"),
        ("scheduled", "pruned"),
        ("scheduled", "ok"),
    ]


async def test_with_no_grace_the_plan_applies_to_manual_backups_too(
    bctx: BackupContext, real_wp_sites: list[dict[str, Any]]
) -> None:
    bctx.settings.manual_keep_days = 0
    add_wp_site(bctx.db, bctx.vault, real_wp_sites[0], plan_options=PLAN)
    bctx.clock = lambda: DAY + timedelta(hours=4)
    for reason, hours in (("manual", 0), ("scheduled", 1)):
        outcome = await backup_site(
            bctx, "wp1", reason=reason, snapshot_time=DAY + timedelta(hours=hours)
        )
        assert outcome.ok, outcome.error
    assert await _kept(bctx) == [("02 10:00", ("scheduled",))]


def test_backups_says_until_when_a_manual_backup_is_kept(
    home: Path, real_wp_sites: list[dict[str, Any]], monkeypatch: Any
) -> None:
    monkeypatch.setenv("SITEKEEPER_MANUAL_BACKUP_KEEP_DAYS", "10")
    runner, app = CliRunner(), _app()
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    add_wp_site(db, Vault.from_home(home), real_wp_sites[0])
    db.dispose()
    assert runner.invoke(app, ["backup", "wp1"]).exit_code == 0
    shown = runner.invoke(app, ["backups", "wp1"])
    assert shown.exit_code == 0, shown.stderr
    until = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    assert f"ok (manual, kept until {until})" in shown.stdout
    listed = runner.invoke(app, ["backups", "wp1", "--json"])
    assert listed.stdout.count('"kept_until": "') == 1
