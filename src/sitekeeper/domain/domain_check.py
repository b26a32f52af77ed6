"""One site's domain check as the CLI shows it and the store files it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sitekeeper.domain.dns_watch import DnsAnswer
from sitekeeper.domain.registration import Registration


@dataclass(slots=True)
class DomainCheck:
    """The registration and the records of a site's domain, as seen at ``checked_at``.

    ``error`` is set when there is nothing to check (an IP address or a single-label
    host has no registration); each part carries its own failure otherwise.
    """

    url: str
    host: str | None
    domain: str | None
    checked_at: datetime
    registration: Registration | None = None
    dns: DnsAnswer | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented ``sitekeeper domain --json`` shape (without the stored review)."""
        return {
            "url": self.url,
            "host": self.host,
            "domain": self.domain,
            "checked_at": self.checked_at.isoformat(),
            "registration": self.registration.to_json(self.checked_at)
            if self.registration
            else None,
            "dns": self.dns.to_json() if self.dns else None,
            "notes": list(self.notes),
            "error": self.error,
        }
