"""Drupal's updater (``cms.tool_updater.ToolUpdater``): contributed modules and themes
from the release history's archives, put in place over SSH and finished by the site's
own drush (``drupal.install``), maintenance mode lifted after a crash with drush or in
the database (``drupal.maintenance``).

Core is not applied yet: a Composer-built core is updated by Composer on a build host
and shipped as a tree (updates-notes §3), which needs the site's composer.json and lock.
"""

from __future__ import annotations

from sitekeeper.cms.drupal import install, maintenance, packages
from sitekeeper.cms.tool_updater import ToolUpdater

UPDATER = ToolUpdater(
    types=packages.TYPES,
    source=packages.package_source,
    missing_tool=install.no_drush,
    owner=install.owner_check,
    install=install.apply_package,
    lift=maintenance.lift,
)
