"""What the core may ask of a CMS: the one seam every CMS package fills.

A CMS is one package under ``cms/`` that registers one object satisfying
:class:`Cms` in ``cms.registry.CMSES``; detection, the fingerprint probe, the
SSH inventory, the release-feed poll and backups look it up there by kind, so
adding a CMS never means editing the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sitekeeper.intel.release_files import ReleaseFiles
from sitekeeper.probes.fingerprint import CmsSignals

if TYPE_CHECKING:
    from pathlib import Path

    from sitekeeper.cms.collector import InventoryLimits
    from sitekeeper.cms.db_credentials import DbCredentials
    from sitekeeper.cms.health_markers import HealthMarkers
    from sitekeeper.cms.site_database import DrillTarget
    from sitekeeper.cms.updater import Updater
    from sitekeeper.domain.fingerprint import Fingerprint
    from sitekeeper.domain.inventory import Inventory
    from sitekeeper.intel.fetch import Fetcher
    from sitekeeper.intel.polling import PollResult
    from sitekeeper.remote.ssh import SshConnection

Wanted = Sequence[tuple[str, str, str | None]]  # (type, package, update source) to poll


class Cms(CmsSignals, ReleaseFiles, Protocol):
    """One CMS: how it is recognised, inventoried, kept up to date and backed up.

    ``kind``, ``ecosystem``, the outside signals (``CmsSignals``) and the release files
    (``ReleaseFiles``) are what the generic fingerprint and hash learning ask of it;
    ``cms.registry`` files the same object there.
    """

    @property
    def core_source(self) -> str:
        """Where its core's updates come from, as the catalogue names it."""
        ...

    # --- recognised over SSH (cms.detect) and from outside (probes.fingerprint) ---

    @property
    def markers(self) -> tuple[str, ...]:
        """Files relative to the docroot; any one present means this CMS."""
        ...

    @property
    def config_files(self) -> tuple[str, ...]:
        """Where its database settings live, in the order it looks ("../x": one level up)."""
        ...

    def hash_files(self, clues: list[Fingerprint]) -> tuple[str, ...]:
        """Static files whose hashes tell releases apart."""
        ...

    # --- what it runs ---

    async def inventory(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> Inventory:
        """Core, extensions and servers of the install at ``docroot``, over SSH."""
        ...

    # --- its vendor's catalogue and release files ---

    def polls(self, source: str | None) -> bool:
        """Whether a package whose updates come from ``source`` is looked up in our feeds."""
        ...

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """Catalogue entries of ``packages`` from the vendor's feeds (``home``: state)."""
        ...

    # --- safe updates (updates.run) ---

    @property
    def health(self) -> HealthMarkers:
        """Its signs of a healthy, broken or half-updated site (``cms.health_markers``)."""
        ...

    @property
    def updater(self) -> Updater | None:
        """How it installs a verified package (``cms.updater``); None: sitekeeper cannot
        apply its updates yet, and says so instead of trying."""
        ...

    # --- the database side, for backups and restore drills (cms.site_database) ---

    def credentials(self, config: bytes) -> DbCredentials:
        """Database credentials from its config file; RemoteError (permanent) if unusable."""
        ...

    def point_at(self, config: bytes, target: DrillTarget) -> bytes:
        """Its config file pointed at a restore drill's scratch database and URL."""
        ...

    def title_sql(self, prefix: str) -> str:
        """SQL whose ``HEX()`` output holds the home page's title."""
        ...

    def title(self, output: str, config: bytes) -> str:
        """The home page's title from ``title_sql``'s output."""
        ...
