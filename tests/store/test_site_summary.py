"""The fleet's per-site summary stays equal to what the incidents, findings and runs say."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.findings import UPDATE, VULNERABILITY, FindingSpec
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store import backups, findings, monitoring, site_summary
from sitekeeper.store.database import Database, alembic_config
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Site, SiteSummary
from tests.store.factories import NOW, baker, site

WP = WORDPRESS


def _summary(session: Session, site_id: int) -> dict[str, object]:
    row = session.get(SiteSummary, site_id)
    assert row is not None
    session.refresh(row)
    return {
        "down_since": row.down_since,
        "tls": row.tls_incident,
        "incidents": row.open_incidents,
        "updates": row.updates,
        "security": row.security_updates,
        "vulns": row.vulns,
        "last_ok": row.last_backup_at,
        "failed": row.backup_failed,
    }


def _update(site_id: int, package: str, *, security: bool = False) -> FindingSpec:
    return FindingSpec(
        site_id, UPDATE, WP, "plugin", package, "1.0", "inventory", latest="1.1", security=security
    )


def _vuln(site_id: int, package: str) -> FindingSpec:
    return FindingSpec(
        site_id, VULNERABILITY, WP, "plugin", package, "1.0", "inventory", advisory_id="WF-1"
    )


def test_incident_writers_keep_the_summary(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        monitoring.open_incident(s, sid, IncidentKind.DOWN, "timeout", NOW)
        monitoring.open_incident(s, sid, IncidentKind.TLS_EXPIRING, "5 days", NOW)
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["down_since"], got["tls"], got["incidents"]) == (NOW, True, 2)
        monitoring.close_incident(s, sid, IncidentKind.DOWN, NOW + timedelta(minutes=5))
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["down_since"], got["tls"], got["incidents"]) == (None, True, 1)
        assert site_summary.reconcile(s) == 0


def test_finding_writers_keep_the_summary(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        specs = [_update(sid, "akismet"), _update(sid, "forms"), _vuln(sid, "forms")]
        findings.reconcile(s, specs, NOW, site_ids=[sid])
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["updates"], got["security"], got["vulns"]) == (2, 0, 1)
        # A security release turns a pending update into a security update.
        specs = [_update(sid, "akismet"), _update(sid, "forms", security=True), _vuln(sid, "forms")]
        findings.reconcile(s, specs, NOW, site_ids=[sid])
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["updates"], got["security"], got["vulns"]) == (2, 1, 1)
        findings.reconcile(s, [_update(sid, "akismet")], NOW, site_ids=[sid])
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["updates"], got["security"], got["vulns"]) == (1, 0, 0)
        findings.resolve_all_for_site(s, sid, NOW)
    with db.session() as s:
        got = _summary(s, sid)
        assert (got["updates"], got["security"], got["vulns"]) == (0, 0, 0)
        assert site_summary.reconcile(s) == 0


def test_backup_writers_keep_the_summary(db: Database) -> None:
    figures = backups.RunFigures("a" * 64, 10, 10, 0, 1000, 1000, 1000, 100, 2.0)
    with db.session() as s:
        row = site(s, baker(s))
        sid = row.id
        run = backups.start_run(s, row, None, "scheduled", NOW)
        backups.finish_run(s, run.id, figures, NOW + timedelta(seconds=2))
    with db.session() as s:
        assert (_summary(s, sid)["last_ok"], _summary(s, sid)["failed"]) == (NOW, False)
        # A safety snapshot before a restore is not the site's backup.
        later = NOW + timedelta(days=1)
        safety = backups.start_run(s, row, None, "safety", later)
        backups.fail_run(s, safety.id, "disk full", later)
    with db.session() as s:
        assert (_summary(s, sid)["last_ok"], _summary(s, sid)["failed"]) == (NOW, False)
        failing = backups.start_run(s, row, None, "scheduled", later)
        backups.fail_run(s, failing.id, "ssh: connection refused", later)
    with db.session() as s:
        assert (_summary(s, sid)["last_ok"], _summary(s, sid)["failed"]) == (NOW, True)
        backups.mark_pruned(s, sid, ["a" * 64])
    with db.session() as s:
        # The only good snapshot is gone: no usable backup any more.
        assert (_summary(s, sid)["last_ok"], _summary(s, sid)["failed"]) == (None, True)
        assert site_summary.reconcile(s) == 0


def test_a_refresh_writes_only_its_own_columns(db: Database) -> None:
    """Writers of different sources never overwrite each other's figures with stale ones."""
    with db.session() as s:
        sid = site(s, baker(s)).id
        findings.reconcile(s, [_update(sid, "akismet")], NOW, site_ids=[sid])
    with db.session() as s:
        # Another writer's finding, not yet refreshed (as if its transaction were in flight).
        s.execute(
            insert(Finding),
            [
                {
                    "site_id": sid,
                    "key": "update:wordpress:plugin:forms",
                    "kind": UPDATE,
                    "ecosystem": "wordpress",
                    "type": "plugin",
                    "package": "forms",
                    "installed": "1.0",
                    "security": False,
                    "certainty": "certain",
                    "basis": "inventory",
                    "data": {},
                    "opened_at": NOW,
                }
            ],
        )
        monitoring.open_incident(s, sid, IncidentKind.DOWN, "timeout", NOW)
        assert _summary(s, sid)["updates"] == 1
        # The safety net finds and corrects it.
        assert site_summary.reconcile(s) == 1
        assert _summary(s, sid)["updates"] == 2
        assert site_summary.reconcile(s) == 0


def test_reconcile_needs_no_row_for_a_quiet_site_and_removal_cascades(db: Database) -> None:
    with db.session() as s:
        quiet = site(s, baker(s), "https://quiet.example").id
        busy = site(s, baker(s, "Other"), "https://busy.example").id
        monitoring.open_incident(s, busy, IncidentKind.DOWN, "timeout", NOW)
    with db.session() as s:
        assert site_summary.reconcile(s) == 0
        assert s.get(SiteSummary, quiet) is None
        site_row = s.get(Site, busy)
        assert site_row is not None
        s.delete(site_row)
    with db.session() as s:
        assert s.scalars(select(SiteSummary)).all() == []


def test_the_migration_fills_the_summary_of_an_existing_install(db: Database) -> None:
    """An install upgraded from before the summary sees its open problems at once."""
    figures = backups.RunFigures("b" * 64, 10, 10, 0, 1000, 1000, 1000, 100, 2.0)
    with db.session() as s:
        row = site(s, baker(s))
        sid = row.id
        monitoring.open_incident(s, sid, IncidentKind.DOWN, "timeout", NOW)
        findings.reconcile(
            s, [_update(sid, "a", security=True), _vuln(sid, "b")], NOW, site_ids=[sid]
        )
        run = backups.start_run(s, row, None, "scheduled", NOW)
        backups.finish_run(s, run.id, figures, NOW)
        failing = backups.start_run(s, row, None, "scheduled", NOW + timedelta(days=1))
        backups.fail_run(s, failing.id, "refused", NOW + timedelta(days=1))
        expected = _summary(s, sid)
    config = alembic_config(db.engine)
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    with db.session() as s:
        assert _summary(s, sid) == expected
        assert site_summary.reconcile(s) == 0
