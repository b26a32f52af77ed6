"""Domain alerts: one message per client listing its sites' newly opened domain findings
(an expiring domain, changed name servers, an address in an unknown network), queued in
the transaction that opened them. A renewal or an accepted move resolves them silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.registration import DOMAIN
from sitekeeper.domain.severity import severity_rank
from sitekeeper.domain.untrusted import clean
from sitekeeper.notify import outbox
from sitekeeper.store import journal
from sitekeeper.store.alert_recipients import clients_by_id, sites_by_id
from sitekeeper.store.channels import channel_urls
from sitekeeper.vault import Vault

MAX_LINES = 100  # per message; the rest is counted


def alerting(opened: Sequence[FindingSpec]) -> list[FindingSpec]:
    """The newly opened domain findings (every one of them is worth an alert)."""
    return [s for s in opened if s.kind == DOMAIN]


class DomainAlerts:
    """Queues one message per client to the global and the client's channels."""

    def __init__(self, global_urls: Sequence[str], vault: Vault) -> None:
        self.global_urls = list(global_urls)
        self.vault = vault

    def queue(self, session: Session, specs: Sequence[FindingSpec], now: datetime) -> int:
        """Queue the alerts for ``specs`` in the caller's transaction; messages queued."""
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
            name, stored, _ = clients.get(client_id, (None, [], "en"))
            issues = sorted({f"{s.type}: {s.package}" for i in site_ids for s in by_site[i]})
            event = journal.record(
                session,
                DomainEventKind.DOMAIN_ALERT,
                client_id=client_id,
                data={
                    "sites": site_ids[:5000],
                    "site_count": len(site_ids),
                    "issues": issues[:100],
                },
                ts=now,
            )
            urls = channel_urls(session, self.vault, self.global_urls, stored, name)
            if not urls:
                continue
            title, body = _message(name, site_ids, sites, by_site)
            outbox.enqueue(
                session, urls=urls, title=title, body=body, event_id=event.id,
                vault=self.vault, now=now,
            )  # fmt: skip
            queued += 1
        return queued


def _message(
    client: str | None,
    site_ids: list[int],
    sites: dict[int, tuple[str, str, int | None]],
    by_site: dict[int, list[FindingSpec]],
) -> tuple[str, str]:
    """English for now, as the security alerts: the catalogues do not carry these yet."""
    count = len(site_ids)
    whose = f" of {clean(client, 100)}" if client else ""
    title = f"DOMAIN: {count} site{'s' if count != 1 else ''}{whose} need attention"
    lines = []
    for site_id in site_ids:
        name, url, _ = sites[site_id]
        for spec in sorted(by_site[site_id], key=lambda s: -severity_rank(s.severity)):
            extra = dict(spec.extra)
            evidence = f" ({clean(extra['evidence'], 200)})" if extra.get("evidence") else ""
            lines.append(
                f"- {clean(name, 100)} ({clean(url, 200)}): [{spec.severity}] "
                f"{clean(extra.get('title', spec.package), 200)}{evidence} — "
                f"{clean(spec.note or '', 200)}"
            )
    more = len(lines) - MAX_LINES
    body = lines[:MAX_LINES] + ([f"… and {more} more"] if more > 0 else [])
    return title[:500], "\n".join(body) + "\n"
