"""Drupal's updater (``cms.tool_updater.ToolUpdater``): contributed modules and themes
from the release history's archives, put in place over SSH and finished by the site's
own drush (``drupal.install``); core from a Composer build (``drupal.core_build``: a
prebuilt archive, or Composer on this host run on the site's composer files) whose
``core/``, ``vendor/`` and lock replace the site's before drush updates the database
(``drupal.core_install``); maintenance mode lifted after a crash with drush or in the
database (``drupal.maintenance``).
"""

from __future__ import annotations

from sitekeeper.cms.drupal import core_build, core_install, install, maintenance, packages
from sitekeeper.cms.tool_updater import ToolUpdater, core_or_package_install, core_or_package_source
from sitekeeper.domain.updates import CORE, Check, UpdateItem
from sitekeeper.remote.ssh import SshConnection


async def _owner(conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
    if item.type == CORE:
        return await core_install.owner_check(conn, docroot)
    return await install.owner_check(conn, docroot, item)


UPDATER = ToolUpdater(
    types=(CORE, *packages.TYPES),
    source=core_or_package_source(core_build.package_source, packages.package_source),
    missing_tool=install.no_drush,
    owner=_owner,
    install=core_or_package_install(core_install.apply_core, install.apply_package),
    lift=maintenance.lift,
    site_source=core_build.site_source,
)
