"""Which CMS a docroot holds, found over SSH from the files each CMS's inventory reads.

Against the real sites: wp2 (WordPress), jm1 (Joomla 5.3.2) and dr1 (Drupal 10.1.6)
of tests/realsites. The edge cases are scratch folders inside jm1's tmp/, removed
afterwards; no site's own files are changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.detect import detect, signatures
from sitekeeper.errors import NoCms, RemoteError
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from tests.realsites import private_key, real_cms_sites, real_wp_sites, ssh_access

__all__ = ["real_cms_sites", "real_wp_sites"]

pytestmark = pytest.mark.realsites


def test_every_cms_plugin_declares_what_marks_its_installs() -> None:
    found = {kind: (sig.markers, sig.config_files) for kind, sig in signatures().items()}
    assert found == {
        "wordpress": (("wp-includes/version.php",), ("wp-config.php", "../wp-config.php")),
        "joomla": (
            ("libraries/src/Version.php", "libraries/cms/version/version.php"),
            ("configuration.php",),
        ),
        "drupal": (
            ("core/lib/Drupal.php", "includes/bootstrap.inc"),
            ("sites/default/settings.php",),
        ),
    }


async def _detect(site: dict[str, Any], db: Database, docroot: str | None = None) -> str:
    pins = StoreHostKeyPins(db)
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        return await detect(conn, docroot or site["docroot"])


async def test_the_real_sites_are_told_apart(
    real_wp_sites: list[dict[str, Any]], real_cms_sites: list[dict[str, Any]], sqlite_db: Database
) -> None:
    found = [await _detect(site, sqlite_db) for site in (real_wp_sites[1], *real_cms_sites)]
    assert found == ["wordpress", "joomla", "drupal"]


# ---------------------------------------------------------------- scratch docroots inside jm1


@pytest.fixture
async def jm1(
    real_cms_sites: list[dict[str, Any]], sqlite_db: Database
) -> AsyncIterator[SshConnection]:
    site = real_cms_sites[0]
    assert site["name"] == "jm1"
    pins = StoreHostKeyPins(sqlite_db)
    async with await connect(ssh_access(site), pins, private_key=private_key(site)) as conn:
        yield conn


@pytest.fixture
def scratch(real_cms_sites: list[dict[str, Any]]) -> Iterator[Path]:
    """An empty folder owned by jm1 inside its docroot's tmp/."""
    path = Path(real_cms_sites[0]["docroot"]) / "tmp" / f"sk-detect-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _put(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<?php\n")
    subprocess.run(["chown", "-R", "jm1:jm1", str(root)], check=True)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["wp-includes/version.php"], "wordpress"),
        (["libraries/src/Version.php"], "joomla"),
        (["libraries/cms/version/version.php"], "joomla"),  # Joomla 3.0-3.7
        (["core/lib/Drupal.php"], "drupal"),
        (["includes/bootstrap.inc"], "drupal"),  # Drupal 7
        # an old install's files left beside the one in use: the config file decides
        (["wp-includes/version.php", "libraries/src/Version.php", "configuration.php"], "joomla"),
    ],
)
async def test_a_docroot_is_known_by_its_version_file(
    jm1: SshConnection, scratch: Path, files: list[str], expected: str
) -> None:
    _put(scratch, *files)
    assert await detect(jm1, str(scratch)) == expected


async def test_no_cms_is_a_permanent_error_naming_what_was_looked_for(
    jm1: SshConnection, scratch: Path
) -> None:
    _put(scratch, "index.php", "wp-includes/functions.php")
    with pytest.raises(NoCms, match=r"no known CMS installed in .*sk-detect-") as caught:
        await detect(jm1, str(scratch))
    assert caught.value.permanent
    assert "wp-includes/version.php" in str(caught.value)
    assert "core/lib/Drupal.php" in str(caught.value)


async def test_two_configured_cmses_are_not_guessed_between(
    jm1: SshConnection, scratch: Path
) -> None:
    _put(scratch, "wp-includes/version.php", "wp-config.php")
    _put(scratch, "core/lib/Drupal.php", "sites/default/settings.php")
    with pytest.raises(RemoteError, match=r"more than one CMS \(drupal, wordpress\)"):
        await detect(jm1, str(scratch))


async def test_a_marker_linked_out_of_the_docroot_decides_nothing(
    jm1: SshConnection, scratch: Path, real_cms_sites: list[dict[str, Any]]
) -> None:
    """A hacked site cannot pass for another CMS with links to another site's files: the
    inventory would refuse to read them, so detection does not count them either."""
    (scratch / "core" / "lib").mkdir(parents=True)
    drupal = Path(real_cms_sites[1]["docroot"]) / "core/lib/Drupal.php"
    os.symlink(drupal, scratch / "core/lib/Drupal.php")
    os.symlink("/etc/hostname", scratch / "configuration.php")
    _put(scratch, "libraries/src/Version.php")
    assert await detect(jm1, str(scratch)) == "joomla"
    (scratch / "libraries/src/Version.php").unlink()
    os.symlink(scratch / "index.php", scratch / "libraries/src/Version.php")  # dangling, inside
    with pytest.raises(RemoteError, match="no known CMS"):
        await detect(jm1, str(scratch))


async def test_a_link_inside_the_docroot_counts(jm1: SshConnection, scratch: Path) -> None:
    _put(scratch, "shared/Drupal.php")
    (scratch / "core/lib").mkdir(parents=True)
    os.symlink("../../shared/Drupal.php", scratch / "core/lib/Drupal.php")
    assert await detect(jm1, str(scratch)) == "drupal"


async def test_an_unreadable_folder_is_not_a_marker(jm1: SshConnection, scratch: Path) -> None:
    _put(scratch, "libraries/src/Version.php", "includes/bootstrap.inc")
    (scratch / "libraries").chmod(0o000)  # jm1 cannot look inside
    os.chown(scratch / "libraries", 0, 0)
    try:
        assert await detect(jm1, str(scratch)) == "drupal"
    finally:
        (scratch / "libraries").chmod(0o755)
