"""The package step for CMSes whose vendor document names the archive: Joomla's extension
update XML (sha256/sha384/sha512) and Drupal's release history (MD5), served on loopback
in their real shapes; the archive's manifest or info file must be the extension's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sitekeeper.cms.drupal.packages import package_source as drupal_source
from sitekeeper.cms.joomla.packages import element_of, manifest_slug
from sitekeeper.cms.joomla.packages import package_source as joomla_source
from sitekeeper.cms.joomla.poller import poll_update_server
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.intel.payload import parse_xml
from sitekeeper.updates.packages import PackageCache, obtain
from tests.updates import cms_builds as builds
from tests.updates.vendor import Vendor

XML = "/joomla/updates/skupdater.xml"
PLUGIN_FILE = '<files><filename plugin="x">x.php</filename></files>'
MODULE_FILE = '<files><filename module="mod_x">mod_x.php</filename></files>'


@pytest.fixture
async def fetcher(server: Vendor) -> AsyncIterator[Fetcher]:
    async with Fetcher(FeedSettings(vendor={})) as made:
        yield made


@pytest.fixture
def cache(tmp_path: Path) -> PackageCache:
    return PackageCache(tmp_path / "packages")


def joomla_item(
    server: Vendor, target: str = "1.1.0", platform: str | None = "5.3.2"
) -> UpdateItem:
    """The test plugin on a site that runs Joomla ``platform`` (jm1's 5.3.2)."""
    return UpdateItem(
        "plugin",
        builds.JOOMLA_SLUG,
        "1.0.0",
        target,
        "joomla",
        source=server.url + XML,
        platform=platform,
    )


def drupal_item(target: str = "1.1.0", source: str | None = None) -> UpdateItem:
    return UpdateItem("module", builds.DRUPAL_MODULE, "1.0.0", target, "drupal", source=source)


def serve_joomla(server: Vendor, release: builds.Built, **xml: object) -> None:
    server.add(release.path, release.data)
    server.add(XML, builds.joomla_update_xml(server.url, [release], **xml))  # type: ignore[arg-type]


async def test_a_joomla_package_is_checked_against_every_digest_of_its_update_xml(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    release = builds.joomla_plugin("1.1.0", server.url + XML)
    serve_joomla(server, release)
    wanted = joomla_item(server)
    got = await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)
    assert got.sha256 == release.digest("sha256") and got.top_folder == ""
    assert "matches the sha256/sha512 of the update server's <update>" in got.checksum_source
    assert f"its manifest skupdater.xml is plugin {builds.JOOMLA_SLUG}" in got.checksum_source
    assert got.url == server.url + release.path
    again = await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)
    assert again.path == got.path and server.requests.count(release.path) == 1


@pytest.mark.parametrize("which", ["sha256", "sha512"])
async def test_a_joomla_package_matching_one_digest_but_not_another_is_refused(
    server: Vendor, fetcher: Fetcher, cache: PackageCache, which: str
) -> None:
    release = builds.joomla_plugin("1.1.0", server.url + XML)
    body = builds.joomla_update_xml(server.url, [release]).replace(
        release.digest(which).encode(), b"0" * len(release.digest(which))
    )
    server.add(release.path, release.data)
    server.add(XML, body)
    wanted = joomla_item(server)
    with pytest.raises(InvalidFeed, match=f"archive's {which} is .* refused"):
        await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)


async def test_a_joomla_version_listed_without_digests_is_refused_unless_pinned(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    release = builds.joomla_plugin("1.1.0", server.url + XML)
    body = builds.joomla_update_xml(server.url, [release])
    for name in ("sha256", "sha512"):
        body = body.replace(f"<{name}>{release.digest(name)}</{name}>".encode(), b"")
    server.add(release.path, release.data)
    server.add(XML, body)
    wanted = joomla_item(server)
    with pytest.raises(InvalidFeed, match="gives no sha256/sha384/sha512"):
        await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)
    pinned = joomla_source(wanted, {}, sha256=release.digest("sha256"))
    assert (await obtain(wanted, pinned, fetcher, cache)).sha256 == release.digest("sha256")


