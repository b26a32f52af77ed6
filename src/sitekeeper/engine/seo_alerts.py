"""SEO alerts: one message per client listing its sites' new SEO spam, defacement and
cloaking findings (medium and worse), queued in the transaction that opened them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.seo import ALERT_FROM, SEO, SeoEventKind
from sitekeeper.domain.severity import severity_rank
from sitekeeper.engine.finding_alerts import BySite, FindingAlerts
from sitekeeper.notify.messages import AlertKind


def alerting(opened: Sequence[FindingSpec]) -> list[FindingSpec]:
    """The newly opened ``seo`` findings worth an alert (``ALERT_FROM`` and worse)."""
    return [s for s in opened if s.kind == SEO and severity_rank(s.severity) >= ALERT_FROM.rank]


class SeoAlerts(FindingAlerts):
    """One message per client listing its sites' new SEO findings, worst first."""

    alert_kind = AlertKind.SEO
    event_kind = SeoEventKind.SEO_ALERT

    def event_data(self, site_ids: list[int], by_site: BySite) -> dict[str, Any]:
        """What was found (domains, scripts, pages)."""
        return {"issues": sorted({s.package for i in site_ids for s in by_site[i]})[:100]}
