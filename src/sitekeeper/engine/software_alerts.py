"""Software alerts: vulnerable or outdated packages, one message per client listing its
affected sites (see ``finding_alerts``)."""

from __future__ import annotations

from typing import Any

from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.finding_alerts import BySite, FindingAlerts, Sites
from sitekeeper.notify import messages

MAX_ALERT_LINES = 200  # per message; a client with more sites gets the count


class SoftwareAlerts(FindingAlerts):
    """One message per client listing its affected sites and packages."""

    alert_kind = messages.AlertKind.SOFTWARE
    event_kind = IntelEventKind.SOFTWARE_ALERT

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """The advisories the message is about."""
        advisories = {s.advisory_id for i in site_ids for s in by_site[i] if s.advisory_id}
        return {"advisories": sorted(advisories)[:100]}

    def message(
        self, client: str | None, language: str, site_ids: list[int], sites: Sites, by_site: BySite
    ) -> tuple[str, str]:
        """The software alert in the client's language."""
        return _message(client, language, site_ids, sites, by_site)


def _message(
    client: str | None,
    language: str,
    site_ids: list[int],
    sites: Sites,
    by_site: BySite,
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
