"""Joomla: update servers, collections, manifests, security feed and TUF targets."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.cms.joomla.security import (
    parse_loose_date,
    parse_security_feed,
    parse_version_ranges,
)
from sitekeeper.cms.joomla.tuf import parse_tuf_targets, parse_update_info
from sitekeeper.cms.joomla.updates import (
    compile_platform_pattern,
    parse_collection,
    parse_manifest,
    parse_update_server,
    updates_for,
)
from sitekeeper.domain.advisory import PackageType
from sitekeeper.errors import InvalidFeed
from tests.intel.samples import sample


def test_core_update_server_3_9_6() -> None:
    (update,) = parse_update_server(sample("joomla/legacy_extension_sts_3.9.6.xml"))
    assert (update.name, update.element, update.type, update.version) == (
        "Joomla! 3.9",
        "joomla",
        "file",
        "3.9.6",
    )
    assert update.downloads[0].url == (
        "https://downloads.joomla.org/cms/joomla3/3-9-6/Joomla_3.9.6-Stable-Update_Package.zip"
    )
    assert [d.source for d in update.downloads] == [False, True, True]
    assert update.tags == ("stable",)
    assert update.hashes["sha256"] == (
        "05157273aadd3045564ee44373ea3643b437fa5321d17993a3119b38b04578e2"
    )
    assert set(update.hashes) == {"sha256", "sha384", "sha512"}
    assert update.targetplatform.version == "3.[789]"
    assert update.php_minimum == "5.3.10"
    assert update.section == "STS"


@pytest.mark.parametrize(
    ("installed", "expected"),
    [("3.7.0", True), ("3.9.5", True), ("3.8", True), ("3.6.5", False), ("4.0.0", False)],
)
def test_target_platform_is_a_prefix_regex(installed: str, expected: bool) -> None:
    (update,) = parse_update_server(sample("joomla/legacy_extension_sts_3.9.6.xml"))
    assert update.targetplatform.matches(installed) is expected


def test_extension_update_server() -> None:
    updates = parse_update_server(sample("joomla/extension_update_server_example.xml"))
    (update,) = updates
    assert (update.element, update.type, update.version, update.client) == (
        "com_example",
        "component",
        "1.0.0",
        "administrator",
    )
    assert update.hashes == {}
    assert update.php_minimum == "8.1"
    assert updates_for(updates, "4.4.3") == updates
    assert updates_for(updates, "5.9.0") == updates
    assert updates_for(updates, "4.3.4") == []
    assert updates_for(updates, "3.10.12") == []


def test_collection_legacy_core_list() -> None:
    entries = parse_collection(sample("joomla/legacy_core_list.xml"))
    assert len(entries) == 16
    first = entries[0]
    assert (first.element, first.version, first.targetplatformversion) == (
        "joomla",
        "3.1.3",
        "3.1.2",
    )
    assert first.detailsurl == "https://update.joomla.org/core/extension.xml"
    for_3_9 = [e.version for e in entries if e.applies_to("3.9.28")]
    assert for_3_9 == ["3.10.0"]
    assert [e.version for e in entries if e.applies_to("3.10.5")] == ["3.2.7", "4.0.0"]  # "3.1" too


MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<extension type="component" method="upgrade">
  <name>com_example</name>
  <version>1.2.0</version>
  <updateservers>
    <server type="extension" priority="1" name="Example">https://example.com/update.xml</server>
    <server type="collection" name="All">https://example.com/list.xml</server>
  </updateservers>
</extension>"""


def test_manifest_update_servers() -> None:
    manifest = parse_manifest(MANIFEST)
    assert (manifest.name, manifest.type, manifest.version) == ("com_example", "component", "1.2.0")
    assert [(s.type, s.priority, s.url) for s in manifest.update_servers] == [
        ("extension", 1, "https://example.com/update.xml"),
        ("collection", None, "https://example.com/list.xml"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        MANIFEST.replace("https://example.com/update.xml", "file:///etc/passwd"),
        MANIFEST.replace('priority="1"', 'priority="high"'),
        "<updates/>",
    ],
)
def test_manifest_rejects(bad: str) -> None:
    with pytest.raises(InvalidFeed, match="manifest"):
        parse_manifest(bad)


