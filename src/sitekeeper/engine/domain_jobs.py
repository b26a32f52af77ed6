"""The domain and DNS watch as a job: one site now (``sitekeeper domain``) or every due site
(``serve``, daily by default, per plan), filed and alerted in one transaction.

The look-ups (RDAP, DNS) run outside any transaction; RDAP and DNS of one site run at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.dns_watch import DnsAnswer
from sitekeeper.domain.domain_check import DomainCheck
from sitekeeper.domain.registration import Registration
from sitekeeper.engine.domain_alerts import DomainAlerts, alerting
from sitekeeper.engine.intel_base import IntelBase
from sitekeeper.errors import NotFound
from sitekeeper.probes.dns_records import DnsReader
from sitekeeper.probes.rdap import RdapClient, RdapSettings
from sitekeeper.probes.registrable import registrable_domain, site_host
from sitekeeper.store import domain_watch, inventories
from sitekeeper.store.tables import Site

LEASE = timedelta(hours=1)  # a site's check; a crashed holder's lapses
log = logging.getLogger(__name__)


@dataclass
class DomainTools:
    """What one run shares: the RDAP client (its bootstrap read once) and the DNS reader."""

    rdap: RdapClient
    dns: DnsReader


class DomainJobs(IntelBase):
    """The domain watch for one site or every due site."""

    @asynccontextmanager
    async def domain_tools(self) -> AsyncIterator[DomainTools]:
        """The RDAP client and DNS reader of a run."""
        dns = DnsReader(self.settings.dns_servers, timeout=self.settings.dns_timeout)
        async with RdapClient(RdapSettings.from_settings(self.settings)) as rdap, dns:
            yield DomainTools(rdap, dns)

    async def check_domain(
        self, site_id: int, tools: DomainTools | None = None
    ) -> tuple[DomainCheck, domain_watch.Filed]:
        """Check one registered site's domain and records, file them, queue the alert."""
        if tools is None:
            async with self.domain_tools() as one_off:
                return await self.check_domain(site_id, one_off)
        goal = await self.dbt.session_aside(domain_watch.target, site_id)
        check = await look_up(goal.url, tools)
        alerts = DomainAlerts(self.settings.alert_urls, self.vault)

        def store(session: Session) -> domain_watch.Filed:
            if session.get(Site, site_id) is None:
                raise NotFound(f"site {site_id} was removed during the check")
            fresh = domain_watch.target(session, site_id)  # the plan may have changed
            filed = domain_watch.file_check(session, fresh, check)
            alerts.queue(session, alerting(filed.changes.opened), check.checked_at)
            return filed

        return check, await self.dbt.session_aside(store)

    async def domains_due(self, limit: int = 100) -> int:
        """Check the sites whose domain watch is due; returns how many ran."""
        now = datetime.now(UTC)
        interval = self.settings.domain_interval
        async with self.leases.claim(
            "domain", LEASE, lambda s: domain_watch.sites_due(s, now, interval, limit)
        ) as due:
            if due:
                await self.dbt.session_aside(
                    inventories.mark_attempted, domain_watch.KIND, due, now
                )
                async with self.domain_tools() as tools:
                    await self._each_checked(due, tools)
        return len(due)

    async def _each_checked(self, site_ids: list[int], tools: DomainTools) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(site_id: int) -> None:
            async with gate:
                try:
                    await self.check_domain(site_id, tools)
                except NotFound as exc:
                    log.info("domain check of site %s skipped: %s", site_id, exc)

        await asyncio.gather(*(one(s) for s in site_ids))


async def look_up(url: str, tools: DomainTools) -> DomainCheck:
    """RDAP and DNS of a site's domain, at once; nothing is stored."""
    now = datetime.now(UTC)
    host = site_host(url)
    domain = registrable_domain(host) if host else None
    if host is None or domain is None:
        why = "an IP address or a name without a registrable domain has no registration"
        return DomainCheck(url, host, None, now, error=why)
    registration: Registration
    answer: DnsAnswer
    registration, answer = await asyncio.gather(
        tools.rdap.lookup(domain), tools.dns.read(host, domain)
    )
    notes = list(tools.rdap.notes)
    return DomainCheck(url, host, domain, now, registration, answer, notes)
