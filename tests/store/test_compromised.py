"""A site with open signs of a hack is "compromised": the summary counts them where
findings change, an acknowledged false positive stops counting and stays quiet until its
evidence changes, and reconcile agrees with every writer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.store import finding_acks, findings, site_summary
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event, SiteSummary
from tests.store.factories import NOW, baker, hack_spec, site

SHELL = "wp-content/uploads/2026/11/cache.php"


def _hack(site_id: int, kind: str, item: str, severity: str, digest: str = "a" * 64) -> FindingSpec:
    return hack_spec(site_id, kind, item, severity, digest)


def _compromised(session: Session, site_id: int) -> int:
    row = session.get(SiteSummary, site_id)
    assert row is not None
    session.refresh(row)
    return row.compromised


def _file(session: Session, site_id: int, specs: list[FindingSpec]) -> findings.Changes:
    """What a scan does: acknowledged evidence left out, then reconciled for its kinds."""
    quiet = finding_acks.quiet(session, site_id, specs)
    kinds = ["integrity", "malware", "seo"]
    return findings.reconcile(session, quiet, NOW, site_ids=[site_id], kinds=kinds)


def test_signs_of_a_hack_make_the_site_compromised(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        _file(
            s,
            sid,
            [
                _hack(sid, "integrity", "wp-includes/version.php", "medium"),  # not a sign
                _hack(sid, "seo", "spam-link", "medium"),  # not a sign
            ],
        )
    with db.session() as s:
        assert _compromised(s, sid) == 0
        _file(
            s,
            sid,
            [
                _hack(sid, "integrity", "wp-includes/version.php", "high"),
                _hack(sid, "seo", "spam-link", "medium"),
                _hack(sid, "malware", SHELL, "medium"),
            ],
        )
    with db.session() as s:
        assert _compromised(s, sid) == 2
        _file(s, sid, [_hack(sid, "malware", SHELL, "medium")])  # the core file was restored
    with db.session() as s:
        assert _compromised(s, sid) == 1
        _file(s, sid, [])  # the shell deleted
    with db.session() as s:
        assert _compromised(s, sid) == 0
        assert site_summary.reconcile(s) == 0


def test_an_exposure_alone_is_no_compromise(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        spec = _hack(sid, "exposure", "/.git/HEAD", "critical")
        findings.reconcile(s, [spec], NOW, site_ids=[sid], kinds=["exposure"])
    with db.session() as s:
        assert _compromised(s, sid) == 0


def test_an_acknowledged_finding_stays_quiet_until_its_evidence_changes(db: Database) -> None:
    later = NOW + timedelta(hours=1)
    with db.session() as s:
        sid = site(s, baker(s)).id
        _file(s, sid, [_hack(sid, "integrity", SHELL, "high")])
    with db.session() as s:
        assert _compromised(s, sid) == 1
        found = s.scalars(select(Finding).where(Finding.site_id == sid)).one()
        finding_acks.acknowledge(s, found, "  our image cache,\n reviewed ", "tom", later)
    with db.session() as s:
        assert _compromised(s, sid) == 0
        assert site_summary.reconcile(s) == 0
        event = s.scalars(
            select(Event).where(Event.kind == str(IntelEventKind.FINDING_ACKNOWLEDGED))
        ).one()
        assert event.site_id == sid
        assert event.data["actor"] == "tom"
        assert event.data["reason"] == "our image cache, reviewed"
        assert event.data["title"] == "PHP file in uploads"
        # The next scan sees the same file: nothing opens.
        changes = _file(s, sid, [_hack(sid, "integrity", SHELL, "high")])
        assert changes.opened == []
    with db.session() as s:
        assert _compromised(s, sid) == 0
        # The file changed (another hash): the finding opens again, as a sign of a hack.
        changes = _file(s, sid, [_hack(sid, "integrity", SHELL, "high", digest="b" * 64)])
        assert [c.package for c in changes.opened] == [SHELL]
    with db.session() as s:
        assert _compromised(s, sid) == 1
        [ack] = finding_acks.acknowledgements(s, sid)
        assert (ack.actor, ack.reason, ack.open_again) == ("tom", "our image cache, reviewed", True)


def test_undo_reopens_what_the_acknowledgement_resolved(db: Database) -> None:
    later = NOW + timedelta(hours=1)
    with db.session() as s:
        sid = site(s, baker(s)).id
        _file(s, sid, [_hack(sid, "malware", SHELL, "critical")])
    with db.session() as s:
        found = s.scalars(select(Finding).where(Finding.site_id == sid)).one()
        finding_acks.acknowledge(s, found, "test sample of our own", "tom", later)
        fid = found.id
    with db.session() as s:
        [ack] = finding_acks.acknowledgements(s, sid)
        assert (ack.finding_id, ack.open_again, ack.created_at) == (fid, False, later)
        acked = s.get(Finding, fid)
        assert acked is not None
        assert finding_acks.undo(s, acked, "ada", later + timedelta(minutes=5))
        assert not finding_acks.undo(s, acked, "ada", later)  # nothing left to undo
    with db.session() as s:
        again = s.get(Finding, fid)
        assert again is not None and again.resolved_at is None
        assert _compromised(s, sid) == 1
        assert finding_acks.acknowledgements(s, sid) == []
        event = s.scalars(
            select(Event).where(Event.kind == str(IntelEventKind.FINDING_UNACKNOWLEDGED))
        ).one()
        assert (event.data["actor"], event.data["reopened"]) == ("ada", True)
        assert site_summary.reconcile(s) == 0
        # Without the acknowledgement the same evidence is no longer quiet.
        assert len(finding_acks.quiet(s, sid, [_hack(sid, "malware", SHELL, "critical")])) == 1


def test_an_acknowledgement_needs_a_reason_and_a_digest(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        bare = _hack(sid, "seo", "cloaking", "high")
        no_digest = replace(bare, extra=tuple(p for p in bare.extra if p[0] != "digest"))
        _file(s, sid, [_hack(sid, "integrity", SHELL, "high"), no_digest])
    with db.session() as s:
        rows = {f.kind: f for f in s.scalars(select(Finding).where(Finding.site_id == sid))}
        with pytest.raises(ValueError, match="reason"):
            finding_acks.acknowledge(s, rows["integrity"], " \n ", "tom", NOW)
        with pytest.raises(ValueError, match="digest"):
            finding_acks.acknowledge(s, rows["seo"], "fine", "tom", NOW)
        assert not finding_acks.acknowledgeable(rows["seo"])
        assert finding_acks.acknowledgeable(rows["integrity"])


def test_reconcile_corrects_a_missed_refresh(db: Database) -> None:
    with db.session() as s:
        sid = site(s, baker(s)).id
        _file(s, sid, [_hack(sid, "malware", SHELL, "high")])
    with db.session() as s:
        # A writer that forgot to refresh: the count lies until reconcile.
        s.execute(update(SiteSummary).where(SiteSummary.site_id == sid).values(compromised=0))
    with db.session() as s:
        assert site_summary.reconcile(s) == 1
    with db.session() as s:
        assert _compromised(s, sid) == 1
