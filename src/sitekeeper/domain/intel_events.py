"""Journal event kinds of software intelligence: inventories, advisories, findings.

Reports count time-to-patch from ``finding.opened`` / ``finding.resolved``;
never rename a stored kind.
"""

from __future__ import annotations

from enum import StrEnum


class IntelEventKind(StrEnum):
    """What happened to a site's software knowledge."""

    INVENTORY_CHANGED = "inventory.changed"  # data: installed / removed / upgraded / ...
    FINGERPRINT_CHANGED = "fingerprint.changed"
    FINDING_OPENED = "finding.opened"
    FINDING_RESOLVED = "finding.resolved"
    FINDING_ACKNOWLEDGED = "finding.acknowledged"  # data: key, digest, reason, actor
    FINDING_UNACKNOWLEDGED = "finding.unacknowledged"  # an acknowledgement undone; data: actor
    ADVISORIES_IMPORTED = "advisories.imported"
    SOFTWARE_ALERT = "software.alert"  # one per client: new vulnerabilities / security updates
    SECURITY_ALERT = "security.alert"  # one per client: new exposures seen from outside
    INTEGRITY_ALERT = "integrity.alert"  # one per client: changed, foreign or malicious files
