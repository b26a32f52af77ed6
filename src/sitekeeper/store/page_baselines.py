"""Named queries for the content probe: each site's page baselines (``page_baselines``),
filing a report as findings of kind ``seo``, and which sites are due.

A page's baseline changes only when it is first seen or accepted (``--accept`` after a
redesign, journalled with who): comparing with the last run instead would let a hack
become normal the day after. The sitemap's row grows by the new URLs that look legitimate
(new posts), so a spam URL stays new until someone accepts it. The rows' ``data`` is the
probe's JSON, opaque here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sitekeeper.domain.seo import SEO, SeoEventKind, SeoReport
from sitekeeper.store import finding_acks, findings, inventories, journal
from sitekeeper.store.detection_tables import PageBaseline
from sitekeeper.store.tables import Site

KIND = "content"  # the intel_attempts kind: when a site was last probed
SITEMAP = "#sitemap"  # the row holding the sitemap's URL keys
MAX_KEYS = 4000
MAX_URL = 800  # the column's size


@dataclass(slots=True)
class Stored:
    """A site's baselines: each page's data, and the sitemap's URL keys (None: none yet)."""

    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    sitemap: frozenset[str] | None = None


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites due for the probe (the plan's ``content_interval`` or ``default_interval``)."""
    return inventories.attempts_due(session, KIND, now, default_interval, limit)


def stored(session: Session, site_id: int) -> Stored:
    """The site's baselines."""
    found = Stored()
    for row in session.scalars(select(PageBaseline).where(PageBaseline.site_id == site_id)):
        if row.url == SITEMAP:
            keys = (row.data or {}).get("urls")
            if isinstance(keys, list):
                found.sitemap = frozenset(str(k) for k in keys[:MAX_KEYS])
        else:
            found.pages[row.url] = dict(row.data or {})
    return found


def save(
    session: Session,
    site_id: int,
    pages: Mapping[str, dict[str, Any]],
    sitemap: Sequence[str] | None,
    now: datetime,
    *,
    accept: str | None = None,
) -> None:
    """Keep the baselines of pages seen for the first time and mark the others checked;
    ``sitemap``: URL keys to add to the sitemap's. ``accept`` (who): replace every
    baseline with ``pages`` and ``sitemap``, journalled."""
    rows = {
        r.url: r
        for r in session.scalars(select(PageBaseline).where(PageBaseline.site_id == site_id))
    }
    if accept is not None:
        stale = [u for u in rows if u not in pages and u != SITEMAP]
        if stale:
            where = (PageBaseline.site_id == site_id, PageBaseline.url.in_(stale))
            session.execute(delete(PageBaseline).where(*where))
    for url, data in pages.items():
        row = rows.get(url[:MAX_URL])
        if row is None:
            session.add(
                PageBaseline(
                    site_id=site_id, url=url[:MAX_URL], captured_at=now, checked_at=now, data=data
                )
            )
        elif accept is not None:
            row.data, row.captured_at, row.checked_at = data, now, now
        else:
            row.checked_at = now
    if sitemap is not None:
        _save_sitemap(session, site_id, rows.get(SITEMAP), sitemap, now, replace=accept is not None)
    if accept is not None:
        client_id = session.scalar(select(Site.client_id).where(Site.id == site_id))
        journal.record(
            session,
            SeoEventKind.BASELINE_ACCEPTED,
            site_id=site_id,
            client_id=client_id,
            data={"by": accept[:200], "pages": sorted(pages)[:20]},
            ts=now,
        )
    session.flush()


def keep_pages(session: Session, site_id: int, pages: Sequence[str]) -> None:
    """Forget the baselines of pages other than ``pages`` (the configured key pages and
    the home page): one dropped from the list and added back later is baselined afresh."""
    keep = [p[:MAX_URL] for p in pages]
    session.execute(
        delete(PageBaseline).where(
            PageBaseline.site_id == site_id,
            PageBaseline.url.not_in([*keep, SITEMAP]),
        )
    )


def _save_sitemap(
    session: Session,
    site_id: int,
    row: PageBaseline | None,
    keys: Sequence[str],
    now: datetime,
    *,
    replace: bool,
) -> None:
    """The first or accepted sitemap whole; later, the old keys and the new ones."""
    old = (row.data or {}).get("urls") if row is not None and not replace else None
    kept = [str(k) for k in old] if isinstance(old, list) else []
    data = {"urls": list(dict.fromkeys([*kept, *keys]))[:MAX_KEYS]}
    if row is None:
        session.add(
            PageBaseline(site_id=site_id, url=SITEMAP, captured_at=now, checked_at=now, data=data)
        )
    else:
        row.data, row.checked_at = data, now
        if replace:
            row.captured_at = now


def file_report(
    session: Session, site_id: int, report: SeoReport, now: datetime
) -> findings.Changes:
    """Open, keep and resolve the site's ``seo`` findings to match ``report`` (what an
    operator acknowledged for the same evidence left out); only the issue types it looked
    at completely resolve."""
    specs = [issue.spec(site_id) for issue in report.issues]
    specs = finding_acks.quiet(session, site_id, specs)
    return findings.reconcile(
        session, specs, now, site_ids=[site_id], kinds=[SEO], types=report.complete
    )
