"""What the update run asks of a CMS that can update itself: the typed seam behind
``Cms.updater``.

The run (``updates.run``) is generic: preflight, safety snapshot, package, apply, health,
rollback. Where a package comes from and how it is checked, who must own the files it
rewrites, and how the CMS's own machinery installs it are facts of one CMS, so each CMS
package that can apply updates provides one object of this shape (WordPress:
``cms.wordpress.updater``). A CMS without one says so: its updates are refused with that
reason, never attempted by another CMS's means.

A CMS whose own code can be loaded from inside to see what the pages miss (WordPress:
every active plugin, as wp-admin too) also provides :class:`LoadCheck`; the health
checks before and after an update, and after a rollback, run it.

A CMS whose maintenance flag is not a file (Joomla's ``$offline`` in its config file,
Drupal's ``system.maintenance_mode`` state in the database) provides
:class:`MaintenanceSwitch`, so recovery after a crash lifts the flag before it judges
the site (files are removed by the generic step from ``HealthMarkers``).

A CMS whose package depends on files of the site itself (Drupal core: built by Composer
from the site's ``composer.json`` and ``composer.lock``) provides :class:`SiteSource`;
the run's package step then asks it, over the site's connection, instead of
``package_source``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sitekeeper.cms.package_source import PackageSource
    from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
    from sitekeeper.remote.ssh import SshConnection

ResetOpcache = Callable[[], Awaitable["Check"]]


class Updater(Protocol):
    """One CMS's way of installing a verified package on a site, over SSH."""

    @property
    def types(self) -> tuple[str, ...]:
        """The item types it can apply ("core", "plugin", "theme")."""
        ...

    def package_source(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        """Where ``item``'s target comes from and what it is checked against
        (``vendor``: the CMS's own settings, ``config.extension_settings``)."""
        ...

    async def check_owner(self, conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
        """Whether the SSH user owns every file the update rewrites (never a fallback to
        FTP or to writing as another user)."""
        ...

    async def apply(
        self,
        conn: SshConnection,
        docroot: str,
        url: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        """Install ``package`` with the CMS's own machinery; never raises for the site's
        failures (they come back as ``ok=False`` with the check that says why)."""
        ...


@runtime_checkable
class LoadCheck(Protocol):
    """An updater that can load the site's code from inside and report a fatal error."""

    async def load_check(self, conn: SshConnection, docroot: str, url: str) -> Check:
        """Whether the CMS with its active extensions loads without a fatal error, run as
        the file owner over SSH; a failed check names the culprit (never raises for the
        site's failures)."""
        ...


@runtime_checkable
class MaintenanceSwitch(Protocol):
    """An updater whose CMS keeps its maintenance flag outside files."""

    async def lift_maintenance(self, conn: SshConnection, docroot: str) -> Check:
        """Take the site out of maintenance (a no-op when it is not in it), with the CMS's
        own tool and, if that fails, by hand; never raises for the site's failures."""
        ...


@runtime_checkable
class SiteSource(Protocol):
    """An updater whose package source needs to read the site first."""

    async def site_package_source(
        self,
        conn: SshConnection,
        docroot: str,
        item: UpdateItem,
        vendor: Mapping[str, Any],
        *,
        sha256: str | None = None,
    ) -> PackageSource:
        """``package_source`` for this site (UsageError/InvalidFeed: refused, nothing on
        the site changed)."""
        ...
