"""Drupal's updater (``cms.updater.Updater``): contributed modules and themes from the
release history's archives, put in place over SSH and finished by the site's own drush.

Core is not applied yet: a Composer-built core is updated by Composer on a build host
and shipped as a tree (updates-notes §3), which needs the site's composer.json and lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.drupal import install, maintenance, packages
from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


class DrupalUpdater:
    """Contributed modules and themes (``modules/contrib``, ``themes/contrib``)."""

    types = packages.TYPES

    def package_source(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        """The release history's zip of the target and its digest."""
        return packages.package_source(item, vendor, sha256=sha256)

    async def check_owner(self, conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
        """The site has its drush (nothing else may finish the update: refused before the
        snapshot), and the project's folder and the one it sits in are the SSH user's."""
        root = docroot.rstrip("/") or "/"
        missing = await install.no_drush(conn, root)
        if missing is not None:
            return missing
        return await install.owner_check(conn, root, item)

    async def apply(
        self,
        conn: SshConnection,
        docroot: str,
        url: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        """The folder replaced, then ``drush updatedb`` and ``cache:rebuild``."""
        del url
        return await install.apply_package(conn, docroot, package, reset_opcache=reset_opcache)

    async def lift_maintenance(self, conn: SshConnection, docroot: str) -> Check:
        """Maintenance mode off with drush, or in the database (``cms.updater``)."""
        return await maintenance.lift(conn, docroot.rstrip("/") or "/")


UPDATER = DrupalUpdater()