UPDATE = """<updates><update><name>X</name><element>x</element><type>file</type>
<version>1.0</version><downloads><downloadurl type="full" format="zip">{url}</downloadurl>
</downloads>{extra}<targetplatform name="joomla" version="{platform}"/></update></updates>"""


@pytest.mark.parametrize(
    ("url", "extra", "platform"),
    [
        ("javascript:alert(1)", "", "4"),  # not http(s)
        ("https://x/y.zip", "<sha256>abc</sha256>", "4"),  # not a digest
        ("https://x/y.zip", "", "(a+)+$"),  # catastrophic backtracking
        ("https://x/y.zip", "", "4.(["),  # not a regex
        ("https://x/y.zip", "", "4" * 300),  # too long
    ],
)
def test_update_server_rejects(url: str, extra: str, platform: str) -> None:
    with pytest.raises(InvalidFeed, match="Joomla"):
        parse_update_server(UPDATE.format(url=url, extra=extra, platform=platform))


def test_update_server_requires_fields() -> None:
    with pytest.raises(InvalidFeed, match="version"):
        parse_update_server(
            UPDATE.format(url="https://x", extra="", platform="4").replace(
                "<version>1.0</version>", ""
            )
        )


def test_platform_pattern_anchors_like_joomla() -> None:
    pattern = compile_platform_pattern("(5\\.[0-4])|^(4\\.4)", what="t")
    assert pattern.search("5.2.1")
    assert pattern.search("4.4.9")
    assert not pattern.search("15.2")
    assert not pattern.search("4.3.0")


def test_security_feed() -> None:
    items = parse_security_feed(sample("joomla/security_centre_feed_2021-01-05_reconstructed.xml"))
    assert len(items) == 10
    first = items[0]
    assert first.id == "20201107"
    assert first.title == "[20201107] - Core - Write ACL violation in multiple core views"
    assert first.ranges == (("1.7.0", "3.9.22"),)  # written "1.7.0 - 3.9.22"
    assert first.fixed_versions == ("3.9.23",)
    assert first.cves == ("CVE-2020-35616",)
    assert (first.severity, first.impact) == ("Low", "High")
    assert first.reported == date(2018, 11, 4)
    assert first.fixed == date(2020, 11, 24)
    assert first.published == datetime(2020, 11, 24, 13, 0, 7, tzinfo=UTC)
    assert first.is_core
    assert items[1].ranges == (("3.9.0", "3.9.22"),)  # written "3.9.0-3.9.22"
    redirect = next(i for i in items if i.id == "20200802")
    assert redirect.reported == date(2020, 7, 5)  # written "2020-July-05"
    assert redirect.fixed == date(2020, 8, 25)  # written "2020-August-25"
    assert redirect.fixed_versions == ("3.9.21",)


def test_security_feed_to_advisory() -> None:
    items = parse_security_feed(sample("joomla/security_centre_feed_2021-01-05_reconstructed.xml"))
    advisory = items[1].to_advisory()
    assert advisory.id == "JOOMLA-20201106"
    assert advisory.aliases == ("CVE-2020-35615",)
    assert advisory.severity == "low"
    (package,) = advisory.affected
    assert (package.ecosystem, package.slug, package.type) == (
        JOOMLA,
        "joomla",
        PackageType.CORE,
    )
    assert advisory.affects(JOOMLA, "joomla", "3.9.22")
    assert advisory.affects(JOOMLA, "joomla", "3.9.0")
    assert not advisory.affects(JOOMLA, "joomla", "3.9.23")
    assert not advisory.affects(JOOMLA, "joomla", "3.8.13")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.9.0-3.9.22", (("3.9.0", "3.9.22"),)),
        ("1.7.0 - 3.9.22", (("1.7.0", "3.9.22"),)),
        ("3.0.0-3.10.11, 4.0.0-4.2.4", (("3.0.0", "3.10.11"), ("4.0.0", "4.2.4"))),
        ("4.0.0 – 4.2.7", (("4.0.0", "4.2.7"),)),
        ("4.2.7", (("4.2.7", "4.2.7"),)),
        ("all", ()),
        (None, ()),
    ],
)
def test_version_ranges_are_read_tolerantly(
    text: str | None, expected: tuple[tuple[str, str], ...]
) -> None:
    assert parse_version_ranges(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-10-08", date(2020, 10, 8)),
        ("2020-July-05", date(2020, 7, 5)),
        ("2020-Aug-25", date(2020, 8, 25)),
        ("soon", None),
        ("", None),
    ],
)
def test_loose_dates(text: str, expected: date | None) -> None:
    assert parse_loose_date(text) == expected


