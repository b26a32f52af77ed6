"""Software alerts: one message per client listing its affected sites, queued in the
transaction that opened the findings (so a rolled-back import alerts nobody)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.notify import messages, outbox
from sitekeeper.store import journal
from sitekeeper.store.alert_recipients import clients_by_id, sites_by_id
from sitekeeper.store.channels import channel_urls
from sitekeeper.vault import Vault

MAX_ALERT_LINES = 200  # per message; a client with more sites gets the count


class SoftwareAlerts:
    """One message per client listing its affected sites, to the global + client channels."""

    def __init__(self, global_urls: Sequence[str], vault: Vault) -> None:
        self.global_urls = list(global_urls)
        self.vault = vault

    def queue(self, session: Session, specs: Sequence[FindingSpec], now: datetime) -> int:
        """Queue the alerts for ``specs`` in the caller's transaction; returns messages queued."""
        if not specs:
            return 0
        by_site: dict[int, list[FindingSpec]] = {}
        for spec in specs:
            by_site.setdefault(spec.site_id, []).append(spec)
        sites = sites_by_id(session, list(by_site))
        by_client: dict[int | None, list[int]] = {}
        for site_id in sorted(by_site, key=lambda s: sites[s][0] if s in sites else ""):
            if site_id in sites:
                by_client.setdefault(sites[site_id][2], []).append(site_id)
        clients = clients_by_id(session, [c for c in by_client if c is not None])
        queued = 0
        for client_id, site_ids in by_client.items():
            name, stored, language = (
                clients.get(client_id, (None, [], "en")) if client_id else (None, [], "en")
            )
            urls = channel_urls(session, self.vault, self.global_urls, stored, name)
            event = journal.record(
                session,
                IntelEventKind.SOFTWARE_ALERT,
                client_id=client_id,
                data={
                    "sites": site_ids[:5000],
                    "site_count": len(site_ids),
                    "advisories": sorted(
                        {s.advisory_id for i in site_ids for s in by_site[i] if s.advisory_id}
                    )[:100],
                },
                ts=now,
            )
            if not urls:
                continue
            title, body = _message(name, language, site_ids, sites, by_site)
            outbox.enqueue(
                session,
                urls=urls,
                title=title,
                body=body,
                event_id=event.id,
                vault=self.vault,
                now=now,
            )
            queued += 1
        return queued


def _message(
    client: str | None,
    language: str,
    site_ids: list[int],
    sites: dict[int, tuple[str, str, int | None]],
    by_site: dict[int, list[FindingSpec]],
) -> tuple[str, str]:
    lines = [
        messages.SoftwareLine(
            site=sites[site_id][0],
            url=sites[site_id][1],
            package=spec.package,
            installed=spec.installed,
            advisory_id=spec.advisory_id,
            severity=spec.severity,
            fixed_in=spec.fixed_in,
            possible=spec.certainty == "possible",
            latest=spec.latest,
        )
        for site_id in site_ids[:MAX_ALERT_LINES]
        for spec in by_site[site_id]
    ]
    advisories = sorted({s.advisory_id for i in site_ids for s in by_site[i] if s.advisory_id})
    message = messages.software_alert(
        lines=lines,
        site_count=len(site_ids),
        advisories=advisories,
        client=client,
        language=language,
        more=max(0, len(site_ids) - MAX_ALERT_LINES),
    )
    return message.title, message.body
