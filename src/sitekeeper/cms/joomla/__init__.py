"""Joomla (3 to 5): everything sitekeeper knows about it, registered as one
:class:`~sitekeeper.cms.protocol.Cms` object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sitekeeper.cms.joomla import configuration, hashes, signals
from sitekeeper.cms.joomla import inventory as ssh_inventory
from sitekeeper.cms.joomla.configuration import db_credentials
from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.cms.joomla.health import HEALTH
from sitekeeper.cms.joomla.inventory import VERSION_FILES
from sitekeeper.cms.joomla.updater import UPDATER
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.untrusted import clean
from sitekeeper.errors import RemoteError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sitekeeper.cms.db_credentials import DbCredentials
    from sitekeeper.cms.protocol import Wanted
    from sitekeeper.intel.fetch import Fetcher
    from sitekeeper.intel.hashes import Learner
    from sitekeeper.intel.polling import PollResult


class Joomla:
    """The Joomla CMS plugin: inventory over SSH (fingerprint signals are module functions)."""

    kind = "joomla"
    markers = VERSION_FILES  # what ``inventory`` reads first (cms.detect)
    config_files = ("configuration.php",)
    ecosystem = JOOMLA
    core_source = "joomla.org"
    detect_path = signals.DETECT_PATH
    learns_unranged = False

    # what the outside fingerprint asks (CmsSignals): the signals module's functions
    read_signals = staticmethod(signals.read)
    version_paths = staticmethod(signals.version_paths)
    hash_files = staticmethod(signals.hash_files)

    def polls(self, source: str | None) -> bool:
        """joomla.org, or the update server an extension's manifest declares."""
        return source is not None and (
            source == self.core_source or source.startswith(("https://", "http://"))
        )

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """The TUF core repository, the legacy core list and each extension's update server."""
        from sitekeeper.cms.joomla import poller  # noqa: PLC0415

        return await poller.poll(fetcher, packages, state_dir=home / "tuf" / "joomla")

    async def releases(self, learner: Learner) -> list[str]:
        """Releases of the legacy update XML and of the TUF repository."""
        updates, tuf = await hashes.joomla_releases(learner)
        return list({**tuf, **updates})

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """Each release's full package, streamed."""
        return await hashes.learn_joomla(learner, paths, within=within)

    async def release_tree(self, learner: Learner, version: str) -> dict[str, str] | None:
        """Every file of the release archive, for the integrity scan (no per-file list)."""
        return await hashes.joomla_release_tree(learner, version)

    inventory = staticmethod(ssh_inventory.inventory)

    # safe updates: health markers, and how it installs a package
    health = HEALTH
    updater = UPDATER  # extensions only (``cms.joomla.updater``)

    # the database side, for backups and restore drills (cms.site_database)

    def credentials(self, config: bytes) -> DbCredentials:
        """Credentials from ``configuration.php``; a MySQL/MariaDB database only."""
        creds, dbtype = db_credentials(config)
        if "mysql" not in dbtype.lower():
            raise RemoteError(
                f"configuration.php: database type {clean(dbtype, 40)!r} is not backed up "
                "(MySQL and MariaDB only)",
                permanent=True,
            )
        return creds

    point_at = staticmethod(configuration.point_at)

    def title_sql(self, prefix: str) -> str:
        """The parameters of the site's home menu item (its ``page_title``)."""
        menu = f"`{prefix}menu`"  # the prefix is checked against [A-Za-z0-9_]
        return (
            f"SELECT HEX(params) FROM {menu} WHERE home = 1 AND client_id = 0 "  # noqa: S608
            "AND published = 1 ORDER BY language = '*' DESC, id LIMIT 1"
        )

    title = staticmethod(configuration.home_title)


CMSES.add("joomla", Joomla())
