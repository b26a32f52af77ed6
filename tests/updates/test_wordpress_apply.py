"""WordPress's own upgrader driven over SSH on the real site wp4, with the real packages
(verified by the package step first): plugin, theme and core updates, and the faults that
must leave the site as it was (or at least never in maintenance, never with our files)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.cms.wordpress.downloads import package_source
from sitekeeper.cms.wordpress.upgrade import apply_package
from sitekeeper.domain.updates import CORE, ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store.database import Database
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.health_opcache import reset_web_opcache
from sitekeeper.updates.package_zip import inspect_zip
from sitekeeper.updates.packages import PackageCache, obtain
from tests.realsites import private_key, ssh_access
from tests.updates import breakage, package_zips
from tests.updates.sites import update_sites_up, wp4
from tests.updates.state import tree_state
from tests.updates.vendor import PACKAGES, Vendor, sha256_of, vendor, versions

__all__ = ["update_sites_up", "vendor", "wp4"]

pytestmark = pytest.mark.realsites
MAINTENANCE_ON = (
    b"$wp_filesystem->put_contents( $maintenance_file, $maintenance_string, FS_CHMOD_FILE );"
)
TIMES = Path(os.environ.get("SITEKEEPER_APPLY_TIMES", "/tmp/sk-apply-times.jsonl"))


@pytest.fixture
async def fetcher(vendor: Vendor) -> AsyncIterator[Fetcher]:
    async with Fetcher(FeedSettings(vendor=vendor.settings)) as made:
        yield made


@pytest.fixture
async def pages() -> AsyncIterator[PageFetcher]:
    async with PageFetcher() as made:
        yield made


@pytest.fixture
async def conn(wp4: dict[str, Any], sqlite_db: Database) -> AsyncIterator[SshConnection]:
    opened = await connect(
        ssh_access(wp4), StoreHostKeyPins(sqlite_db), private_key=private_key(wp4)
    )
    async with opened:
        yield opened


@pytest.fixture
def cache(tmp_path: Path) -> PackageCache:
    return PackageCache(tmp_path / "packages")


def installed(wp4: dict[str, Any], type_: str) -> str:
    """The version wp4 runs now (6.1.9's bundled plugin and theme)."""
    root = Path(wp4["docroot"])
    if type_ == CORE:
        text = (root / "wp-includes/version.php").read_text()
        return text.split("$wp_version = '", 1)[1].split("'", 1)[0]
    header = root / (
        "wp-content/plugins/akismet/akismet.php"
        if type_ == "plugin"
        else "wp-content/themes/twentytwentythree/style.css"
    )
    line = next(x for x in header.read_text().splitlines() if "Version:" in x)
    return line.split("Version:", 1)[1].strip()


async def verified(
    wp4: dict[str, Any], vendor: Vendor, fetcher: Fetcher, cache: PackageCache, type_: str
) -> VerifiedPackage:
    release = versions()
    slug, target, pinned = {
        CORE: ("wordpress", release["version"], None),
        "plugin": ("akismet", release["akismet"], None),
        "theme": (
            "twentytwentythree",
            release["twentytwentythree"],
            sha256_of(PACKAGES / f"twentytwentythree.{release['twentytwentythree']}.zip"),
        ),
    }[type_]
    item = UpdateItem(type_, slug, installed(wp4, type_), target, "wordpress")
    return await obtain(item, package_source(item, vendor.settings, sha256=pinned), fetcher, cache)


async def apply(
    wp4: dict[str, Any], conn: SshConnection, pages: PageFetcher, package: VerifiedPackage
) -> ApplyResult:
    async def reset() -> Check:
        return await reset_web_opcache(conn, wp4["docroot"], wp4["url"], pages)

    result = await apply_package(conn, wp4["docroot"], wp4["url"], package, reset_opcache=reset)
    record = {
        "item": package.item.label,
        "ok": result.ok,
        "seconds": round(result.seconds, 2),
        "steps": {c.name: round(c.seconds, 2) for c in result.checks},
    }
    await asyncio.to_thread(_note, json.dumps(record))
    return result


def _note(line: str) -> None:
    """The figures of the report: each step's time on wp4."""
    with TIMES.open("a") as out:
        out.write(line + "\n")


def checks(result: ApplyResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def leftovers(wp4: dict[str, Any]) -> list[str]:
    """What an update must never leave: maintenance, working folders, the opcache file."""
    root = Path(wp4["docroot"])
    found = [str(p) for p in root.glob(".maintenance")]
    found += [str(p) for p in root.glob("sk-opcache-*")]
    found += [str(p) for p in (root / "wp-content").glob("upgrade*")]
    found += [str(p) for p in Path("/tmp").glob("sk-update.*") if p.stat().st_uid == owner_uid(wp4)]
    return found


def owner_uid(wp4: dict[str, Any]) -> int:
    return Path(wp4["docroot"]).stat().st_uid


def kept_owner_and_modes(before: dict[str, tuple[Any, ...]], wp4: dict[str, Any]) -> list[str]:
    """Entries whose kind, mode, owner or group changed, and entries not owned by the site."""
    after = tree_state(Path(wp4["docroot"]))
    uid = owner_uid(wp4)
    changed = [
        p
        for p, was in before.items()
        if p in after and after[p][:4] != was[:4] and "sk-opcache" not in p
    ]
    foreign = [p for p, now in after.items() if now[2] != uid or now[3] != uid]
    return changed + foreign


def home(wp4: dict[str, Any]) -> tuple[int, bytes]:
    return breakage.naive_get(f"{wp4['url']}?sk={time.time_ns()}")


async def test_an_inactive_plugin_is_updated_and_stays_inactive(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
) -> None:
    before = tree_state(Path(wp4["docroot"]))
    package = await verified(wp4, vendor, fetcher, cache, "plugin")
    result = await apply(wp4, conn, pages, package)
    assert result.ok, [(c.name, c.detail) for c in result.checks if not c.ok]
    assert result.version_on_disk == package.item.target == installed(wp4, "plugin")
    assert "akismet/akismet.php" not in breakage.active_plugins(wp4)
    assert "the plugin is inactive (was inactive)" in checks(result)["upgrade"].detail
    assert leftovers(wp4) == []
    assert kept_owner_and_modes(before, wp4) == []
    assert checks(result)["opcache"].ok


async def test_an_active_plugin_is_updated_and_stays_active(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
) -> None:
    breakage.activate(wp4, "akismet/akismet.php")
    package = await verified(wp4, vendor, fetcher, cache, "plugin")
    result = await apply(wp4, conn, pages, package)
    assert result.ok, [(c.name, c.detail) for c in result.checks if not c.ok]
    assert result.version_on_disk == package.item.target
    assert "akismet/akismet.php" in breakage.active_plugins(wp4)
    assert "the plugin is active (was active)" in checks(result)["upgrade"].detail
    status, body = home(wp4)
    assert status == 200
    assert b"critical error" not in body
    assert leftovers(wp4) == []


async def test_a_theme_is_updated(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
) -> None:
    before = tree_state(Path(wp4["docroot"]))
    package = await verified(wp4, vendor, fetcher, cache, "theme")
    result = await apply(wp4, conn, pages, package)
    assert result.ok, [(c.name, c.detail) for c in result.checks if not c.ok]
    assert result.version_on_disk == package.item.target == installed(wp4, "theme")
    assert leftovers(wp4) == []
    assert kept_owner_and_modes(before, wp4) == []


async def test_core_is_updated_and_its_database_upgraded(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
) -> None:
    release = versions()
    before = tree_state(Path(wp4["docroot"]))
    db_before = breakage.root_sql(
        wp4, "SELECT option_value FROM wp_options WHERE option_name='db_version'"
    ).strip()
    package = await verified(wp4, vendor, fetcher, cache, CORE)
    result = await apply(wp4, conn, pages, package)
    assert result.ok, [(c.name, c.detail) for c in result.checks if not c.ok]
    assert result.version_on_disk == release["version"] == installed(wp4, CORE)
    db_after = breakage.root_sql(
        wp4, "SELECT option_value FROM wp_options WHERE option_name='db_version'"
    ).strip()
    assert int(db_after) == release["wp_db_version"] != int(db_before)
    assert checks(result)["database"].detail == f"wp_upgrade(): db_version {db_before} → {db_after}"
    status, body = home(wp4)
    assert status == 200
    assert f'content="WordPress {release["version"]}"'.encode() in body  # FPM runs the new files
    login = breakage.naive_get(f"{wp4['url']}wp-login.php")
    assert login[0] == 200
    assert leftovers(wp4) == []
    assert kept_owner_and_modes(before, wp4) == []


async def test_a_package_that_fails_its_checksums_never_reaches_the_site(
    wp4: dict[str, Any], vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    before = tree_state(Path(wp4["docroot"]))
    real = versions()["akismet"]
    vendor.add(
        "/plugin/akismet.9.9.zip",
        package_zips.rewrite(
            PACKAGES / f"akismet.{real}.zip",
            package_zips.altered("akismet/akismet.php", b"\n// injected\n"),
        ),
    )
    vendor.add(
        "/plugin-checksums/akismet/9.9.json",
        (PACKAGES / f"akismet.{real}.checksums.json").read_bytes(),
    )
    item = UpdateItem("plugin", "akismet", installed(wp4, "plugin"), "9.9", "wordpress")
    with pytest.raises(InvalidFeed, match="differs"):
        await obtain(item, package_source(item, vendor.settings), fetcher, cache)
    assert tree_state(Path(wp4["docroot"])) == before


async def test_a_package_whose_top_folder_is_not_the_slug_is_refused_on_the_site_too(
    wp4: dict[str, Any], conn: SshConnection, pages: PageFetcher, tmp_path: Path
) -> None:
    """Even a package that skipped the package step (as a caller's bug would) is refused."""
    before = tree_state(Path(wp4["docroot"]))
    real = versions()["akismet"]
    path = tmp_path / "akismet.zip"
    path.write_bytes(
        package_zips.rewrite(
            PACKAGES / f"akismet.{real}.zip", package_zips.renamed_top("akismet", "akismet-main")
        )
    )
    item = UpdateItem("plugin", "akismet", installed(wp4, "plugin"), real, "wordpress")
    package = VerifiedPackage(item, str(path), sha256_of(path), "test", "none", "akismet")
    result = await apply(wp4, conn, pages, package)
    assert not result.ok
    assert (
        checks(result)["package"].detail
        == "refused: the archive's top folder must be akismet/ alone; it has akismet-main"
    )
    assert tree_state(Path(wp4["docroot"])) == before


async def test_files_not_owned_by_the_ssh_user_are_refused_with_the_reason(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
) -> None:
    target = Path(wp4["docroot"]) / "wp-content/plugins/akismet/class.akismet.php"
    os.chown(target, 0, 0)
    before = tree_state(Path(wp4["docroot"]))
    package = await verified(wp4, vendor, fetcher, cache, "plugin")
    result = await apply(wp4, conn, pages, package)
    assert not result.ok
    assert checks(result)["owner"].detail == (
        "refused: wp-content/plugins/akismet/class.akismet.php is owned by root, not by wp4, "
        "the user sitekeeper logs in as; WordPress would fall back to FTP or write files as "
        "another user (give the files to wp4, or log in as their owner)"
    )
    assert [c.name for c in result.checks] == ["owner"]
    assert tree_state(Path(wp4["docroot"])) == before


@pytest.mark.parametrize(
    ("death", "said", "maintenance"),
    [
        (
            b" sk_undefined_after_maintenance();",
            "PHP died: Uncaught Error: Call to undefined function "
            "sk_undefined_after_maintenance() in {docroot}/wp-admin/includes/update-core.php:1312",
            "no .maintenance left",  # the program's shutdown function removed it
        ),
        (
            b" posix_kill(getmypid(), 9);",  # no shutdown function runs: sitekeeper removes it
            "the upgrader printed no result (exit -1): ",
            "no .maintenance left (removed the one the upgrader left)",
        ),
    ],
    ids=["fatal", "killed"],
)
async def test_maintenance_is_cleared_when_the_upgrader_dies_half_way(
    wp4: dict[str, Any],
    vendor: Vendor,
    fetcher: Fetcher,
    cache: PackageCache,
    conn: SshConnection,
    pages: PageFetcher,
    tmp_path: Path,
    death: bytes,
    said: str,
    maintenance: str,
) -> None:
    """A core release whose update-core.php dies right after WordPress put the site in
    maintenance: the program dies, and still no .maintenance, lock or working file stays."""
    release = versions()
    broken = package_zips.rewrite(
        PACKAGES / f"wordpress-{release['version']}.zip",
        package_zips.replaced(
            "wordpress/wp-admin/includes/update-core.php", MAINTENANCE_ON, MAINTENANCE_ON + death
        ),
    )
    path = tmp_path / "broken.zip"
    path.write_bytes(broken)
    digests = inspect_zip(path, "wordpress").digests
    vendor.add("/release/wordpress-6.8.99.zip", broken)
    checksums = {"checksums": {p: d["md5"] for p, d in digests.items()}}
    vendor.add("/core/checksums/6.8.99", json.dumps(checksums).encode())
    item = UpdateItem(CORE, "wordpress", installed(wp4, CORE), "6.8.99", "wordpress")
    package = await obtain(item, package_source(item, vendor.settings), fetcher, cache)
    result = await apply(wp4, conn, pages, package)
    assert not result.ok
    upgrade = checks(result)["upgrade"]
    expected = said.format(docroot=wp4["docroot"])
    assert upgrade.detail.startswith(
        f"WordPress's upgrader failed{' (at upgrade)' if 'PHP' in said else ''}: {expected}"
    )
    assert checks(result)["maintenance"].detail == maintenance
    assert checks(result)["cleanup"].ok
    assert leftovers(wp4) == []
    lock = "SELECT COUNT(*) FROM wp_options WHERE option_name='core_updater.lock'"
    assert breakage.root_sql(wp4, lock).strip() == "0"
    assert home(wp4)[0] == 200  # not the 503 of a stuck .maintenance
