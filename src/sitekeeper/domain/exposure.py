"""What the outside security checks find: issues with a severity and a one-line fix.

Pure types. The probe (``probes.security``) produces a :class:`SecurityReport`; the
engine files each issue as a finding of kind ``exposure`` (``store.findings``), so an
issue opens, stays while the check still sees it, and resolves when it no longer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sitekeeper.domain.findings import FindingSpec, detection_spec
from sitekeeper.domain.severity import Severity, highest

EXPOSURE = "exposure"  # the finding kind of every outside security check
ECOSYSTEM = "web"  # what the finding is about: the site as the web sees it
BASIS = "outside"


ALERT_FROM = Severity.MEDIUM  # a newly opened issue at or above this alerts the client's channels


@dataclass(frozen=True, slots=True)
class SecurityIssue:
    """One thing a check saw: ``check`` is the check's kind, ``item`` what exactly (a path,
    a header, a protocol version); together they identify the finding across runs."""

    check: str
    item: str
    severity: Severity
    title: str
    fix: str
    evidence: str = ""

    def spec(self, site_id: int, digest: str = "") -> FindingSpec:
        """The finding this issue is filed as."""
        return detection_spec(
            site_id,
            kind=EXPOSURE,
            ecosystem=ECOSYSTEM,
            basis=BASIS,
            type=self.check[:16],
            package=self.item[:200],
            severity=self.severity,
            alert_from=ALERT_FROM,
            fix=self.fix,
            extra=(("title", self.title), ("evidence", self.evidence), ("digest", digest)),
        )

    @property
    def seen(self) -> str:
        """The issue as seen, which an operator's acknowledgement holds to (its digest):
        other evidence — another protocol accepted, another file behind the path — reopens it."""
        return "\0".join((self.check, self.item, str(self.severity), self.evidence))

    def to_json(self) -> dict[str, str]:
        """The documented ``probe-security --json`` shape of one issue."""
        return {
            "check": self.check,
            "item": self.item,
            "severity": str(self.severity),
            "title": self.title,
            "fix": self.fix,
            "evidence": self.evidence,
        }


@dataclass(slots=True)
class SecurityReport:
    """One site's outside security checks: what was found and what it cost.

    ``error`` is set when the site could not be probed at all (its home page did not
    answer); a check that could not finish leaves a line in ``notes`` instead.
    """

    url: str
    issues: list[SecurityIssue] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent
    handshakes: int = 0  # TLS handshakes tried for the legacy-version check
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    # The issue types every applicable check looked at to the end, every answer read: only
    # findings of these types may resolve (a path that timed out is unknown, not fixed).
    complete: list[str] = field(default_factory=list)

    def worst(self) -> Severity | None:
        """The highest severity among the issues, or None without issues."""
        return highest(i.severity for i in self.issues)

    def sorted_issues(self) -> list[SecurityIssue]:
        """Most severe first, then by check and item."""
        return sorted(self.issues, key=lambda i: (-i.severity.rank, i.check, i.item))

    def to_json(self) -> dict[str, Any]:
        """The documented ``probe-security --json`` shape of one site."""
        return {
            "url": self.url,
            "issues": [i.to_json() for i in self.sorted_issues()],
            "requests": self.requests,
            "handshakes": self.handshakes,
            "notes": list(self.notes),
            "error": self.error,
            "complete": sorted(self.complete),
        }
