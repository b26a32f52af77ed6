"""The shared pieces of update runs: the backup machinery (snapshots, rollback, SSH), the
vendor package fetcher and cache, the page fetcher of the health checks, and the limits.

One context serves every run of one invocation (a CLI command, a ``serve`` process):
the package cache downloads a plugin once for fifty sites, and the page fetcher keeps
its per-host limits across them. Use it as an async context manager.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sitekeeper.backup.runner import BackupContext
from sitekeeper.config import Settings
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.store.leases import Leases
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.package_zip import MiB
from sitekeeper.updates.packages import PackageCache
from sitekeeper.updates.screenshot import BROWSER_USER, CHROMIUM


@dataclass(frozen=True, slots=True)
class UpdateLimits:
    """How much room a site needs, and how long a run's lease lives between renewals."""

    disk_factor: int = 3  # free disk on the site >= this x the packages' size...
    disk_margin: int = 64 * MiB  # ...plus this (the upgrader unpacks beside the old files)
    lease_ttl: timedelta = timedelta(minutes=5)  # a dead process's run is found after this
    chromium: str = CHROMIUM  # the visual check's browser (a plan's update_visual_threshold)
    browser_user: str = BROWSER_USER  # who runs it when sitekeeper is root (browser_run_as)


@dataclass
class UpdateContext:
    """Everything a run needs besides the site; ``vendor`` is the CMS packages' settings."""

    backup: BackupContext
    vendor: Mapping[str, Any]
    feeds: FeedSettings
    cache: PackageCache
    limits: UpdateLimits = field(default_factory=UpdateLimits)
    # Inventory a site again (by id) after an update applied, so its pending updates
    # and findings say what it runs now (the engine's job; None: left to the schedule).
    reinventory: Callable[[int], Awaitable[object]] | None = None
    fetcher: Fetcher | None = None  # opened by __aenter__ unless given
    pages: PageFetcher | None = None
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack, repr=False)
    _leases: Leases | None = field(default=None, repr=False)

    @property
    def leases(self) -> Leases:
        """Leases held by this context alone: a run's lease says whether the process that
        runs it is alive, so two processes on one host (``serve`` and a CLI update) must
        not share a holder name, as their backups' leases do."""
        if self._leases is None:
            holder = f"{self.backup.worker}/{os.getpid()}-{secrets.token_hex(4)}"
            self._leases = Leases(self.backup.db, holder, self.backup.clock)
        return self._leases

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        backup: BackupContext,
        reinventory: Callable[[int], Awaitable[object]] | None = None,
    ) -> UpdateContext:
        """The operator's settings: vendor mirrors, egress policy, the package cache."""
        feeds = FeedSettings.from_settings(settings)
        return cls(
            backup=backup,
            vendor=feeds.vendor,
            feeds=feeds,
            cache=PackageCache(settings.home / "packages"),
            limits=UpdateLimits(browser_user=settings.browser_run_as),
            reinventory=reinventory,
            pages=PageFetcher.from_settings(settings),
        )

    async def __aenter__(self) -> Self:
        if self.fetcher is None:
            self.fetcher = await self._stack.enter_async_context(Fetcher(self.feeds))
        if self.pages is None:
            self.pages = PageFetcher()
        self.pages = await self._stack.enter_async_context(self.pages)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    @property
    def screenshots(self) -> Path:
        """Where the visual check keeps its screenshots (in the private data directory)."""
        return self.backup.settings.home / "update-screenshots"

    @property
    def package_fetcher(self) -> Fetcher:
        """The vendor download client (only inside ``async with``)."""
        if self.fetcher is None:
            raise RuntimeError("UpdateContext used outside 'async with'")
        return self.fetcher

    @property
    def page_fetcher(self) -> PageFetcher:
        """The health checks' client (only inside ``async with``)."""
        if self.pages is None:
            raise RuntimeError("UpdateContext used outside 'async with'")
        return self.pages