def test_security_feed_rejects_other_documents() -> None:
    with pytest.raises(InvalidFeed, match="rss"):
        parse_security_feed("<feed><entry/></feed>")
    with pytest.raises(InvalidFeed, match="channel"):
        parse_security_feed("<rss version='2.0'/>")


def test_tuf_targets() -> None:
    releases = parse_tuf_targets(sample("joomla/tuf_targets.json"))
    assert len(releases) == 38
    by_name = {r.filename: r for r in releases}
    release = by_name["Joomla_5.4.1-Stable-Update_Package.zip"]
    assert (release.info.version, release.info.stability, release.info.channel) == (
        "5.4.1",
        "Stable",
        "5.x",
    )
    assert release.length == 30009045
    assert release.hashes["sha512"].startswith("aeddd1143cd574ff")
    assert release.info.php_minimum == "8.1.0"
    assert release.info.downloads[0].url == (
        "https://downloads.joomla.org/cms/joomla5/5-4-1/Joomla_5.4.1-Stable-Update_Package.zip"
    )
    assert release.metadata_version == 109
    assert release.platform().matches("4.4.2")
    assert not release.platform().matches("4.3.0")
    rc = by_name["Joomla_6.1.3-rc2-Release_Candidate-Update_Package.zip"]
    assert (rc.info.version, rc.info.stability, rc.info.channel) == ("6.1.3-rc2", "RC", "6.x")
    assert rc.platform().matches("5.4.3")


def _targets(custom_patch: dict[str, object]) -> str:
    body = json.loads(sample("joomla/tuf_targets.json"))
    first = next(iter(body["signed"]["targets"].values()))
    first["custom"].update(custom_patch)
    return json.dumps(body)


@pytest.mark.parametrize(
    "patch",
    [
        {"version": 512},
        {"downloads": "https://x"},
        {"downloads": [{"url": "ftp://x", "format": "zip", "type": "full"}]},
        {"targetplatform": {"name": "joomla", "version": "(a*)*b"}},
    ],
)
def test_tuf_targets_reject_bad_custom(patch: dict[str, object]) -> None:
    with pytest.raises(InvalidFeed, match="TUF"):
        parse_tuf_targets(_targets(patch))


def test_tuf_targets_reject_other_roles() -> None:
    with pytest.raises(InvalidFeed, match="TUF"):
        parse_tuf_targets(sample("joomla/tuf_timestamp.json"))


@pytest.mark.parametrize(
    ("name", "channel", "php", "platform_ok", "platform_not"),
    [
        ("joomla/tuf_template_update-info-5.json", "5.x", "8.1.0", "4.4.3", "4.3.0"),
        ("joomla/tuf_template_update-info-6.json", "6.x", "8.3.0", "5.4.1", "5.3.0"),
    ],
)
def test_tuf_update_info_templates(
    name: str, channel: str, php: str, platform_ok: str, platform_not: str
) -> None:
    info = parse_update_info(sample(name))
    assert (info.channel, info.php_minimum, info.element, info.type) == (
        channel,
        php,
        "joomla",
        "file",
    )
    assert info.supported_databases["mariadb"] == "10.4"
    assert len(info.downloads) == 3
    release_platform = compile_platform_pattern(info.targetplatform.version, what="t")
    assert release_platform.search(platform_ok)
    assert not release_platform.search(platform_not)
