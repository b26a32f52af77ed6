"""Filing a security report: only the issue types the probe examined completely resolve
(``findings.reconcile(types=...)``); what a check could not see stays open as it was."""

from __future__ import annotations

from sqlalchemy import select

from sitekeeper.domain.exposure import EXPOSURE, SecurityIssue, SecurityReport
from sitekeeper.domain.severity import Severity
from sitekeeper.store import findings, security_probes
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from tests.store.factories import NOW, baker, site

WP_CONFIG = SecurityIssue(
    "exposed-file",
    "/wp-config.php.bak",
    Severity.CRITICAL,
    "Copy of wp-config.php readable (/wp-config.php.bak)",
    "Delete the copy.",
    "<?php",
)
AUTHORS = SecurityIssue(
    "user-enumeration", "/?author=1", Severity.INFO, "User names", "Block it.", "admin"
)
HEADER = SecurityIssue("header", "X-Frame-Options", Severity.INFO, "Framing", "Send it.")


def _open(db: Database) -> set[tuple[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(Finding).where(Finding.resolved_at.is_(None)))
        return {(f.type, f.package) for f in rows}


def _file(db: Database, site_id: int, *issues: SecurityIssue, complete: list[str]) -> None:
    report = SecurityReport("https://site.test/", list(issues), complete=complete)
    with db.session() as session:
        security_probes.file_report(session, site_id, report, NOW)


def test_only_the_types_examined_completely_resolve(db: Database) -> None:
    with db.session() as session:
        site_id = site(session, baker(session)).id
    everything = ["exposed-file", "user-enumeration", "header"]
    _file(db, site_id, WP_CONFIG, AUTHORS, HEADER, complete=everything)
    # The WordPress config copy timed out, the site was not recognised as WordPress: the
    # header check alone finished, and a new header issue opens meanwhile.
    other = SecurityIssue("header", "Referrer-Policy", Severity.INFO, "Referrer", "Send it.")
    _file(db, site_id, other, complete=["header"])
    assert _open(db) == {
        ("exposed-file", "/wp-config.php.bak"),
        ("user-enumeration", "/?author=1"),
        ("header", "Referrer-Policy"),
    }
    _file(db, site_id, complete=["exposed-file"])
    assert _open(db) == {("user-enumeration", "/?author=1"), ("header", "Referrer-Policy")}


def test_reconcile_types_scope_resolves_only_those_types(db: Database) -> None:
    with db.session() as session:
        site_id = site(session, baker(session)).id
        specs = [i.spec(site_id) for i in (WP_CONFIG, AUTHORS, HEADER)]
        findings.reconcile(session, specs, NOW, site_ids=[site_id], kinds=[EXPOSURE])
        kept = findings.reconcile(
            session, [specs[2]], NOW, site_ids=[site_id], kinds=[EXPOSURE], types=["header"]
        )
        assert kept.resolved == [] and kept.opened == []
        gone = findings.reconcile(
            session, [], NOW, site_ids=[site_id], kinds=[EXPOSURE], types=["exposed-file"]
        )
        assert [f.package for f in gone.resolved] == ["/wp-config.php.bak"]
        none = findings.reconcile(session, [], NOW, site_ids=[site_id], kinds=[EXPOSURE], types=[])
        assert none.resolved == []
    assert _open(db) == {("user-enumeration", "/?author=1"), ("header", "X-Frame-Options")}
