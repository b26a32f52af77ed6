"""The package step against the real WordPress packages, served as the vendor serves them
on loopback: what is verified, what is refused before any site could see it, the cache."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from sitekeeper.cms.drupal import install as drupal_install
from sitekeeper.cms.site_files import verified_bytes
from sitekeeper.cms.wordpress.downloads import package_source
from sitekeeper.domain.updates import CORE, UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.updates.package_zip import ZipLimits, inspect_zip
from sitekeeper.updates.packages import PackageCache, PackageLimits, obtain
from tests.updates import package_zips
from tests.updates.vendor import PACKAGES, Vendor, sha256_of, vendor, versions

__all__ = ["vendor"]


def item(type_: str, slug: str, target: str) -> UpdateItem:
    return UpdateItem(type_, slug, "0", target, "wordpress")


@pytest.fixture
async def fetcher(vendor: Vendor) -> AsyncIterator[Fetcher]:
    async with Fetcher(FeedSettings(vendor=vendor.settings)) as made:
        yield made


@pytest.fixture
def cache(tmp_path: Path) -> PackageCache:
    return PackageCache(tmp_path / "packages")


async def test_core_is_verified_file_by_file_against_the_checksums_api(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    release = versions()
    wanted = item(CORE, "wordpress", release["version"])
    got = await obtain(wanted, package_source(wanted, vendor.settings), fetcher, cache)
    assert got.top_folder == "wordpress"
    assert got.sha256 == sha256_of(PACKAGES / f"wordpress-{release['version']}.zip")
    assert await asyncio.to_thread(sha256_of, Path(got.path)) == got.sha256
    api = "the WordPress.org core checksums API (md5 of every file)"
    assert f"every file matches {api}: {release['files']} files" in got.checksum_source
    assert f"/core/checksums/1.0/?version={release['version']}&locale=en_US" in vendor.requests


async def test_a_cached_package_is_not_downloaded_again(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    wanted = item("plugin", "akismet", versions()["akismet"])
    source = package_source(wanted, vendor.settings)
    first = await obtain(wanted, source, fetcher, cache)
    second = await obtain(wanted, source, fetcher, cache)
    assert second == first
    assert vendor.requests.count(f"/plugin/akismet.{wanted.target}.zip") == 1
    assert "WordPress.org plugin checksums API (sha256 of every file)" in first.checksum_source


async def test_a_cached_package_changed_on_disk_is_fetched_and_verified_again(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    wanted = item("plugin", "akismet", versions()["akismet"])
    source = package_source(wanted, vendor.settings)
    first = await obtain(wanted, source, fetcher, cache)
    await asyncio.to_thread(Path(first.path).write_bytes, b"tampered")
    again = await obtain(wanted, source, fetcher, cache)
    assert again.sha256 == first.sha256
    assert vendor.requests.count(f"/plugin/akismet.{wanted.target}.zip") == 2


async def test_a_theme_is_checked_by_the_pinned_sha256(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    wanted = item("theme", "twentytwentythree", versions()["twentytwentythree"])
    pinned = sha256_of(PACKAGES / f"twentytwentythree.{wanted.target}.zip")
    got = await obtain(
        wanted, package_source(wanted, vendor.settings, sha256=pinned), fetcher, cache
    )
    assert got.sha256 == pinned
    assert "matches the archive sha256 pinned for this release" in got.checksum_source
    with pytest.raises(UsageError, match="publishes no checksums for themes"):
        package_source(wanted, vendor.settings)
    other = item("theme", "twentytwentythree", "9.9")
    vendor.add(
        "/theme/twentytwentythree.9.9.zip",
        (PACKAGES / f"twentytwentythree.{wanted.target}.zip").read_bytes() + b"x",
    )
    with pytest.raises(InvalidFeed, match=r"sha256 is .* not the .* of the archive sha256 pinned"):
        await obtain(other, package_source(other, vendor.settings, sha256=pinned), fetcher, cache)


async def test_a_plugin_file_that_differs_from_the_checksums_is_refused(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
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
    wanted = item("plugin", "akismet", "9.9")
    with pytest.raises(InvalidFeed, match=r"1 file\(s\) differs: 'akismet.php'"):
        await obtain(wanted, package_source(wanted, vendor.settings), fetcher, cache)
    assert not any(cache.root.rglob("*.zip")), "a refused archive must not stay in the cache"


async def test_a_top_folder_that_is_not_the_slug_is_refused(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    real = versions()["akismet"]
    vendor.add(
        "/plugin/akismet.9.8.zip",
        package_zips.rewrite(
            PACKAGES / f"akismet.{real}.zip", package_zips.renamed_top("akismet", "akismet-main")
        ),
    )
    wanted = item("plugin", "akismet", "9.8")
    with pytest.raises(
        InvalidFeed, match="top folder must be 'akismet' alone; it has 'akismet-main'"
    ):
        await obtain(wanted, package_source(wanted, vendor.settings), fetcher, cache)


async def test_a_version_the_checksums_services_do_not_know_is_refused_unless_pinned(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    real = versions()["akismet"]
    body = (PACKAGES / f"akismet.{real}.zip").read_bytes()
    vendor.add("/plugin/akismet.9.7.zip", body)
    wanted = item("plugin", "akismet", "9.7")
    with pytest.raises(InvalidFeed, match="has no checksums for this version"):
        await obtain(wanted, package_source(wanted, vendor.settings), fetcher, cache)
    pinned = package_source(
        wanted, vendor.settings, sha256=sha256_of(PACKAGES / f"akismet.{real}.zip")
    )
    got = await obtain(wanted, pinned, fetcher, cache)
    assert "does not list this version: checked by the pinned sha256" in got.checksum_source
    core = item(CORE, "wordpress", "9.9.9")
    release = (PACKAGES / f"wordpress-{versions()['version']}.zip").read_bytes()
    vendor.add("/release/wordpress-9.9.9.zip", release)
    with pytest.raises(InvalidFeed, match=r"core checksums API .* has no checksums"):
        await obtain(core, package_source(core, vendor.settings), fetcher, cache)


async def test_an_archive_over_the_size_limit_is_refused_while_it_streams(
    vendor: Vendor, fetcher: Fetcher, tmp_path: Path
) -> None:
    small = PackageCache(tmp_path / "small", PackageLimits(max_archive=64 * 1024))
    wanted = item("plugin", "akismet", versions()["akismet"])
    with pytest.raises(InvalidFeed, match="over 65536"):
        await obtain(wanted, package_source(wanted, vendor.settings), fetcher, small)


async def test_the_cache_is_trimmed_to_its_size_least_recently_used_first(
    vendor: Vendor, fetcher: Fetcher, tmp_path: Path
) -> None:
    release = versions()
    plugin = item("plugin", "akismet", release["akismet"])
    theme = item("theme", "twentytwentythree", release["twentytwentythree"])
    pinned = sha256_of(PACKAGES / f"twentytwentythree.{theme.target}.zip")
    bound = (PACKAGES / f"twentytwentythree.{theme.target}.zip").stat().st_size + 1024
    cache = PackageCache(tmp_path / "bounded", PackageLimits(cache_bytes=bound))
    first = await obtain(plugin, package_source(plugin, vendor.settings), fetcher, cache)
    kept = await obtain(
        theme, package_source(theme, vendor.settings, sha256=pinned), fetcher, cache
    )
    assert not await asyncio.to_thread(Path(first.path).exists)
    assert await asyncio.to_thread(Path(kept.path).exists)


@pytest.mark.parametrize(
    ("members", "symlink", "refusal"),
    [
        ({"akismet/../../evil.php": b"x"}, None, "climbs out of its folder"),
        ({"/akismet/a.php": b"x"}, None, "absolute or non-POSIX"),
        ({"akismet\\..\\a.php": b"x"}, None, "absolute or non-POSIX"),
        ({"akismet/a.php": b"x", "evil.php": b"x"}, None, "outside any top folder"),
        ({"akismet/a.php": b"x", "other/b.php": b"x"}, None, "it has 'akismet', 'other'"),
        ({"akismet/a.php": b"x"}, "akismet/config.php", "is a symlink"),
        ({"akismet/./a.php": b"x"}, None, "climbs out"),
        ({}, None, "empty"),
    ],
)
def test_unsafe_archives_are_refused(
    tmp_path: Path, members: dict[str, bytes], symlink: str | None, refusal: str
) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(package_zips.small_zip(members, symlink=symlink))
    with pytest.raises(InvalidFeed, match=refusal):
        inspect_zip(path, "akismet")


def test_a_zip_bomb_is_stopped_by_what_inflates_not_by_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(package_zips.small_zip({"akismet/a.txt": b"\0" * (8 * 1024 * 1024)}))
    with pytest.raises(InvalidFeed, match="inflates past its bounds"):
        inspect_zip(path, "akismet", ZipLimits(max_ratio=2))
    with pytest.raises(InvalidFeed, match="unpacks to"):
        inspect_zip(path, "akismet", ZipLimits(max_unpacked=1024))


def test_a_member_whose_header_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    """A header declaring a tiny size over a large body: zipfile stops at the declared size
    and the CRC check refuses the truncated read."""
    data = bytearray(package_zips.small_zip({"akismet/a.txt": b"A" * 100_000}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.infolist()[0]
    central = data.rfind(b"PK\x01\x02")
    size_at = central + 24  # uncompressed size in the central directory entry
    data[size_at : size_at + 4] = (10).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    assert info.file_size == 100_000
    with pytest.raises(InvalidFeed):
        inspect_zip(path, "akismet")


class _Site:
    """An SSH connection that records what would reach the site."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        self.sent.append((path, len(data), mode))

    async def run(self, argv: list[str], **_: object) -> None:
        self.sent.append(argv)


async def test_an_archive_changed_in_the_cache_after_its_verification_is_not_uploaded(
    vendor: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    """The installers upload the bytes they read only if they still have the verified
    sha256: a cached file replaced between the package step and the install (another
    run, a person) reaches no site."""
    wanted = item("plugin", "akismet", versions()["akismet"])
    package = await obtain(wanted, package_source(wanted, vendor.settings), fetcher, cache)
    original = await asyncio.to_thread(Path(package.path).read_bytes)
    assert await asyncio.to_thread(verified_bytes, package) == original
    await asyncio.to_thread(Path(package.path).write_bytes, b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(InvalidFeed, match="the archive changed after it was verified"):
        await asyncio.to_thread(verified_bytes, package)
    site = _Site()
    with pytest.raises(InvalidFeed, match="nothing uploaded"):
        await drupal_install._stage(cast(SshConnection, site), "/tmp/sk-work", package)
    assert site.sent == []
