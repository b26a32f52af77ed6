"""What a scan found: typed, bounded and safe to show (pure data, no YARA types)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sitekeeper.domain.severity import Severity


@dataclass(frozen=True, slots=True)
class Hit:
    """One place a rule's string matched: its offset, line (from 1) and a short escaped
    snippet."""

    string: str
    offset: int
    line: int
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "string": self.string,
            "offset": self.offset,
            "line": self.line,
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched a file: what it means (severity, description) and where."""

    rule: str
    namespace: str
    severity: Severity
    description: str
    hits: tuple[Hit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "namespace": self.namespace,
            "severity": str(self.severity),
            "description": self.description,
            "hits": [h.to_json() for h in self.hits],
        }


@dataclass(frozen=True, slots=True)
class FileScan:
    """The scan of one file. ``not_scanned`` says why a file was not (too large, timed
    out, not a regular file, unreadable): such a file is reported, never passed as clean."""

    path: str
    size: int
    matches: tuple[RuleMatch, ...] = ()
    not_scanned: str | None = None

    @property
    def worst(self) -> Severity | None:
        """The most severe match, if any."""
        return max((m.severity for m in self.matches), key=lambda s: s.rank, default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "matches": [m.to_json() for m in self.matches],
            "not_scanned": self.not_scanned,
        }
