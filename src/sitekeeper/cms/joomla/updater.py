"""Joomla's updater (``cms.updater.Updater``): extension packages from each extension's
own update server, installed by Joomla's console installer over SSH.

Core updates are not applied yet: ``core:update`` downloads from Joomla's servers itself
(no local package, no hash check on that path, updates-notes §2), so a verified package
could not be the one installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.joomla import install, offline, packages
from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


class JoomlaUpdater:
    """Extensions (components, modules, plugins, templates, libraries, packages)."""

    types = packages.EXTENSION_TYPES

    def package_source(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        """The extension's update server's download and digests of the target."""
        return packages.package_source(item, vendor, sha256=sha256)

    async def check_owner(self, conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
        """The site has Joomla's console (refused before the snapshot without it), and the
        whole docroot belongs to the SSH user (an extension writes all over it)."""
        del item
        root = docroot.rstrip("/") or "/"
        missing = await install.no_console(conn, root)
        if missing is not None:
            return missing
        return await install.owner_check(conn, root)

    async def apply(
        self,
        conn: SshConnection,
        docroot: str,
        url: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        """``extension:install --path`` with the verified archive (``joomla.install``)."""
        del url
        return await install.apply_package(conn, docroot, package, reset_opcache=reset_opcache)

    async def lift_maintenance(self, conn: SshConnection, docroot: str) -> Check:
        """``site:up`` if configuration.php still says offline (``cms.updater``)."""
        return await offline.lift(conn, docroot.rstrip("/") or "/")


UPDATER = JoomlaUpdater()
