"""Backups, restores and drills of the Joomla (jm1) and Drupal (dr1) fixture sites.

Both are added as a technician adds a site (no CMS stored): the backup finds the
CMS over SSH, dumps the database with the credentials of ``configuration.php`` /
``settings.php``, and the drill serves the restored copy against a scratch
database, judged by the title the snapshot's database holds. Real restic, real
MariaDB, real SSH; each site is put back as it was afterwards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.drill import drill
from sitekeeper.backup.restore import restore_in_place, restore_to
from sitekeeper.backup.runner import BackupContext, backup_site
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.tables import Site
from tests.backup.conftest import (
    add_wp_site,
    load_dump,
    mysql_as,
    root_checksums,
    table_checksums,
    tree_digest,
)
from tests.realsites import real_cms_sites

__all__ = ["real_cms_sites"]

pytestmark = pytest.mark.realsites

# How each site's live title is changed after the backup: a drill that served the
# live database instead of the snapshot's would show it.
LIVE_TITLE = {
    "jm1": "UPDATE `k7v2q_menu` SET params = JSON_SET(params, '$.page_title', 'LIVE NOW') "
    "WHERE home = 1",
    "dr1": "UPDATE config SET data = REPLACE(data, 's:20:\"Realsites Drupal dr1\"', "
    "'s:8:\"LIVE NOW\"') WHERE name = 'system.site'",
}


def as_restored(digest: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """What a restore writes of a tree: default excludes left out (Joomla's cache/), every
    mode as backed up (Drupal's read-only sites/default stays read-only)."""
    return {p: e for p, e in digest.items() if not (p == "cache" or p.startswith("cache/"))}


@contextmanager
def put_back(site: dict[str, Any], tmp_path: Path) -> Iterator[None]:
    """The site exactly as it was afterwards (files and database), whatever the test did;
    the copy is taken with cp/mysqldump as root, independent of the code under test."""
    docroot = Path(site["docroot"])
    pristine = tmp_path / f"{site['name']}-pristine"
    subprocess.run(["cp", "-a", f"{docroot}/.", str(pristine)], check=True)
    dump = tmp_path / f"{site['name']}-pristine.sql"
    with dump.open("wb") as out:
        subprocess.run(
            ["mysqldump", "-h127.0.0.1", "-uroot", "--single-transaction", site["db"]["name"]],
            stdout=out,
            check=True,
        )
    before = table_checksums(site)
    try:
        yield
    finally:
        if tree_digest(docroot) != tree_digest(pristine):
            subprocess.run(["rsync", "-a", "--delete", f"{pristine}/", f"{docroot}/"], check=True)
        if table_checksums(site) != before:
            load_dump(dump, site["db"]["name"])


@pytest.mark.parametrize("which", [0, 1], ids=["jm1", "dr1"])
async def test_backup_restore_and_drill(
    which: int,
    bctx: BackupContext,
    real_cms_sites: list[dict[str, Any]],
    tmp_path: Path,
    scratch_db: str,
) -> None:
    site = real_cms_sites[which]
    name = site["name"]
    site_id = add_wp_site(bctx.db, bctx.vault, site)
    docroot = Path(site["docroot"])
    files_before = tree_digest(docroot)
    db_before = table_checksums(site)

    with put_back(site, tmp_path):
        taken = await backup_site(bctx, name)
        assert taken.ok, taken.error
        assert taken.figures is not None
        assert taken.figures.database_bytes > 2_000  # the dump is there (before: files only)
        with bctx.db.session() as session:
            stored = session.get(Site, site_id)
            assert stored is not None and stored.cms == site["cms"]  # found over SSH, kept

        # To a directory: byte-identical files, and a dump that loads to the same tables.
        target = tmp_path / "restored"
        restored = await restore_to(bctx, name, target)
        assert restored.snapshot.startswith(taken.figures.snapshot_id)
        assert tree_digest(target / "files") == as_restored(files_before)
        load_dump(target / "database.sql", scratch_db)
        assert root_checksums(scratch_db) == db_before

        # A drill of the snapshot, while the live site shows another title.
        mysql_as(site, LIVE_TITLE[name])
        result = await drill(bctx, name, taken.figures.snapshot_id)
        assert result.ok, result.detail
        assert f"title {site['title']!r}" in result.detail
        assert result.figures["home_status"] == 200
        assert table_checksums(site) != db_before  # the live change is still there: untouched

    with bctx.db.session() as session:
        run = session.scalar(select(BackupRun).where(BackupRun.site_id == site_id))
        assert run is not None and run.verified is True


async def test_a_drill_refuses_a_config_it_cannot_point(
    bctx: BackupContext, real_cms_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A configuration.php whose constructor sets the live database again: the drill
    fails with a finding that says so, and never serves the restored copy."""
    site = real_cms_sites[0]
    add_wp_site(bctx.db, bctx.vault, site)
    config = Path(site["docroot"]) / "configuration.php"
    with put_back(site, tmp_path):
        source = config.read_text()
        config.write_text(
            source.replace(
                "class JConfig {",
                "class JConfig {\n\tpublic function __construct() { $this->host = '127.0.0.1'; }",
            )
        )
        taken = await backup_site(bctx, "jm1")
        assert taken.ok, taken.error
        result = await drill(bctx, "jm1")
    assert not result.ok
    assert "configuration.php holds functions" in result.detail
    assert "home_status" not in result.figures


@pytest.mark.parametrize("which", [0, 1], ids=["jm1", "dr1"])
async def test_in_place_restore_puts_the_database_back(
    which: int, bctx: BackupContext, real_cms_sites: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The dump goes back into the site's own database, with its CMS's credentials."""
    site = real_cms_sites[which]
    add_wp_site(bctx.db, bctx.vault, site)
    with put_back(site, tmp_path):
        db_before = table_checksums(site)
        taken = await backup_site(bctx, site["name"])
        assert taken.ok, taken.error
        assert taken.figures is not None
        mysql_as(site, LIVE_TITLE[site["name"]])
        index = Path(site["docroot"]) / "index.php"
        original = index.read_bytes()
        index.write_bytes(original + b"\n// injected\n")

        back = await restore_in_place(bctx, site["name"], taken.figures.snapshot_id)

        assert back.safety_snapshot is not None
        assert table_checksums(site) == db_before
        assert index.read_bytes() == original
