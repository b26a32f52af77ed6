"""api.wordpress.org answers: the real sample bodies, and shapes that must be refused."""

from __future__ import annotations

import json

import pytest

from sitekeeper.cms.wordpress.api import (
    StableStatus,
    parse_core_checksums,
    parse_package_info,
    parse_plugins_update_check,
    parse_stable_check,
    parse_version_check,
)
from sitekeeper.errors import InvalidFeed
from tests.intel.samples import sample


def test_version_check_upgrade_offers() -> None:
    offers = parse_version_check(sample("wordpress/version-check-1.7_upgrade_6.7_en_CA.json"))
    assert [(o.response, o.version, o.locale) for o in offers] == [
        ("upgrade", "6.7.1", "en_CA"),
        ("upgrade", "6.7.1", "en_US"),
        ("autoupdate", "6.7.1", "en_CA"),
    ]
    en_us = offers[1]
    assert en_us.packages.full == "https://downloads.wordpress.org/release/wordpress-6.7.1.zip"
    assert en_us.packages.partial == (
        "https://downloads.wordpress.org/release/wordpress-6.7.1-partial-0.zip"
    )
    assert en_us.packages.rollback is None  # the API's false
    assert en_us.partial_version == "6.7"
    assert (en_us.php_version, en_us.mysql_version, en_us.new_bundled) == ("7.2.24", "5.5.5", "6.7")
    assert offers[0].partial_version is None


def test_version_check_latest() -> None:
    (offer,) = parse_version_check(sample("wordpress/version-check-1.7_latest_6.7.1_en_CA.json"))
    assert (offer.response, offer.version, offer.current) == ("latest", "6.7.1", "6.7.1")
    assert offer.packages.full.endswith("/en_CA/wordpress-6.7.1.zip")


def test_version_check_development() -> None:
    offers = parse_version_check(sample("wordpress/version-check-1.7_development_6.8-alpha.json"))
    assert [(o.response, o.version) for o in offers] == [
        ("development", "6.8-alpha-59551"),
        ("latest", "6.7.1"),
        ("autoupdate", "6.8-alpha-59551"),
    ]
    assert offers[0].packages.no_content is None


@pytest.mark.parametrize(
    "body",
    [
        {"offers": "6.7.1"},  # wrong type
        {"offers": []},  # nothing offered
        {"offers": [{"response": "latest"}]},  # missing fields
        {"offers": [{"response": 1, "version": "6.7.1"}]},
        [],
        "offers",
    ],
)
def test_version_check_rejects(body: object) -> None:
    with pytest.raises(InvalidFeed, match="version-check"):
        parse_version_check(json.dumps(body))


def test_stable_check() -> None:
    body = {"5.7.4": "insecure", "5.7.5": "outdated", "6.7.1": "latest", "6.8-RC1": "outdated"}
    statuses = parse_stable_check(json.dumps(body))
    assert statuses["5.7.4"] is StableStatus.INSECURE
    assert statuses["5.7.5"] is StableStatus.OUTDATED
    assert statuses["6.7.1"] is StableStatus.LATEST


@pytest.mark.parametrize(
    "body",
    [{"6.7.1": "great"}, {"6.7.1": 1}, {"<script>": "latest"}, {}, ["6.7.1"]],
)
def test_stable_check_rejects(body: object) -> None:
    with pytest.raises(InvalidFeed, match="stable-check"):
        parse_stable_check(json.dumps(body))


def test_core_checksums() -> None:
    checksums = parse_core_checksums(
        sample("wordpress/checksums-1.0_6.7.1_en_US.RECONSTRUCTED.json")
    )
    assert checksums is not None
    assert len(checksums) == 3224
    assert checksums["index.php"] == "926dd0f95df723f9ed934eb058882cc8"
    assert checksums["wp-admin/about.php"] == "4fc0ac9444bc0ab159ec978392bb26a0"


def test_core_checksums_unknown_version_is_none() -> None:
    assert parse_core_checksums(b'{"checksums":false}') is None


@pytest.mark.parametrize(
    "body",
    [
        {"checksums": {"index.php": "not-md5"}},
        {"checksums": {"index.php": 5}},
        {"checksums": True},
        {"checksums": {}},
        {"nothing": False},
    ],
)
def test_core_checksums_rejects(body: object) -> None:
    with pytest.raises(InvalidFeed, match="checksums"):
        parse_core_checksums(json.dumps(body))


def test_plugins_update_check_with_update() -> None:
    result = parse_plugins_update_check(
        sample("wordpress/plugins-update-check-1.1_response_update.json")
    )
    update = result.plugins["buddypress/bp-loader.php"]
    assert (update.slug, update.new_version, update.requires, update.tested) == (
        "buddypress",
        "14.3.3",
        "6.1",
        "6.7.1",
    )
    assert update.package == "https://downloads.wordpress.org/plugin/buddypress.14.3.3.zip"
    assert update.requires_php == "5.6"
    assert result.no_update == {}  # the API's [] for an empty map


def test_plugins_update_check_without_update() -> None:
    result = parse_plugins_update_check(
        sample("wordpress/plugins-update-check-1.1_response_noupdate.json")
    )
    assert result.plugins == {}
    current = result.no_update["buddypress/bp-loader.php"]
    assert (current.id, current.new_version) == ("w.org/plugins/buddypress", "14.3.3")


@pytest.mark.parametrize(
    "body",
    [{"plugins": "buddypress"}, {"plugins": {"x/y.php": {"slug": "x"}}}, {"no_update": []}],
)
def test_plugins_update_check_rejects(body: object) -> None:
    with pytest.raises(InvalidFeed, match="update-check"):
        parse_plugins_update_check(json.dumps(body))


PLUGIN_INFO = {
    "name": "Akismet Anti-spam: Spam Protection",
    "slug": "akismet",
    "version": "5.3.5",
    "requires": "5.8",
    "tested": "6.7.1",
    "requires_php": "5.6.20",
    "last_updated": "2024-11-19 1:53pm GMT",
    "download_link": "https://downloads.wordpress.org/plugin/akismet.5.3.5.zip",
    "versions": {"5.3.4": "https://downloads.wordpress.org/plugin/akismet.5.3.4.zip"},
}


def test_package_info() -> None:
    info = parse_package_info(json.dumps(PLUGIN_INFO))
    assert info is not None
    assert (info.slug, info.version, info.requires_php) == ("akismet", "5.3.5", "5.6.20")
    assert info.versions["5.3.4"] == "https://downloads.wordpress.org/plugin/akismet.5.3.4.zip"


def test_package_info_php_false_and_empty_versions() -> None:
    info = parse_package_info(json.dumps({**PLUGIN_INFO, "requires_php": False, "versions": []}))
    assert info is not None
    assert info.requires_php is None
    assert info.versions == {}


def test_package_info_not_found_is_none() -> None:
    assert parse_package_info(b'{"error":"Plugin not found."}') is None


def test_package_info_rejects_wrong_types() -> None:
    with pytest.raises(InvalidFeed, match="version"):
        parse_package_info(json.dumps({**PLUGIN_INFO, "version": ["5.3.5"]}))
