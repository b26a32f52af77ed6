"""WordPress: everything sitekeeper knows about it, registered as one
:class:`~sitekeeper.cms.protocol.Cms` object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sitekeeper.cms.db_credentials import hex_value
from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.registry import CMSES
from sitekeeper.cms.wordpress import config as wp_config
from sitekeeper.cms.wordpress import hashes, signals
from sitekeeper.cms.wordpress import inventory as ssh_inventory
from sitekeeper.cms.wordpress.config import credentials_from_config
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.health import HEALTH
from sitekeeper.cms.wordpress.updater import WordPressUpdater

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sitekeeper.cms.db_credentials import DbCredentials
    from sitekeeper.cms.protocol import Wanted
    from sitekeeper.intel.fetch import Fetcher
    from sitekeeper.intel.hashes import Learner
    from sitekeeper.intel.polling import PollResult


class WordPress:
    """The WordPress CMS."""

    kind = "wordpress"
    markers = ("wp-includes/version.php",)  # what ``inventory`` reads first (cms.detect)
    config_files = ("wp-config.php", "../wp-config.php")  # WordPress looks one level up too
    ecosystem = WORDPRESS
    core_source = "wordpress.org"
    detect_path = signals.DETECT_PATH
    learns_unranged = True

    # what the outside fingerprint asks (CmsSignals): the signals module's functions
    read_signals = staticmethod(signals.read)
    version_paths = staticmethod(signals.version_paths)
    hash_files = staticmethod(signals.hash_files)

    def polls(self, source: str | None) -> bool:
        """Only the wordpress.org directory (a premium plugin is never looked up there)."""
        return source == self.core_source

    async def poll(self, fetcher: Fetcher, packages: Wanted, home: Path) -> PollResult:
        """The wordpress.org API: core, and each plugin and theme of the directory."""
        from sitekeeper.cms.wordpress import poller  # noqa: PLC0415

        return await poller.poll(fetcher, [(t, p) for t, p, _ in packages])

    async def releases(self, learner: Learner) -> list[str]:
        """Releases from the API's stable-check list."""
        return await hashes.wordpress_releases(learner)

    async def learn(
        self,
        learner: Learner,
        paths: Sequence[str] | None,
        within: Callable[[str], bool] | None,
    ) -> list[str]:
        """The API publishes every file's MD5 per release."""
        return await hashes.learn_wordpress(learner, paths, within=within)

    inventory = staticmethod(ssh_inventory.inventory)

    # safe updates: health markers, and how it installs a package
    health = HEALTH
    updater = WordPressUpdater()

    # the database side, for backups and restore drills (cms.site_database)

    def credentials(self, config: bytes) -> DbCredentials:
        """Credentials from ``wp-config.php``'s literal ``DB_*`` defines."""
        return credentials_from_config(parse_php_config(config))

    point_at = staticmethod(wp_config.point_at)

    def title_sql(self, prefix: str) -> str:
        """The ``blogname`` option, which the home page's title carries."""
        options = f"`{prefix}options`"  # the prefix is checked against [A-Za-z0-9_]
        return f"SELECT HEX(option_value) FROM {options} WHERE option_name = 'blogname'"  # noqa: S608

    def title(self, output: str, config: bytes) -> str:
        """The blog's name from ``title_sql``'s output."""
        lines = output.split()
        return hex_value(lines[0]).decode("utf-8", "replace") if lines else ""


CMSES.add("wordpress", WordPress())
