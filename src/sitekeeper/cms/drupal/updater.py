"""Drupal's updater (``cms.tool_updater.ToolUpdater``): contributed modules and themes
from the release history's archives, put in place over SSH and finished by the site's
own drush (``drupal.install``); core from a Composer build (``drupal.core_build``: a
prebuilt archive, or Composer on this host run on the site's composer files) whose
``core/``, ``vendor/`` and lock replace the site's before drush updates the database
(``drupal.core_install``); maintenance mode lifted after a crash with drush or in the
database (``drupal.maintenance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.drupal import core_build, core_install, install, maintenance, packages
from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.tool_updater import ToolUpdater
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import CORE, ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


def _source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    if item.type == CORE:
        return core_build.package_source(item, vendor, sha256=sha256)
    return packages.package_source(item, vendor, sha256=sha256)


async def _owner(conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
    if item.type == CORE:
        return await core_install.owner_check(conn, docroot)
    return await install.owner_check(conn, docroot, item)


async def _install(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
) -> ApplyResult:
    if package.item.type == CORE:
        return await core_install.apply_core(conn, docroot, package, reset_opcache=reset_opcache)
    return await install.apply_package(conn, docroot, package, reset_opcache=reset_opcache)


UPDATER = ToolUpdater(
    types=(CORE, *packages.TYPES),
    source=_source,
    missing_tool=install.no_drush,
    owner=_owner,
    install=_install,
    lift=maintenance.lift,
    site_source=core_build.site_source,
)
