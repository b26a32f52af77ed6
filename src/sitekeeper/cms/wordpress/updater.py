"""WordPress's updater (``cms.updater.Updater``): packages from WordPress.org (or the
mirror the settings name), applied by WordPress's own upgrader classes over SSH, and its
fatal-error scrape of the active plugins (``cms.updater.LoadCheck``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.cms.wordpress import downloads, scrape, upgrade
from sitekeeper.domain.updates import CORE, ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


class WordPressUpdater:
    """Core, plugins and themes, as the WordPress admin's own update screen does them."""

    types = upgrade.TYPES

    def package_source(
        self, item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
    ) -> PackageSource:
        """WordPress.org's download and checksum URLs for ``item``."""
        return downloads.package_source(item, vendor, sha256=sha256)

    async def check_owner(self, conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
        """Everything under the folder the update rewrites belongs to the SSH user."""
        slug = downloads.CORE_FOLDER if item.type == CORE else item.package
        return await upgrade.owner_check(conn, docroot.rstrip("/") or "/", item.type, slug)

    async def apply(
        self,
        conn: SshConnection,
        docroot: str,
        url: str,
        package: VerifiedPackage,
        *,
        reset_opcache: ResetOpcache | None = None,
    ) -> ApplyResult:
        """``upgrader.php`` with the verified archive (``cms.wordpress.upgrade``)."""
        return await upgrade.apply_package(conn, docroot, url, package, reset_opcache=reset_opcache)

    async def load_check(self, conn: SshConnection, docroot: str, url: str) -> Check:
        """Every active plugin and the theme loaded as the front end and as wp-admin
        (``cms.wordpress.scrape``): WordPress says "updated successfully" of a plugin
        that fatals."""
        return await scrape.load_check(conn, docroot, url)
