"""Acknowledged findings: an operator's "this file is ours", kept per site and finding key
with the evidence digest it was given for.

A check that files findings passes its specs through :func:`quiet` before reconciling: a
spec whose key is acknowledged with the same digest is left out (so its finding resolves
and stays quiet); once the evidence changes (another hash) the spec goes through and the
finding opens again. Every acknowledgement is a journal event with who and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.store import journal
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


def acknowledge(
    session: Session, finding: Finding, reason: str, actor: str, now: datetime
) -> FindingAck:
    """Acknowledge an open ``finding`` for the evidence it has now, resolve it and journal
    who and why. Raises ValueError when the finding carries no digest to hold it to."""
    digest = (finding.data or {}).get(DIGEST)
    if not isinstance(digest, str) or not digest:
        raise ValueError("this finding has no evidence digest; it cannot be acknowledged")
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
    client_id = session.scalar(select(Site.client_id).where(Site.id == finding.site_id))
    journal.record(
        session,
        IntelEventKind.FINDING_ACKNOWLEDGED,
        site_id=finding.site_id,
        client_id=client_id,
        data={
            "finding_id": finding.id,
            "key": finding.key,
            "kind": finding.kind,
            "package": finding.package,
            "digest": digest,
            "reason": reason[:500],
            "actor": actor[:200],
        },
        ts=now,
    )
    session.flush()
    return ack
