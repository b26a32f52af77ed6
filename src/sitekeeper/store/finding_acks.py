"""Acknowledged findings: an operator's "this file is ours", kept per site and finding key
with the evidence digest it was given for.

A check that files findings passes its specs through :func:`quiet` before reconciling: a
spec whose key is acknowledged with the same digest is left out (so its finding resolves
and stays quiet); once the evidence changes (another hash) the spec goes through and the
finding opens again. Every acknowledgement is a journal event with who and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.store import journal, site_summary
from sitekeeper.store.detection_tables import FindingAck
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Site

DIGEST = "digest"  # the FindingSpec.extra / Finding.data entry an acknowledgement matches


def digest_of(spec: FindingSpec) -> str | None:
    """The evidence digest a check attached to ``spec`` (None: it cannot be acknowledged)."""
    return dict(spec.extra).get(DIGEST)


def acknowledged(session: Session, site_id: int) -> dict[str, str]:
    """The site's acknowledged finding keys and the digest each was acknowledged for."""
    rows = session.execute(
        select(FindingAck.key, FindingAck.digest).where(FindingAck.site_id == site_id)
    )
    return {key: digest for key, digest in rows}


def quiet(session: Session, site_id: int, specs: Sequence[FindingSpec]) -> list[FindingSpec]:
    """``specs`` without those acknowledged for the evidence they still have."""
    acks = acknowledged(session, site_id)
    if not acks:
        return list(specs)
    return [s for s in specs if acks.get(s.key[:500]) is None or acks[s.key[:500]] != digest_of(s)]


def acknowledgeable(finding: Finding) -> bool:
    """Whether the check that filed ``finding`` gave it an evidence digest to hold an
    acknowledgement to (without one, "quiet until it changes" cannot be kept)."""
    digest = (finding.data or {}).get(DIGEST)
    return isinstance(digest, str) and bool(digest)


def acknowledge(
    session: Session, finding: Finding, reason: str, actor: str, now: datetime
) -> FindingAck:
    """Acknowledge an open ``finding`` for the evidence it has now, resolve it and journal
    who and why. Raises ValueError when the finding carries no digest to hold it to, or
    no reason is given (the journal must say why)."""
    digest = (finding.data or {}).get(DIGEST)
    if not isinstance(digest, str) or not digest:
        raise ValueError("this finding has no evidence digest; it cannot be acknowledged")
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("say why this finding is not a problem (a reason is required)")
    session.execute(
        delete(FindingAck).where(
            FindingAck.site_id == finding.site_id, FindingAck.key == finding.key
        )
    )
    ack = FindingAck(
        site_id=finding.site_id,
        key=finding.key,
        digest=digest,
        reason=reason[:500],
        actor=actor[:200],
        created_at=now,
    )
    session.add(ack)
    if finding.resolved_at is None:
        finding.resolved_at = now
    _journal(
        session,
        IntelEventKind.FINDING_ACKNOWLEDGED,
        finding,
        now,
        digest=digest,
        reason=reason[:500],
        actor=actor[:200],
    )
    site_summary.refresh_findings(session, [finding.site_id])  # no longer a sign of a hack
    return ack


def _journal(
    session: Session, kind: IntelEventKind, finding: Finding, now: datetime, **data: object
) -> None:
    """Journal an acknowledgement or its undoing: the finding as identified, then ``data``."""
    client_id = session.scalar(select(Site.client_id).where(Site.id == finding.site_id))
    journal.record(
        session,
        kind,
        site_id=finding.site_id,
        client_id=client_id,
        data={
            "finding_id": finding.id,
            "key": finding.key,
            "kind": finding.kind,
            "package": finding.package,
            "title": _title(finding),
            **data,
        },
        ts=now,
    )


def _title(finding: Finding) -> str | None:
    title = (finding.data or {}).get("title")
    return title[:200] if isinstance(title, str) and title else None


def undo(session: Session, finding: Finding, actor: str, now: datetime) -> bool:
    """Delete the acknowledgement of ``finding``'s key on its site and journal who undid it;
    False when there was none. The finding opens again when the acknowledgement is what
    resolved it (nothing has happened to it since); otherwise the next check decides."""
    ack = session.scalar(
        select(FindingAck).where(
            FindingAck.site_id == finding.site_id, FindingAck.key == finding.key
        )
    )
    if ack is None:
        return False
    reopen = (
        finding.resolved_at is not None
        and finding.resolved_at == ack.created_at
        and _open_with_key(session, finding) is None
    )
    session.delete(ack)
    if reopen:
        finding.resolved_at = None
    _journal(
        session,
        IntelEventKind.FINDING_UNACKNOWLEDGED,
        finding,
        now,
        actor=actor[:200],
        reopened=reopen,
    )
    site_summary.refresh_findings(session, [finding.site_id])
    return True


def _open_with_key(session: Session, finding: Finding) -> int | None:
    return session.scalar(
        select(Finding.id).where(
            Finding.site_id == finding.site_id,
            Finding.key == finding.key,
            Finding.resolved_at.is_(None),
        )
    )


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """One acknowledgement as the site page, the API and the CLI list it: what (the newest
    finding of its key), who, why, when, and whether that finding is open again (its
    evidence changed since)."""

    ack_id: int
    finding_id: int | None
    kind: str | None
    package: str | None
    data: dict[str, Any]
    digest: str
    reason: str
    actor: str
    created_at: datetime
    open_again: bool

    def to_json(self) -> dict[str, Any]:
        """The documented shape (``/api/sites/{id}/acknowledgements``, the CLI's ``--json``)."""
        title = self.data.get("title")
        return {
            "id": self.ack_id,
            "finding_id": self.finding_id,
            "kind": self.kind,
            "package": self.package,
            "title": title if isinstance(title, str) else None,
            "digest": self.digest,
            "reason": self.reason,
            "by": self.actor,
            "at": self.created_at,
            "open_again": self.open_again,
        }


def acknowledgements(session: Session, site_id: int) -> list[Acknowledged]:
    """The site's acknowledgements, newest first, each with the newest finding of its key
    (two queries, whatever their number)."""
    acks = list(
        session.scalars(
            select(FindingAck)
            .where(FindingAck.site_id == site_id)
            .order_by(FindingAck.created_at.desc(), FindingAck.id.desc())
        )
    )
    if not acks:
        return []
    newest = (
        select(func.max(Finding.id))
        .where(Finding.site_id == site_id, Finding.key.in_([a.key for a in acks]))
        .group_by(Finding.key)
    )
    by_key = {f.key: f for f in session.scalars(select(Finding).where(Finding.id.in_(newest)))}
    shown = []
    for ack in acks:
        found = by_key.get(ack.key)
        shown.append(
            Acknowledged(
                ack_id=ack.id,
                finding_id=found.id if found else None,
                kind=found.kind if found else None,
                package=found.package if found else None,
                data=dict(found.data or {}) if found else {},
                digest=ack.digest,
                reason=ack.reason,
                actor=ack.actor,
                created_at=ack.created_at,
                open_again=found is not None and found.resolved_at is None,
            )
        )
    return shown
