"""Drupal (7 and 8-11): everything sitekeeper knows about it, registered as one
:class:`~sitekeeper.cms.protocol.Cms` object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sitekeeper.cms.drupal import hashes, settings, signals
from sitekeeper.cms.drupal import inventory as ssh_inventory
from sitekeeper.cms.drupal.health import HEALTH
from sitekeeper.cms.drupal.inventory import VERSION_FILES
from sitekeeper.cms.drupal.packages import PROJECT_SOURCE
from sitekeeper.cms.drupal.settings import db_credentials
from sitekeeper.cms.drupal.updater import UPDATER
from sitekeeper.cms.drupal.versions import DRUPAL
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


class Drupal:
    """The Drupal CMS plugin: inventory over SSH (fingerprint signals are module functions)."""

    kind = "drupal"
    markers = VERSION_FILES  # what ``inventory`` reads first (cms.detect)
    config_files = ("sites/default/settings.php",)
    ecosystem = DRUPAL
    core_source = "drupal.org"
    detect_path = signals.DETECT_PATH
    learns_unranged = False

    # what the outside fingerprint asks (CmsSignals): the signals module's functions
    read_signals = staticmethod(signals.read)
    version_paths = staticmethod(signals.version_paths)
    hash_files = staticmethod(signals.hash_files)

    def polls(self, source: str | None) -> bool:
        """drupal.org projects: core, and what drupal.org's packaging names its project
        (``drupal.org/project/<name>``, as the inventory keeps it)."""
        return source == self.core_source or (
            # a project's name after the prefix: "drupal.org/project/" alone names none
            source is not None
            and len(source) > len(PROJECT_SOURCE)
            and source.startswith(PROJECT_SOURCE)
        )

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """The release history of each project on updates.drupal.org (a module that is
        its own project; a submodule's versions are its project's)."""
        from sitekeeper.cms.drupal import poller  # noqa: PLC0415

        return await poller.poll(fetcher, [(t, p) for t, p, _ in packages])

    async def releases(self, learner: Learner) -> list[str]:
        """Releases of the core's release histories."""
        return list(await hashes.drupal_releases(learner))

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """Each release's tarball, checked against its published MD5."""
        return await hashes.learn_drupal(learner, paths, within=within)

    async def release_tree(self, learner: Learner, version: str) -> dict[str, str] | None:
        """Every file of the release archive, for the integrity scan (no per-file list)."""
        return await hashes.drupal_release_tree(learner, version)

    inventory = staticmethod(ssh_inventory.inventory)

    # safe updates: health markers, and how it installs a package
    health = HEALTH
    updater = UPDATER  # contributed modules and themes (``cms.drupal.updater``)

    # the database side, for backups and restore drills (cms.site_database)

    def credentials(self, config: bytes) -> DbCredentials:
        """The ``default`` connection of ``settings.php``; a MySQL/MariaDB database only."""
        creds, driver = db_credentials(config)
        if driver != "mysql":
            raise RemoteError(
                f"settings.php: database driver {clean(driver, 40)!r} is not backed up "
                "(MySQL and MariaDB only)",
                permanent=True,
            )
        return creds

    point_at = staticmethod(settings.point_at)

    def title_sql(self, prefix: str) -> str:
        """The ``system.site`` configuration object (the site's name)."""
        table = f"`{prefix}config`"  # the prefix is checked against [A-Za-z0-9_]
        return f"SELECT HEX(data) FROM {table} WHERE collection = '' AND name = 'system.site'"  # noqa: S608

    def title(self, output: str, config: bytes) -> str:
        """See :func:`site_name`."""
        return settings.site_name(output)


CMSES.add("drupal", Drupal())