async def test_a_joomla_manifest_that_does_not_upgrade_in_place_is_refused(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    manifest = builds.joomla_manifest("1.1.0", server.url + XML).replace(b' method="upgrade"', b"")
    data = builds.flat_zip({"skupdater.xml": manifest, "skupdater.php": b"<?php\n"})
    serve_joomla(server, builds.Built("1.1.0", "/joomla/x.zip", data))
    wanted = joomla_item(server)
    with pytest.raises(InvalidFeed, match='does not say method="upgrade"'):
        await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)


async def test_a_joomla_release_for_another_joomla_is_refused_before_its_download(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    release = builds.joomla_plugin("1.1.0", server.url + XML)
    serve_joomla(server, release, targetplatform=r"4\.[0-4]")  # Joomla 4 only
    wanted = joomla_item(server, platform="5.3.2")
    with pytest.raises(InvalidFeed) as refused:
        await obtain(wanted, joomla_source(wanted, {}), fetcher, cache)
    assert str(refused.value) == (
        'skupdater 1.1.0 is for Joomla "4\\.[0-4]" (its <targetplatform>), not for the '
        "site's Joomla 5.3.2: refused"
    )
    assert release.path not in server.requests
    unknown = joomla_item(server, platform=None)
    with pytest.raises(InvalidFeed, match="the site's Joomla version is not known"):
        await obtain(unknown, joomla_source(unknown, {}), fetcher, cache)


async def test_of_one_version_built_per_joomla_the_sites_build_is_taken(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    """An update server may list a release once per Joomla major, each its own archive;
    Joomla installs the one whose <targetplatform> matches, and so does sitekeeper."""
    for_4 = builds.joomla_plugin("1.1.0", server.url + XML)
    for_5 = builds.joomla_plugin("1.1.0", server.url + XML, body="return; // J5 build")
    assert for_4.data != for_5.data
    for_4 = builds.Built(for_4.version, "/joomla/j4/plugin.zip", for_4.data)
    xml_4 = builds.joomla_update_xml(server.url, [for_4], targetplatform=r"4\.")
    xml_5 = builds.joomla_update_xml(server.url, [for_5], targetplatform=r"5\.")
    both = xml_4.replace(b"</updates>\n", b"") + xml_5.replace(b"<updates>\n", b"")
    server.add(for_4.path, for_4.data)
    server.add(for_5.path, for_5.data)
    server.add(XML, both)
    on_4, on_5 = joomla_item(server, platform="4.4.9"), joomla_item(server, platform="5.3.2")
    got_4 = await obtain(on_4, joomla_source(on_4, {}), fetcher, cache)
    assert got_4.url == server.url + for_4.path and got_4.sha256 == for_4.digest("sha256")
    got_5 = await obtain(on_5, joomla_source(on_5, {}), fetcher, cache)  # not J4's, cached
    assert got_5.url == server.url + for_5.path and got_5.sha256 == for_5.digest("sha256")
    # Each build has its own cache folder: a Joomla 5 site's run does not replace the
    # archive a Joomla 4 site's run verified and is about to upload.
    assert got_4.path != got_5.path
    assert await asyncio.to_thread(Path(got_4.path).read_bytes) == for_4.data
    again_4 = await obtain(on_4, joomla_source(on_4, {}), fetcher, cache)
    assert again_4.path == got_4.path and server.requests.count(for_4.path) == 1


def test_a_joomla_extension_without_an_update_server_has_no_package() -> None:
    with pytest.raises(UsageError, match="declares no update server"):
        joomla_source(UpdateItem("plugin", builds.JOOMLA_SLUG, "1", "2", "joomla"), {})


@pytest.mark.parametrize(
    ("type_", "slug", "element"),
    [
        ("plugin", "plg_system_sk_cache", "sk_cache"),
        ("template", "tpl_skdark", "skdark"),
        ("template", "administrator/tpl_skadmin", "skadmin"),
        ("module", "administrator/mod_skstats", "mod_skstats"),
        ("component", "com_skshop", "com_skshop"),
        ("package", "pkg_skshop", "pkg_skshop"),
        ("library", "lib_sk", "sk"),
    ],
)
def test_joomla_slugs_name_the_update_servers_elements(type_: str, slug: str, element: str) -> None:
    assert element_of(type_, slug)[0] == element


@pytest.mark.parametrize(
    ("manifest", "slug"),
    [
        (f'<extension type="plugin" group="system">{PLUGIN_FILE}</extension>', "plg_system_x"),
        ('<extension type="component"><name>COM_SKSHOP</name></extension>', "com_skshop"),
        (f'<extension type="module" client="administrator">{MODULE_FILE}</extension>',
         "administrator/mod_x"),
        ('<extension type="package"><packagename>skshop</packagename></extension>', "pkg_skshop"),
        ('<extension type="template" client="site"><name>SKdark</name></extension>', "tpl_skdark"),
        ('<extension type="library"><libraryname>sk</libraryname></extension>', "lib_sk"),
    ],
)  # fmt: skip
def test_a_joomla_manifest_names_its_extension_as_the_inventory_does(
    manifest: str, slug: str
) -> None:
    assert manifest_slug(parse_xml(manifest, what="test")) == slug


async def test_a_drupal_zip_is_checked_against_the_release_historys_md5(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    zipped, tarred = builds.drupal_module("1.1.0")
    server.add(zipped.path, zipped.data)
    server.add(
        "/release-history/skmod/current", builds.drupal_history(server.url, [(zipped, tarred)])
    )
    vendor = {"drupal_updates_url": server.url + "/release-history"}
    wanted = drupal_item(source="drupal.org/project/skmod")
    got = await obtain(wanted, drupal_source(wanted, vendor), fetcher, cache)
    assert got.url == server.url + zipped.path and got.top_folder == "skmod"
    assert "matches the md5 of the release history of skmod" in got.checksum_source
    assert "skmod/skmod.info.yml is the module SK module 1.1.0" in got.checksum_source


async def test_a_drupal_release_missing_from_the_history_is_refused(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    server.add(
        "/release-history/skmod/current",
        builds.drupal_history(server.url, [builds.drupal_module("1.0.0")]),
    )
    vendor = {"drupal_updates_url": server.url + "/release-history"}
    wanted = drupal_item("1.1.0")
    with pytest.raises(InvalidFeed, match=r"has no published 1\.1\.0"):
        await obtain(wanted, drupal_source(wanted, vendor), fetcher, cache)


def test_a_drupal_submodule_moves_only_with_its_project() -> None:
    with pytest.raises(UsageError, match="comes with the project token"):
        drupal_source(drupal_item(source="drupal.org/project/token"), {})


async def test_a_joomla_plugins_update_server_is_read_for_its_inventory_slug(
    server: Vendor, fetcher: Fetcher
) -> None:
    """The inventory names a plugin plg_system_x, its update server <element>x</element>:
    before, every plugin, template and library was "not found" on its own server."""
    releases = [builds.joomla_plugin(v, server.url + XML) for v in ("1.1.0", "1.2.0")]
    server.add(XML, builds.joomla_update_xml(server.url, releases))
    (info,) = await poll_update_server(fetcher, server.url + XML, [("plugin", builds.JOOMLA_SLUG)])
    assert (info.package, info.latest, info.status) == (builds.JOOMLA_SLUG, "1.2.0", "published")


async def test_a_drupal_zip_of_another_size_than_listed_is_refused(
    server: Vendor, fetcher: Fetcher, cache: PackageCache
) -> None:
    zipped, tarred = builds.drupal_module("1.1.0")
    server.add(zipped.path, zipped.data)
    body = builds.drupal_history(server.url, [(zipped, tarred)])
    listed = f"<size>{len(zipped.data)}</size>".encode()
    server.add("/release-history/skmod/current", body.replace(listed, b"<size>1</size>"))
    vendor = {"drupal_updates_url": server.url + "/release-history"}
    wanted = drupal_item()
    with pytest.raises(InvalidFeed, match=f"is {len(zipped.data)} bytes, not the 1 of"):
        await obtain(wanted, drupal_source(wanted, vendor), fetcher, cache)


def test_a_dry_run_says_which_document_names_the_archive_and_its_digests() -> None:
    joomla = joomla_source(
        UpdateItem(
            "plugin", builds.JOOMLA_SLUG, "1.0.0", "1.1.0", "joomla", source="https://x/u.xml"
        ),
        {},
    )
    assert (
        joomla.where
        == "as named by the update server's <update> for skupdater 1.1.0 (https://x/u.xml)"
    )
    assert joomla.checked_against.startswith("the digests of the update server's <update>")
    drupal = drupal_source(drupal_item(), {"drupal_updates_url": "https://m/release-history"})
    assert drupal.checked_against == (
        "the digests of the release history of skmod (https://m/release-history/skmod/current)"
    )
