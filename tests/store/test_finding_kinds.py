"""Findings of different kinds live side by side: re-matching a site's software leaves the
outside security probe's findings alone, and the probe's reconcile leaves the software's."""

from __future__ import annotations

from sqlalchemy import select

from sitekeeper.domain.exposure import EXPOSURE, SecurityIssue
from sitekeeper.domain.findings import SOFTWARE_KINDS
from sitekeeper.domain.severity import Severity
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from tests.store.factories import NOW, baker, site

GIT = SecurityIssue(
    check="exposed-file",
    item="/.git/HEAD",
    severity=Severity.HIGH,
    title="Git repository downloadable",
    fix="Delete .git from the web root.",
    evidence="ref: refs/heads/main",
)


def test_rematch_keeps_exposure_findings_and_reconcile_by_kind_resolves_them(
    db: Database,
) -> None:
    with db.session() as session:
        site_id = site(session, baker(session)).id
        opened = findings.reconcile(
            session, [GIT.spec(site_id)], NOW, site_ids=[site_id], kinds=[EXPOSURE]
        )
        assert [s.package for s in opened.opened] == ["/.git/HEAD"]
    with db.session() as session:
        rematch(session, NOW, site_ids=[site_id])  # the site has no software: nothing wanted
    with db.session() as session:
        still = session.scalars(select(Finding).where(Finding.resolved_at.is_(None))).one()
        assert (still.kind, still.package, still.data["severity"]) == (
            EXPOSURE,
            "/.git/HEAD",
            "high",
        )
        assert still.data["note"] == "Delete .git from the web root."
        assert still.data["evidence"] == "ref: refs/heads/main"
        # The software's own reconcile scope never reaches it either.
        changes = findings.reconcile(session, [], NOW, site_ids=[site_id], kinds=SOFTWARE_KINDS)
        assert changes.resolved == []
        gone = findings.reconcile(session, [], NOW, site_ids=[site_id], kinds=[EXPOSURE])
        assert [f.package for f in gone.resolved] == ["/.git/HEAD"]
