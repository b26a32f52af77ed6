"""Journal event kinds of the domain and DNS watch; never rename a stored kind."""

from __future__ import annotations

from enum import StrEnum


class DomainEventKind(StrEnum):
    """What happened to a site's domain or DNS records."""

    DNS_CHANGED = "dns.changed"  # data: host, domain, changes {type: {added, removed}}
    DNS_ACCEPTED = "dns.accepted"  # a technician trusted the current NS and networks: by, why
    DOMAIN_ALERT = "domain.alert"  # one per client: expiring domains, possible hijacks
