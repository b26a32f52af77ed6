"""The outside security probe as a job: one site now (``sitekeeper probe-security``, the
``probe-security`` task) or every due site (``serve``, daily by default, per plan), its
report filed as findings and alerted in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.checks import web_check_options
from sitekeeper.domain.exposure import SecurityReport
from sitekeeper.engine.intel_base import IntelBase
from sitekeeper.engine.security_alerts import SecurityAlerts, alerting
from sitekeeper.errors import NotFound
from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe
from sitekeeper.store import findings, inventories, security_probes
from sitekeeper.store.tables import Site

DEFAULT_INTERVAL = 86400.0  # a day, unless the plan's ``security_interval`` says otherwise
LEASE = timedelta(hours=1)  # a site's probe; a crashed holder's lapses
log = logging.getLogger(__name__)


class SecurityJobs(IntelBase):
    """The security probe for one site or every due site, sharing one probe per run."""

    async def probe_site_security(
        self, site_id: int, probe: SecurityProbe | None = None
    ) -> tuple[SecurityReport, findings.Changes]:
        """Probe one registered site, file its findings, queue its alert."""
        if probe is None:
            async with self.security_probe() as one_off:
                return await self.probe_site_security(site_id, one_off)
        url, options, cms = await self.dbt.session_aside(_target, site_id)
        report = await probe.probe(url, options, cms=cms)
        now = datetime.now(UTC)
        alerts = SecurityAlerts(self.settings.alert_urls, self.vault)

        def store(session: Session) -> findings.Changes:
            if session.get(Site, site_id) is None:
                raise NotFound(f"site {site_id} was removed during the probe")
            if report.error is not None:
                return findings.Changes()  # nothing was seen: nothing opens or resolves
            changes = security_probes.file_report(session, site_id, report, now)
            alerts.queue(session, alerting(changes.opened), now)
            return changes

        return report, await self.dbt.session_aside(store)

    @asynccontextmanager
    async def security_probe(self) -> AsyncIterator[SecurityProbe]:
        """One probe for a run (connections, DNS cache and per-IP slots shared)."""
        async with SecurityProbe.from_settings(self.settings) as probe:
            yield probe

    async def security_due(self, limit: int = 100) -> int:
        """Probe the sites whose security probe is due; returns how many ran.

        A site another process holds the lease of is left to it.
        """
        now = datetime.now(UTC)
        async with self.leases.claim(
            "security",
            LEASE,
            lambda s: security_probes.sites_due(s, now, DEFAULT_INTERVAL, limit),
        ) as due:
            if due:
                await self.dbt.session_aside(
                    inventories.mark_attempted, security_probes.KIND, due, now
                )
                async with self.security_probe() as probe:
                    await self._each_probed(due, probe)
        return len(due)

    async def _each_probed(self, site_ids: list[int], probe: SecurityProbe) -> None:
        """Every site, ``concurrency`` at once (the probe's per-IP slots bound each server)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(site_id: int) -> None:
            async with gate:
                try:
                    await self.probe_site_security(site_id, probe)
                except NotFound as exc:  # removed meanwhile: nothing to file
                    log.info("security probe of site %s skipped: %s", site_id, exc)
                except Exception:  # one site's surprise must not end the run for the others
                    log.exception("security probe of site %s failed", site_id)

        await asyncio.gather(*(one(s) for s in site_ids))


def _target(session: Session, site_id: int) -> tuple[str, SecurityOptions, str | None]:
    """The site's URL, what its check options say about trusting it, and its known CMS."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    check = web_check_options(site.check_options)
    return site.url, SecurityOptions.from_check(check), site.cms
