"""Named query: one site's findings with their ids, worst first, a page at a time.

The site page's Security panel, ``GET /api/sites/{id}/findings`` and ``sitekeeper
findings`` list the same rows; the id is what an acknowledgement names. Severity is a
word in the finding's JSON data (``domain.severity``), so the sort ranks it in SQL and a
page of a site with thousands of findings (a mass-hacked docroot) is still one query.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.compromise import is_sign
from sitekeeper.domain.severity import Severity
from sitekeeper.errors import NotFound
from sitekeeper.store.finding_acks import DIGEST
from sitekeeper.store.findings import FindingColumns, columns
from sitekeeper.store.intel_tables import Finding


@dataclass(frozen=True, slots=True)
class SiteFinding(FindingColumns):
    """One finding of a site as people read it: what, how bad, the evidence, the fix."""

    id: int
    resolved_at: datetime | None

    @property
    def severity(self) -> Severity:
        """The stored severity word as a severity (info when absent or unknown)."""
        return Severity.parse(self.data.get("severity"), Severity.INFO)

    def text(self, key: str) -> str | None:
        """A string from the finding's data (anything else: None); the site's words, to
        be escaped by whoever shows them."""
        value = self.data.get(key)
        return value if isinstance(value, str) and value else None

    @property
    def title(self) -> str:
        """What the check called it, else the item it is about."""
        return self.text("title") or self.package

    @property
    def acknowledgeable(self) -> bool:
        """Open, and filed with an evidence digest to hold an acknowledgement to."""
        return self.resolved_at is None and self.text(DIGEST) is not None

    @property
    def hack_sign(self) -> bool:
        """Whether it makes the site compromised while open (``domain.compromise``)."""
        return self.resolved_at is None and is_sign(self.kind, self.data.get("severity"))

    def to_json(self) -> dict[str, Any]:
        """The documented shape (``GET /api/sites/{id}/findings`` items, ``sitekeeper
        findings --json``): the finding's columns, its data's words, and what it allows."""
        return {
            "id": self.id,
            "kind": self.kind,
            "ecosystem": self.ecosystem,
            "type": self.type,
            "package": self.package,
            "installed": self.installed,
            "latest": self.latest,
            "advisory_id": self.advisory_id,
            "advisory_ids": [str(a) for a in self.data.get("advisory_ids") or []],
            "aliases": [str(a) for a in self.data.get("aliases") or []],
            "severity": self.text("severity"),
            "fixed_in": self.text("fixed_in"),
            "security": self.security,
            "branch_update": self.text("branch_update"),
            "major_update": self.text("major_update"),
            "certainty": self.certainty,
            "basis": self.basis,
            "note": self.text("note"),
            "title": self.text("title"),
            "evidence": self.text("evidence"),
            "digest": self.text(DIGEST),
            "acknowledgeable": self.acknowledgeable,
            "hack_sign": self.hack_sign,
            "opened_at": self.opened_at,
        }


def _severity_rank() -> Any:
    word = func.lower(Finding.data["severity"].as_string())
    return case(*((word == str(s), s.rank) for s in Severity), else_=0)


def site_findings(
    session: Session,
    site_id: int,
    kinds: Collection[str] | None = None,
    *,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[SiteFinding], int]:
    """A page of the site's open findings (of ``kinds``, or every kind), worst first, then
    by kind and item; and how many there are in all."""
    where = [Finding.site_id == site_id, Finding.resolved_at.is_(None)]
    if kinds is not None:
        where.append(Finding.kind.in_(list(kinds)))
    total = int(session.scalar(select(func.count()).select_from(Finding).where(*where)) or 0)
    rows = session.scalars(
        select(Finding)
        .where(*where)
        .order_by(_severity_rank().desc(), Finding.kind, Finding.package, Finding.id)
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
    )
    return [_view(f) for f in rows], total


def _view(f: Finding) -> SiteFinding:
    return SiteFinding(id=f.id, resolved_at=f.resolved_at, **columns(f))


def get_finding(session: Session, finding_id: int) -> Finding:
    """The finding with this id (open or resolved); NotFound otherwise."""
    found = session.get(Finding, finding_id)
    if found is None:
        raise NotFound(f"no finding {finding_id} (see `sitekeeper findings SITE`)")
    return found
