"""One site's section of the report: its availability, certificate, backups, updates,
security (advisories, exposure and hack-detection findings) and domain in the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sitekeeper.reports.backups import BackupFigures
from sitekeeper.reports.detections import DetectionFigures
from sitekeeper.reports.domains import DomainFigures
from sitekeeper.reports.security import SecurityFigures
from sitekeeper.reports.site_uptime import CertificateFigure, UptimeFigures
from sitekeeper.reports.updates import UpdateFigures


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """Everything the report says about one site (ids link to its page and records)."""

    id: int
    name: str
    url: str
    created_at: datetime
    contract_id: int | None
    uptime: UptimeFigures
    certificate: CertificateFigure
    backups: BackupFigures
    updates: UpdateFigures
    security: SecurityFigures
    detections: DetectionFigures  # exposure and hack-detection findings
    domain: DomainFigures | None  # None: the domain watch has not looked at it
