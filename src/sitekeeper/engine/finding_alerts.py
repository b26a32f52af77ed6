"""Alerts about newly opened findings: one message per client listing its affected sites,
to the global and the client's channels, queued in the transaction that opened the
findings (so a rolled-back run alerts nobody). Each kind of finding (software, outside
exposure, domain) says only what its journal event keeps and how its message reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.severity import severity_rank
from sitekeeper.notify import messages, outbox
from sitekeeper.store import journal
from sitekeeper.store.alert_recipients import clients_by_id, sites_by_id
from sitekeeper.store.channels import channel_urls
from sitekeeper.vault import Vault

Sites = dict[int, tuple[str, str, int | None]]  # site id -> (name, url, client id)
BySite = dict[int, list[FindingSpec]]
MAX_JOURNAL_SITES = 5000  # the event keeps the ids; a count says how many there were
MAX_LINES = 100  # per message of findings; the rest is counted


class FindingAlerts:
    """Queues one message per client for the findings handed in; subclasses name the
    journal event, what it keeps and the message's wording."""

    event_kind: str
    alert_kind: messages.AlertKind  # the wording of the default message

    def __init__(self, global_urls: Sequence[str], vault: Vault) -> None:
        self.global_urls = list(global_urls)
        self.vault = vault

    def queue(self, session: Session, specs: Sequence[FindingSpec], now: datetime) -> int:
        """Queue the alerts for ``specs`` in the caller's transaction; messages queued."""
        if not specs:
            return 0
        by_site: BySite = {}
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
            event = journal.record(
                session,
                self.event_kind,
                client_id=client_id,
                data={
                    "sites": site_ids[:MAX_JOURNAL_SITES],
                    "site_count": len(site_ids),
                    **self.event_data(site_ids, by_site),
                },
                ts=now,
            )
            urls = channel_urls(session, self.vault, self.global_urls, stored, name)
            if not urls:
                continue
            title, body = self.message(name, language, site_ids, sites, by_site)
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

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """What the journal event keeps besides the sites (e.g. the advisories)."""
        raise NotImplementedError

    def message(
        self, client: str | None, language: str, site_ids: list[int], sites: Sites, by_site: BySite
    ) -> tuple[str, str]:
        """The message's title and body in the client's language: by default each site's
        findings, worst first, with the check's own title, evidence and fix (kept in the
        finding's ``extra`` and ``note``)."""
        lines = [
            messages.FindingLine(
                site=sites[site_id][0],
                url=sites[site_id][1],
                severity=spec.severity,
                title=str(dict(spec.extra).get("title") or spec.package),
                fix=spec.note or "",
                evidence=str(dict(spec.extra).get("evidence") or ""),
            )
            for site_id in site_ids
            for spec in sorted(by_site[site_id], key=lambda s: -severity_rank(s.severity))
        ]
        message = messages.finding_alert(
            self.alert_kind,
            lines=lines[:MAX_LINES],
            site_count=len(site_ids),
            client=client,
            language=language,
            more=max(0, len(lines) - MAX_LINES),
        )
        return message.title, message.body
