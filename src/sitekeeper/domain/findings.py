"""Findings as matching computes them, and the words they are filed under.

Pure types: matching (intel) produces them, the store opens and resolves findings to
match them, the web and CLI read their kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitekeeper.domain.catalogue import PackageKey
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.versions import Ecosystem

UPDATE, VULNERABILITY, UNKNOWN_SOURCE = "update", "vulnerability", "unknown-source"
# What matching software against the catalogue derives (other checks file other kinds).
SOFTWARE_KINDS = (UPDATE, VULNERABILITY, UNKNOWN_SOURCE)
CERTAIN, POSSIBLE = "certain", "possible"
INVENTORY, FINGERPRINT = "inventory", "fingerprint"


@dataclass(frozen=True, slots=True)
class Software:
    """One package on one site, as best known."""

    site_id: int
    ecosystem: Ecosystem
    type: str
    package: str
    version: str | None
    candidates: tuple[str, ...] = ()
    basis: str = INVENTORY
    update_source: str | None = None

    @property
    def catalogue_key(self) -> PackageKey:
        """Key into the vendor catalogue."""
        return (str(self.ecosystem), self.type, self.package)


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """A finding as matching wants it to be; the store opens, updates or resolves to match."""

    site_id: int
    kind: str
    ecosystem: str
    type: str
    package: str
    installed: str | None
    basis: str
    latest: str | None = None
    advisory_id: str | None = None
    security: bool = False
    certainty: str = CERTAIN
    aliases: tuple[str, ...] = ()
    severity: str | None = None
    fixed_in: str | None = None
    advisory_ids: tuple[str, ...] = ()
    note: str | None = None
    # An update finding's two paths: the newest release on the installed branch (what a
    # security policy applies without approval) and a newer branch's (waits for approval).
    branch_update: str | None = None
    branch_security: bool = False
    major_update: str | None = None
    # What a kind other than matching's keeps beside (a title, the evidence seen), as pairs.
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Stable identity across re-matches (a new latest version is an update, not new)."""
        base = f"{self.kind}:{self.ecosystem}:{self.type}:{self.package}"
        return f"{base}:{self.advisory_id}" if self.advisory_id else base

    def data(self) -> dict[str, object]:
        """The JSON details stored with the finding."""
        return {
            "aliases": list(self.aliases),
            "severity": self.severity,
            "fixed_in": self.fixed_in,
            "advisory_ids": list(self.advisory_ids),
            "note": self.note,
            "branch_update": self.branch_update,
            "branch_security": self.branch_security,
            "major_update": self.major_update,
            **dict(self.extra),
        }


def detection_spec(
    site_id: int,
    *,
    kind: str,
    ecosystem: str,
    basis: str,
    type: str,
    package: str,
    severity: Severity,
    alert_from: Severity,
    fix: str,
    extra: tuple[tuple[str, str], ...],
) -> FindingSpec:
    """The finding a detection check (outside probe, content probe, file scan) files: seen
    for certain, about no version, security from ``alert_from`` up, its fix as the note."""
    return FindingSpec(
        site_id=site_id,
        kind=kind,
        ecosystem=ecosystem,
        type=type,
        package=package,
        installed=None,
        basis=basis,
        security=severity.rank >= alert_from.rank,
        certainty=CERTAIN,
        severity=str(severity),
        note=fix,
        extra=extra,
    )
