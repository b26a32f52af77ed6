"""What the content checks find: SEO spam, defacement and cloaking, as findings of kind ``seo``.

Pure types. The probe (``probes.content``) compares a site's key pages with their accepted
baseline and with what a crawler and a phone are served; each :class:`SeoIssue` is filed
as a finding whose ``digest`` lets an operator acknowledge it ("this domain is ours")
until the evidence changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sitekeeper.domain.findings import FindingSpec, detection_spec
from sitekeeper.domain.severity import Severity

SEO = "seo"  # the finding kind of every content check
ECOSYSTEM = "web"
BASIS = "outside"
ALERT_FROM = Severity.MEDIUM

SPAM_LINK = "spam-link"
HIDDEN_LINK = "hidden-link"
NEW_SCRIPT = "new-script"
IFRAME = "iframe"
DEFACEMENT = "defacement"
FORBIDDEN_WORD = "forbidden-word"
CLOAKING = "cloaking"
SPAM_URL = "spam-url"
# The issue types that come from comparing pages with their baseline (vs. cloaking, sitemap).
PAGE_TYPES = (SPAM_LINK, HIDDEN_LINK, NEW_SCRIPT, IFRAME, DEFACEMENT, FORBIDDEN_WORD)
TYPES = (*PAGE_TYPES, CLOAKING, SPAM_URL)


class SeoEventKind(StrEnum):
    """Journal events of the content checks (never rename a stored kind)."""

    SEO_ALERT = "seo.alert"  # one per client: new SEO spam, defacement, cloaking
    BASELINE_ACCEPTED = "seo.accepted"  # data: by, pages — a redesign taken as the new normal


@dataclass(frozen=True, slots=True)
class SeoIssue:
    """One thing the content checks saw. ``type`` and ``item`` (a domain, a script URL, a
    page) identify the finding across runs; ``evidence`` is the site's words, cleaned."""

    type: str
    item: str
    severity: Severity
    title: str
    fix: str
    evidence: str = ""
    proof: str = ""  # what the digest is taken over ("" -> the item)
    # The evidence digest an acknowledgement holds the finding to (the probe seals it).
    digest: str = ""

    def spec(self, site_id: int) -> FindingSpec:
        """The finding this issue is filed as."""
        return detection_spec(
            site_id,
            kind=SEO,
            ecosystem=ECOSYSTEM,
            basis=BASIS,
            type=self.type[:16],
            package=self.item[:200],
            severity=self.severity,
            alert_from=ALERT_FROM,
            fix=self.fix,
            extra=(("title", self.title), ("evidence", self.evidence), ("digest", self.digest)),
        )

    def to_json(self) -> dict[str, str]:
        """The documented ``probe-content --json`` shape of one issue."""
        return {
            "type": self.type,
            "item": self.item,
            "severity": str(self.severity),
            "title": self.title,
            "fix": self.fix,
            "evidence": self.evidence,
            "digest": self.digest,
        }


@dataclass(slots=True)
class SeoReport:
    """One site's content checks. ``error``: nothing could be looked at (home page down);
    ``complete``: the issue types every page of which was read, so only those resolve;
    ``baselined``: pages whose baseline this run stored (first run, or ``--accept``)."""

    url: str
    pages: list[str] = field(default_factory=list)
    issues: list[SeoIssue] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    complete: list[str] = field(default_factory=list)
    baselined: list[str] = field(default_factory=list)

    def sorted_issues(self) -> list[SeoIssue]:
        """Most severe first, then by type and item."""
        return sorted(self.issues, key=lambda i: (-i.severity.rank, i.type, i.item))

    def to_json(self) -> dict[str, Any]:
        """The documented ``probe-content --json`` shape of one site."""
        return {
            "url": self.url,
            "pages": list(self.pages),
            "issues": [i.to_json() for i in self.sorted_issues()],
            "requests": self.requests,
            "notes": list(self.notes),
            "error": self.error,
            "complete": sorted(self.complete),
            "baselined": list(self.baselined),
        }
