"""A site's domain registration as RDAP tells it, and when its expiry is worth a warning.

Pure types and rules. The RDAP client (``probes.rdap``) produces a :class:`Registration`;
the store keeps the last one per site and files an expiring domain as a finding of kind
``domain``, opened at the plan's ``domain_warn_days`` like a certificate's warning and
resolved when the registry shows the renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sitekeeper.domain.findings import CERTAIN, FindingSpec
from sitekeeper.domain.severity import Severity

DOMAIN = "domain"  # the finding kind of the domain and DNS watch
ECOSYSTEM = "dns"
BASIS = "rdap"
EXPIRY = "expiry"  # the finding type of an expiring (or expired) domain
# RDAP statuses (RFC 9083 §10.2.2, lower case with spaces) that lock a domain against
# transfer and change: the ones a technician wants to see on a valuable domain.
LOCKS = ("client transfer prohibited", "server transfer prohibited")


@dataclass(frozen=True, slots=True)
class Registration:
    """What the registry's RDAP server says about a domain (``error``: why it could not tell).

    ``statuses`` are as RDAP spells them ("client transfer prohibited"); ``dnssec`` is
    ``secureDNS.delegationSigned`` (None when the server does not say).
    """

    domain: str
    registrar: str | None = None
    expires: datetime | None = None
    registered: datetime | None = None
    statuses: tuple[str, ...] = ()
    dnssec: bool | None = None
    nameservers: tuple[str, ...] = ()
    source: str | None = None  # the RDAP URL asked
    error: str | None = None

    def days_left(self, now: datetime) -> int | None:
        """Whole days until expiry (negative once expired), None when unknown."""
        return None if self.expires is None else (self.expires - now).days

    def locked(self) -> bool:
        """Whether a transfer lock is set."""
        return any(s in LOCKS for s in self.statuses)

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The documented ``sitekeeper domain --json`` shape of the registration."""
        return {
            "domain": self.domain,
            "registrar": self.registrar,
            "expires": self.expires.isoformat() if self.expires else None,
            "days_left": self.days_left(now),
            "registered": self.registered.isoformat() if self.registered else None,
            "statuses": list(self.statuses),
            "transfer_locked": self.locked(),
            "dnssec": self.dnssec,
            "nameservers": list(self.nameservers),
            "source": self.source,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class ExpiryRule:
    """When an expiry warns: ``warn_days`` before it (the plan's ``domain_warn_days``)."""

    warn_days: int

    def spec(self, site_id: int, registration: Registration, now: datetime) -> FindingSpec | None:
        """The finding for an expiring domain, or None while it is far enough away.

        Severity rises as the day nears (an expired domain takes the site and its mail
        down): medium inside the warning, high in the last week, critical once expired.
        """
        days = registration.days_left(now)
        if registration.error is not None or days is None or days > self.warn_days:
            return None
        severity = (
            Severity.CRITICAL if days < 0 else Severity.HIGH if days <= 7 else Severity.MEDIUM
        )
        when = registration.expires.date().isoformat() if registration.expires else "?"
        title = (
            f"domain {registration.domain} expired on {when}"
            if days < 0
            else f"domain {registration.domain} expires on {when} ({days} days left)"
        )
        return FindingSpec(
            site_id=site_id,
            kind=DOMAIN,
            ecosystem=ECOSYSTEM,
            type=EXPIRY,
            package=registration.domain[:200],
            installed=None,
            basis=BASIS,
            security=True,
            certainty=CERTAIN,
            severity=str(severity),
            note="renew the domain at its registrar"
            + (f" ({registration.registrar})" if registration.registrar else ""),
            extra=(("title", title), ("expires", when), ("days_left", str(days))),
        )
