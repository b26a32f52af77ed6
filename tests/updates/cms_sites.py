"""The Joomla (jm1) and Drupal (dr1) fixture sites of ``realcms.sh`` for update tests,
put back exactly after each test, and what the tests do to them as root.

``jm1``/``dr1`` copy the docroot and the database aside and restore both afterwards
(``tests.updates.sites.put_back``), so an update or a failed rollback never leaks into
the next test. ``install_*`` put the test extension's first release on the site with
the site's own stand-in tools as the site's user, the way the site's owner would have.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realsites import real_cms_sites
from tests.updates.breakage import root_sql
from tests.updates.cms_builds import DRUPAL_MODULE, JOOMLA_PLUGIN, Built, drupal_files
from tests.updates.sites import put_back

__all__ = ["real_cms_sites"]


@pytest.fixture
def jm1(real_cms_sites: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """jm1 (Joomla 5.3.2 fixture), put back exactly as it was after the test."""
    site = real_cms_sites[0]
    with put_back(site):
        yield site


@pytest.fixture
def dr1(real_cms_sites: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """dr1 (Drupal 10.1.6 fixture), put back exactly as it was after the test."""
    site = real_cms_sites[1]
    with put_back(site):
        yield site


def as_site(site: dict[str, Any], *argv: str) -> subprocess.CompletedProcess[str]:
    """A command run as the site's Unix user in its docroot."""
    return subprocess.run(
        ["runuser", "-u", site["name"], "--", *argv],
        cwd=site["docroot"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def install_joomla_plugin(site: dict[str, Any], release: Built) -> None:
    """``extension:install`` of the plugin's zip as jm1, then enable it (plugins are
    installed disabled)."""
    with tempfile.TemporaryDirectory(prefix="sk-jm1-") as scratch:
        Path(scratch).chmod(0o755)
        archive = Path(scratch) / "plugin.zip"
        archive.write_bytes(release.data)
        archive.chmod(0o644)
        done = as_site(site, "php", "cli/joomla.php", "extension:install", f"--path={archive}")
    assert done.returncode == 0, done.stdout + done.stderr
    table = f"{site['db']['prefix']}extensions"
    root_sql(site, f"UPDATE `{table}` SET enabled = 1 WHERE type = 'plugin' "
             f"AND element = '{JOOMLA_PLUGIN}' AND folder = 'system'")  # fmt: skip


def install_drupal_module(site: dict[str, Any], version: str) -> None:
    """The module's files in modules/contrib as dr1, then ``drush pm:install``."""
    folder = Path(site["docroot"]) / "modules/contrib" / DRUPAL_MODULE
    for name, data in drupal_files(version, "return;", DRUPAL_MODULE, None).items():
        path = Path(site["docroot"]) / "modules/contrib" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    subprocess.run(["chown", "-R", f"{site['name']}:{site['name']}", str(folder)], check=True)
    done = as_site(site, "php", "vendor/bin/drush", "pm:install", DRUPAL_MODULE)
    assert done.returncode == 0, done.stdout + done.stderr


def db_state(site: dict[str, Any]) -> dict[str, str]:
    """Every table's checksum (neither fixture writes on a page load)."""
    tables = root_sql(site, "SHOW TABLES").split()
    sums = root_sql(site, "CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
    return {line.split("\t")[0]: line.split("\t")[1] for line in sums.splitlines()}


def joomla_offline(site: dict[str, Any]) -> str:
    """The ``$offline`` line of configuration.php."""
    text = (Path(site["docroot"]) / "configuration.php").read_text()
    return next(line.strip() for line in text.splitlines() if "$offline " in line)


def drupal_state(site: dict[str, Any], collection: str, name: str) -> str:
    """A key_value row's serialized value ('' when absent)."""
    return root_sql(
        site,
        f"SELECT value FROM key_value WHERE collection = '{collection}' AND name = '{name}'",
    ).strip()
