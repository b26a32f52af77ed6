"""Integrity alerts: one message per client listing its sites' newly found changed, foreign
or malicious files (medium and worse), queued in the transaction that opened them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.integrity import ALERT_FROM, KINDS
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.severity import severity_rank
from sitekeeper.engine.finding_alerts import BySite, FindingAlerts
from sitekeeper.notify.messages import AlertKind


def alerting(opened: Sequence[FindingSpec]) -> list[FindingSpec]:
    """The newly opened integrity and malware findings worth an alert."""
    return [s for s in opened if s.kind in KINDS and severity_rank(s.severity) >= ALERT_FROM.rank]


class IntegrityAlerts(FindingAlerts):
    """One message per client listing its sites' new file findings, worst first."""

    alert_kind = AlertKind.INTEGRITY
    event_kind = IntelEventKind.INTEGRITY_ALERT

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """The files named (escaped paths), at most a hundred."""
        return {"files": sorted({s.package for i in site_ids for s in by_site[i]})[:100]}
