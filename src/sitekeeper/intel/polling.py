"""What a release-feed poll returns; each CMS package's poller (``cms.<kind>.poller``) fills one.

A poller never writes: it fetches (conditionally, with backoff) and parses,
so the engine stores a vendor's answer in one transaction or not at all. A
feed that did not change (304) yields nothing; a broken feed yields an error
line and leaves its stored entries untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sitekeeper.domain.catalogue import PackageInfo, PackageKey
from sitekeeper.domain.versions import Ecosystem


@dataclass
class PollResult:
    """Fresh catalogue entries, which packages were asked for, and what failed.

    ``errors`` has one line per feed that failed; ``failed`` says, per package, the
    error of the feed it depends on, so the store can tell "feed not reachable"
    apart from "not in the catalogue".
    """

    packages: list[PackageInfo] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    polled: set[PackageKey] = field(default_factory=set)
    failed: dict[PackageKey, str] = field(default_factory=dict)

    def asked(self, ecosystem: Ecosystem, items: Iterable[tuple[str, str]]) -> None:
        """Count (type, package) pairs as polled."""
        self.polled.update((str(ecosystem), t, p) for t, p in items)

    def fail(self, ecosystem: Ecosystem, items: Iterable[tuple[str, str]], error: str) -> None:
        """One feed failed: its error line once, and each package that depends on it."""
        self.errors.append(error)
        for type_, package in items:
            self.failed[(str(ecosystem), type_, package)] = error

    @property
    def all_failed(self) -> bool:
        """Every package asked for failed (nothing could be read at all)."""
        return bool(self.polled) and self.polled <= set(self.failed)

    def extend(self, other: PollResult) -> None:
        """Merge another poller's result into this one."""
        self.packages.extend(other.packages)
        self.errors.extend(other.errors)
        self.polled |= other.polled
        self.failed.update(other.failed)
