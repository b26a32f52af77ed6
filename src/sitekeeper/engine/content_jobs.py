"""The content probe as a job: one site now (``sitekeeper probe-content``, the
``probe-content`` task) or every due site (``serve``, daily by default, per plan's
``content_interval``); its baselines, findings and alert stored in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.checks import web_check_options
from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.domain.seo import SeoReport
from sitekeeper.engine.intel_base import IntelBase
from sitekeeper.engine.seo_alerts import SeoAlerts, alerting
from sitekeeper.errors import NotFound
from sitekeeper.probes.content.probe import ContentOptions, ContentProbe, Known
from sitekeeper.probes.content.snapshot import Snapshot
from sitekeeper.store import findings, inventories, page_baselines
from sitekeeper.store.backups import plan_options
from sitekeeper.store.tables import Site

DEFAULT_INTERVAL = 86400.0  # a day, unless the plan's ``content_interval`` says otherwise
LEASE = timedelta(hours=1)
log = logging.getLogger(__name__)


class ContentJobs(IntelBase):
    """The content probe for one site or every due site, sharing one probe per run."""

    async def probe_site_content(
        self, site_id: int, probe: ContentProbe | None = None, *, accept: str | None = None
    ) -> tuple[SeoReport, findings.Changes]:
        """Probe one registered site, keep its baselines, file its findings, queue its
        alert. ``accept`` (who): take what is seen now as the new normal (journalled)."""
        if probe is None:
            async with self.content_probe() as one_off:
                return await self.probe_site_content(site_id, one_off, accept=accept)
        url, options, stored = await self.dbt.session_aside(_target, site_id)
        known = Known(
            pages={u: Snapshot.from_json(d) for u, d in stored.pages.items()},
            sitemap=stored.sitemap,
            accept=accept is not None,
        )
        result = await probe.probe_content(url, known, options)
        report = result.report
        now = datetime.now(UTC)
        alerts = SeoAlerts(self.settings.alert_urls, self.vault)

        def store(session: Session) -> findings.Changes:
            if session.get(Site, site_id) is None:
                raise NotFound(f"site {site_id} was removed during the probe")
            if report.error is not None:
                return findings.Changes()  # nothing was seen: nothing opens or resolves
            keys = result.sitemap_keys(legit_only=accept is None)
            page_baselines.save(session, site_id, result.baselines(), keys, now, accept=accept)
            if options.key_pages:  # a page dropped from the list is no longer watched
                page_baselines.keep_pages(session, site_id, report.pages)
            changes = page_baselines.file_report(session, site_id, report, now)
            alerts.queue(session, alerting(changes.opened), now)
            return changes

        return report, await self.dbt.session_aside(store)

    @asynccontextmanager
    async def content_probe(self) -> AsyncIterator[ContentProbe]:
        """One probe for a run (connections, DNS cache and per-IP slots shared)."""
        async with ContentProbe.from_settings(self.settings) as probe:
            yield probe

    async def content_due(self, limit: int = 100) -> int:
        """Probe the sites whose content probe is due; returns how many ran."""
        now = datetime.now(UTC)
        async with self.leases.claim(
            "content",
            LEASE,
            lambda s: page_baselines.sites_due(s, now, DEFAULT_INTERVAL, limit),
        ) as due:
            if due:
                await self.dbt.session_aside(
                    inventories.mark_attempted, page_baselines.KIND, due, now
                )
                async with self.content_probe() as probe:
                    await self._each_content(due, probe)
        return len(due)

    async def _each_content(self, site_ids: list[int], probe: ContentProbe) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(site_id: int) -> None:
            async with gate:
                try:
                    await self.probe_site_content(site_id, probe)
                except NotFound as exc:
                    log.info("content probe of site %s skipped: %s", site_id, exc)
                except Exception:  # one site's surprise must not end the run for the others
                    log.exception("content probe of site %s failed", site_id)

        await asyncio.gather(*(one(s) for s in site_ids))


def _target(session: Session, site_id: int) -> tuple[str, ContentOptions, page_baselines.Stored]:
    """The site's URL, its options (trust, its plan's words and threshold, its key
    pages), its baselines."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    check = web_check_options(site.check_options)
    plan = plan_options(site)
    options = ContentOptions(
        verify_tls=check.verify_tls,
        ca_bundle=check.ca_bundle,
        forbidden_words=list(plan.forbidden_words) if plan else [],
        change_percent=plan.content_change_percent if plan else 60.0,
        key_pages=stored_key_pages(site.check_options),
    )
    return site.url, options, page_baselines.stored(session, site_id)
