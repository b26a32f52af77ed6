"""What backups need to know about a CMS: where its database settings are, and how to point
a restored copy of the site at another database.

Backups dump a site's database with the credentials its own config file holds;
restore drills load the dump into a scratch database and serve the restored
files against it. Both are the same for every CMS but for the config file, so
each registered CMS answers these few questions (``SiteDatabase``) and
``backup/`` never branches on a CMS's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sitekeeper.cms.db_credentials import DbCredentials
from sitekeeper.cms.registry import CMSES
from sitekeeper.errors import ConfigError, UsageError


@dataclass(frozen=True)
class DrillTarget:
    """Where a restore drill points a restored site: its scratch database and loopback URL."""

    database: str
    user: str
    password: str = field(repr=False)
    host: str
    port: int
    url: str  # http://127.0.0.1:<port> the restored site is served on


class SiteDatabase(Protocol):
    """The database side of a CMS (what backups use of :class:`~sitekeeper.cms.protocol.Cms`)."""

    @property
    def kind(self) -> str:
        """The CMS's kind."""
        ...

    @property
    def config_files(self) -> tuple[str, ...]:
        """Where the database settings may be, relative to the docroot, in the order the
        CMS looks ("../wp-config.php": one level up); the first that exists is read."""
        ...

    def credentials(self, config: bytes) -> DbCredentials:
        """The site's database credentials from its config file; RemoteError (permanent)
        if they are not literal or the database is not MySQL/MariaDB."""
        ...

    def point_at(self, config: bytes, target: DrillTarget) -> bytes:
        """The config file of a restored copy, pointed at ``target`` (database and URL).

        Refuses (RemoteError, permanent) what it cannot point with certainty: a
        restored site must never reach the live database by a value left unchanged.
        """
        ...

    def title_sql(self, prefix: str) -> str:
        """SQL whose output (``HEX()`` columns) holds the home page's title (``prefix``
        checked against ``[A-Za-z0-9_]`` by ``credentials``)."""
        ...

    def title(self, output: str, config: bytes) -> str:
        """The title the home page shows, from ``title_sql``'s output and the config."""
        ...


def site_database(cms: str) -> SiteDatabase:
    """The registered CMS ``cms``'s database side; UsageError if no such CMS is known."""
    try:
        return CMSES.get(cms)
    except ConfigError:
        raise UsageError(f"sitekeeper cannot back up the database of {cms} sites yet") from None
