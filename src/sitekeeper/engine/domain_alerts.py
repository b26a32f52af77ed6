"""Domain alerts: one message per client listing its sites' newly opened domain findings
(an expiring domain, changed name servers, an address in an unknown network), queued in
the transaction that opened them. A renewal or an accepted move resolves them silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.registration import DOMAIN
from sitekeeper.engine.finding_alerts import BySite, FindingAlerts
from sitekeeper.notify.messages import AlertKind


def alerting(opened: Sequence[FindingSpec]) -> list[FindingSpec]:
    """The newly opened domain findings (every one of them is worth an alert)."""
    return [s for s in opened if s.kind == DOMAIN]


class DomainAlerts(FindingAlerts):
    """One message per client listing its sites' new domain issues, worst first."""

    alert_kind = AlertKind.DOMAIN
    event_kind = DomainEventKind.DOMAIN_ALERT

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """The issues by type (expiry, ns, network) and what they concern."""
        return {
            "issues": sorted({f"{s.type}: {s.package}" for i in site_ids for s in by_site[i]})[:100]
        }
