"""Release-feed pollers, one module per vendor; each returns catalogue entries to store.

A poller never writes: it fetches (conditionally, with backoff) and parses,
so the engine stores a vendor's answer in one transaction or not at all. A
feed that did not change (304) yields nothing; a broken feed yields an error
line and leaves its stored entries untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sitekeeper.store.releases import PackageInfo


@dataclass
class PollResult:
    """Fresh catalogue entries and what failed (one line per feed)."""

    packages: list[PackageInfo] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def extend(self, other: PollResult) -> None:
        """Merge another poller's result into this one."""
        self.packages.extend(other.packages)
        self.errors.extend(other.errors)
