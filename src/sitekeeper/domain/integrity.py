"""What the integrity scan over SSH finds: issues about files, filed as findings of kind
``integrity`` (the files against the vendors' lists and where code never belongs) and
``malware`` (a YARA rule matched a new or changed file).

Pure types. Each issue keeps the file's sha256 as the finding's ``digest``, so an
operator's "this file is ours" (``store.finding_acks``) holds until the file changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sitekeeper.domain.findings import FindingSpec, detection_spec
from sitekeeper.domain.severity import Severity, highest
from sitekeeper.domain.untrusted import visible

INTEGRITY, MALWARE = "integrity", "malware"
KINDS = (INTEGRITY, MALWARE)
ECOSYSTEM = "files"  # what the finding is about: the site's files on its server
BASIS = "ssh"
ALERT_FROM = Severity.MEDIUM
# Every type the comparison files; a complete scan resolves those it no longer sees.
INTEGRITY_TYPES = (
    "core-modified", "core-added", "core-missing", "ext-modified", "ext-added",
    "ext-missing", "php-in-uploads", "double-ext", "new-file", "odd-name", "changed-late",
    "stamp-reset",
)  # fmt: skip
MALWARE_TYPE = "yara"
STAMP_RESET = "stamp-reset"  # resolves only on a scan the backups' changes were checked in


def path_key(path: bytes) -> str:
    """A file's identity in a finding key: its name, exact (invalid UTF-8 as escapes)."""
    return path.decode("utf-8", errors="backslashreplace")[:200]


@dataclass(frozen=True, slots=True)
class IntegrityIssue:
    """One thing the scan saw about one file. ``check`` is its type (``core-modified``,
    ``php-in-uploads``... or ``yara``); ``digest`` the file's sha256 ("" if not hashed)."""

    check: str
    path: bytes
    severity: Severity
    title: str
    fix: str
    digest: str
    kind: str = INTEGRITY
    evidence: str = ""

    def spec(self, site_id: int) -> FindingSpec:
        """The finding this issue is filed as (the path in it shown escaped)."""
        shown = visible(self.path.decode("utf-8", errors="replace"), 200)
        extra = [("title", self.title), ("evidence", self.evidence or shown), ("path", shown)]
        if self.digest:
            extra.append(("digest", self.digest))
        return detection_spec(
            site_id,
            kind=self.kind,
            ecosystem=ECOSYSTEM,
            basis=BASIS,
            type=self.check[:16],
            package=path_key(self.path),
            severity=self.severity,
            alert_from=ALERT_FROM,
            fix=self.fix,
            extra=tuple(extra),
        )

    def to_json(self) -> dict[str, str]:
        """The documented ``scan --json`` shape of one issue."""
        return {
            "kind": self.kind,
            "check": self.check,
            "path": visible(self.path.decode("utf-8", errors="replace"), 200),
            "severity": str(self.severity),
            "title": self.title,
            "fix": self.fix,
            "evidence": self.evidence,
            "sha256": self.digest,
        }


@dataclass(slots=True)
class IntegrityReport:
    """One site's scan: its issues, what it cost, and how much of it is complete.

    ``complete`` names the issue types that may resolve (a partial walk resolves nothing:
    what it did not see is unknown, not fixed); ``error`` is set when nothing was seen.
    """

    site: str
    issues: list[IntegrityIssue] = field(default_factory=list)
    files: int = 0
    hashed: int = 0
    bytes_hashed: int = 0
    verified: int = 0  # files a vendor list vouched for
    yara_scanned: int = 0
    commands: int = 0  # SSH commands run (round trips after the connection)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    complete: list[str] = field(default_factory=list)
    error: str | None = None
    backups: dict[str, Any] | None = None  # the backups' cross-check, when it ran

    def worst(self) -> Severity | None:
        """The highest severity among the issues, or None without issues."""
        return highest(i.severity for i in self.issues)

    def sorted_issues(self) -> list[IntegrityIssue]:
        """Most severe first, then by kind, check and path."""
        return sorted(self.issues, key=lambda i: (-i.severity.rank, i.kind, i.check, i.path))

    def to_json(self) -> dict[str, Any]:
        """The documented ``scan --json`` shape of one site."""
        return {
            "site": self.site,
            "issues": [i.to_json() for i in self.sorted_issues()],
            "files": self.files,
            "hashed": self.hashed,
            "bytes_hashed": self.bytes_hashed,
            "verified": self.verified,
            "yara_scanned": self.yara_scanned,
            "commands": self.commands,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "complete": sorted(self.complete),
            "error": self.error,
            "backups": self.backups,
        }
