"""How urgent a finding is for the technician: one scale for every check that finds
something on a site (the outside probe, the malware scan, the domain watch…), so
the site page and the report can sort and threshold them all alike."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    """From ``info`` (worth knowing) to ``critical`` (someone is inside), lowest first."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical (for sorting and thresholds)."""
        return _ORDER.index(self)

    @classmethod
    def parse(cls, value: object, default: Severity) -> Severity:
        """A stored or declared severity word as a severity; ``default`` when absent or
        unknown (rule metadata and stored findings come from outside the code)."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return default


_ORDER = list(Severity)


def severity_rank(value: object) -> int:
    """The rank of a stored severity word (an unknown or missing one ranks as info)."""
    return Severity.parse(value, Severity.INFO).rank


def highest(severities: Iterable[Severity]) -> Severity | None:
    """The highest of ``severities``, or None when there are none (a report's headline)."""
    return max(severities, key=lambda s: s.rank, default=None)
