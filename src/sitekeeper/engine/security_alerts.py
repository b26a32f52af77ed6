"""Security alerts: one message per client listing its sites' newly found exposures (medium
and worse), queued in the transaction that opened the findings.

Lower severities are hardening advice: they show on the site page and in the report,
they do not wake anyone up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitekeeper.domain.exposure import ALERT_FROM, EXPOSURE
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.severity import severity_rank
from sitekeeper.engine.finding_alerts import BySite, FindingAlerts
from sitekeeper.notify.messages import AlertKind


def alerting(opened: Sequence[FindingSpec]) -> list[FindingSpec]:
    """The newly opened exposures worth an alert (``ALERT_FROM`` and worse)."""
    return [
        s for s in opened if s.kind == EXPOSURE and severity_rank(s.severity) >= ALERT_FROM.rank
    ]


class SecurityAlerts(FindingAlerts):
    """One message per client listing its sites' new exposures, worst first."""

    alert_kind = AlertKind.EXPOSURE
    event_kind = IntelEventKind.SECURITY_ALERT

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """The exposed items (paths, headers, protocol versions)."""
        return {"issues": sorted({s.package for i in site_ids for s in by_site[i]})[:100]}
