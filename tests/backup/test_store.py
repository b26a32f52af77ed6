"""Backup queries on SQLite and PostgreSQL: repositories, runs and their events, what is due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.backup import repository
from sitekeeper.backup.repository import OpenRepository, RepositoryConfig
from sitekeeper.store import backups as queries
from sitekeeper.store import plans
from sitekeeper.store.backup_tables import BackupRepository, BackupRun
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Base, Site
from tests.store import factories as f

NOW = f.NOW


def _site(session: Session, options: dict[str, object] | None, name: str = "shop") -> Site:
    client = f.baker(session, name=f"client-{name}")
    contract = None
    if options is not None:
        plan = plans.add_plan(session, name=f"plan-{name}", options=options, now=NOW)
        contract = f.contract(session, client, plan)
    site = f.site(session, client, url=f"https://{name}.example.com", contract=contract, name=name)
    site.ssh = {"host": "h", "port": 22, "user": "u", "key_id": None, "docroot": "/d"}
    session.flush()
    return site


def _run(
    session: Session, site: Site, status: str, ago: timedelta, reason: str = "scheduled"
) -> None:
    session.add(BackupRun(site_id=site.id, reason=reason, status=status, started_at=NOW - ago))
    session.flush()


def test_migration_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "backup" in repr(d)]
    assert ours == []


def test_repository_password_is_generated_once_and_kept_encrypted(
    db: Database, tmp_path: Path
) -> None:
    with db.session() as s:
        cfg = RepositoryConfig(
            kind="s3",
            location="http://127.0.0.1:9000/bucket/x",
            s3_access_key_id="AKID",
            s3_secret_access_key="SECRET-KEY",
        )
        row = repository.configure(s, f.VAULT, cfg, client_id=None, now=NOW)
        first = OpenRepository.from_stored(
            repository_id=row.id, options=row.options, sealed=row.secrets, vault=f.VAULT
        )
        assert "SECRET-KEY" not in row.secrets
        assert first.password not in row.secrets
        assert "SECRET-KEY" not in str(row.options)
        moved = cfg.model_copy(update={"location": "http://127.0.0.1:9000/other"})
        row = repository.configure(s, f.VAULT, moved, client_id=None, now=NOW)
        second = OpenRepository.from_stored(
            repository_id=row.id, options=row.options, sealed=row.secrets, vault=f.VAULT
        )
    assert second.password == first.password
    assert second.location == "s3:http://127.0.0.1:9000/other"
    assert second.env["AWS_SECRET_ACCESS_KEY"] == "SECRET-KEY"
    assert len(first.password) >= 40


def test_client_repository_wins_over_the_agency_default(db: Database, tmp_path: Path) -> None:
    with db.session() as s:
        mine, other = _site(s, None, "mine"), _site(s, None, "other")
        default = repository.for_site(s, f.VAULT, other, tmp_path)  # made on first use
        assert default.location == str(tmp_path / "backups" / "repository")
        own = RepositoryConfig(kind="local", location="/srv/client-backups")
        repository.configure(s, f.VAULT, own, client_id=mine.client_id, now=NOW)
        assert repository.for_site(s, f.VAULT, mine, tmp_path).location == own.location
        assert repository.for_site(s, f.VAULT, other, tmp_path).location == default.location
        assert s.scalar(select(BackupRepository).where(BackupRepository.client_id.is_(None)))


def test_invalid_repository_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="absolute"):
        RepositoryConfig(kind="local", location="relative/path")
    with pytest.raises(ValueError, match="access key"):
        RepositoryConfig(kind="s3", location="http://x/b")


@pytest.mark.parametrize(
    ("schedule", "history", "due"),
    [
        ("daily", [], True),
        ("daily", [("ok", timedelta(hours=2))], False),
        ("daily", [("ok", timedelta(hours=25))], True),
        ("daily", [("ok", timedelta(hours=25)), ("failed", timedelta(minutes=10))], False),
        ("daily", [("ok", timedelta(hours=25)), ("failed", timedelta(hours=2))], True),
        ("hourly", [("ok", timedelta(minutes=70))], True),
        ("hourly", [("failed", timedelta(minutes=10))], False),
        ("weekly", [("ok", timedelta(days=6))], False),
        ("none", [], False),
        (None, [], False),
    ],
)
def test_due_backups(
    db: Database, schedule: str | None, history: list[tuple[str, timedelta]], due: bool
) -> None:
    with db.session() as s:
        site = _site(s, None if schedule is None else {"backup": schedule})
        for status, ago in history:
            _run(s, site, status, ago)
        _run(s, site, "ok", timedelta(minutes=1), reason="safety")  # never counts
        assert queries.due_backups(s, NOW) == ([site.id] if due else [])


def test_paused_sites_and_sites_without_ssh_are_not_due(db: Database) -> None:
    with db.session() as s:
        paused, no_ssh = _site(s, {"backup": "daily"}, "a"), _site(s, {"backup": "daily"}, "b")
        paused.paused = True
        no_ssh.ssh = None
        s.flush()
        assert queries.due_backups(s, NOW) == []


def test_due_drills(db: Database) -> None:
    with db.session() as s:
        site = _site(s, {"backup": "daily", "restore_drill": "monthly"})
        assert queries.due_drills(s, NOW) == []  # nothing to drill yet
        _run(s, site, "ok", timedelta(days=40))
        assert queries.due_drills(s, NOW) == [site.id]
        run = s.scalar(select(BackupRun))
        assert run is not None
        run.verified_at = NOW - timedelta(days=3)
        s.flush()
        assert queries.due_drills(s, NOW) == []


def test_failed_run_is_journaled(db: Database) -> None:
    with db.session() as s:
        site = _site(s, None)
        run = queries.start_run(s, site, None, "scheduled", NOW)
        event = queries.fail_run(s, run.id, "disk full", NOW + timedelta(seconds=30))
        assert event.kind == "backup.failed"
        assert event.site_id == site.id
        assert event.client_id == site.client_id
        assert event.data["error"] == "disk full"
        assert event.data["duration"] == 30
        row = s.get(BackupRun, run.id)
        assert row is not None
        assert row.status == "failed"


def test_running_runs(db: Database) -> None:
    with db.session() as s:
        site = _site(s, None)
        running = queries.start_run(s, site, None, "manual", NOW - timedelta(hours=1))
        _run(s, site, "ok", timedelta(hours=2))
        assert queries.running_runs(s, site.id) == [running.id]
