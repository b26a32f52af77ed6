"""OSV, Wordfence and WPScan records normalised to one Advisory model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.wordfence import parse_wordfence
from sitekeeper.cms.wordpress.wpscan import parse_wpscan_core_release, parse_wpscan_package
from sitekeeper.domain.advisory import PackageType
from sitekeeper.domain.ranges import VersionRange
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.osv import parse_osv
from tests.intel.samples import sample


def test_osv_drupal_core_2020_012() -> None:
    advisory = parse_osv(sample("advisories/DRUPAL-CORE-2020-012.json"))
    assert advisory.id == "DRUPAL-CORE-2020-012"
    assert advisory.aliases == ("CVE-2020-13671",)
    assert advisory.published == datetime(2020, 11, 18, 17, 18, 31, tzinfo=UTC)
    assert advisory.modified == datetime(2022, 8, 21, 19, 6, 52, tzinfo=UTC)
    assert advisory.summary.startswith("*Update November 18")
    assert advisory.references == ("https://www.drupal.org/sa-core-2020-012",)
    (package,) = advisory.affected
    assert (package.ecosystem, package.slug, package.type) == (DRUPAL, "drupal", PackageType.CORE)
    assert package.ranges.ranges == (
        VersionRange(introduced="8.0.0", fixed="8.8.11"),
        VersionRange(introduced="8.9.0", fixed="8.9.9"),
        VersionRange(introduced="9.0.0", fixed="9.0.8"),
        VersionRange(introduced="7.0", fixed="7.74"),  # Drupal 7, from affected_versions
    )


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("8.8.10", True),
        ("8.8.11", False),
        ("8.9.8", True),
        ("8.9.9", False),
        ("9.0.7", True),
        ("9.0.8", False),
        ("9.1.0", False),
        ("7.73", True),  # Drupal 7: only in database_specific.affected_versions
        ("7.74", False),
        ("6.38", False),
    ],
)
def test_osv_drupal_core_2020_012_matching(version: str, affected: bool) -> None:
    advisory = parse_osv(sample("advisories/DRUPAL-CORE-2020-012.json"))
    assert advisory.affects(DRUPAL, "drupal", version) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("9.4.13", True),
        ("9.4.14", False),
        ("9.5.7", True),
        ("9.5.8", False),
        ("10.0.8", False),
        ("7.95", True),  # "<7.96.0" from affected_versions
        ("7.96", False),
    ],
)
def test_osv_drupal_core_2023_005(version: str, affected: bool) -> None:
    advisory = parse_osv(sample("advisories/DRUPAL-CORE-2023-005.json"))
    assert advisory.aliases == ("CVE-2023-31250",)
    assert advisory.affects(DRUPAL, "drupal", version) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("8.x-2.4", True),  # the site's spelling of 2.4.0
        ("2.4.0", True),
        ("8.x-2.5", False),
        ("2.5.0", False),
        ("3.0.0", True),
        ("3.0.1", True),
        ("3.0.2", False),
        ("8.x-1.27", True),
    ],
)
def test_osv_drupal_contrib(version: str, affected: bool) -> None:
    advisory = parse_osv(sample("advisories/DRUPAL-CONTRIB-2021-025.json"))
    (package,) = advisory.affected
    assert (package.slug, package.type) == ("admin_toolbar", PackageType.MODULE)
    assert advisory.aliases == ()
    assert package.ranges.ranges[1] == VersionRange(introduced="3.0.0", last_affected="3.0.0")
    assert advisory.affects(DRUPAL, "admin_toolbar", version) is affected
    assert not advisory.affects(DRUPAL, "other_module", version)


def _osv(**patch: object) -> str:
    body = json.loads(sample("advisories/DRUPAL-CORE-2020-012.json"))
    body.update(patch)
    return json.dumps(body)


def test_osv_other_ecosystems_and_open_ranges() -> None:
    affected = [
        {"package": {"ecosystem": "npm", "name": "left-pad"}, "ranges": []},
        {
            "package": {"ecosystem": "Packagist", "name": "symfony/http-kernel"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "5.0.0"}]}],
            "versions": ["4.4.1"],
        },
    ]
    advisory = parse_osv(_osv(affected=affected))
    (package,) = advisory.affected  # npm left out
    assert (package.ecosystem, package.slug, package.type) == (
        Ecosystem.PACKAGIST,
        "symfony/http-kernel",
        PackageType.LIBRARY,
    )
    assert package.affects("7.0.0")
    assert package.affects("4.4.1")
    assert not package.affects("4.4.2")


@pytest.mark.parametrize(
    "patch",
    [
        {"affected": "drupal/core"},
        {"id": ""},
        {"modified": "yesterday"},
        {"aliases": "CVE-1"},
        {
            "affected": [
                {
                    "package": {"ecosystem": "Packagist", "name": "drupal/core"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1.0"}]}],
                }
            ]
        },
        {
            "affected": [
                {
                    "package": {"ecosystem": "Packagist", "name": "drupal/core"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "<script>"}],
                        }
                    ],
                }
            ]
        },
        {
            "affected": [
                {
                    "package": {"ecosystem": "Packagist", "name": "drupal/core"},
                    "ranges": [{"type": "WHATEVER", "events": [{"introduced": "0"}]}],
                }
            ]
        },
    ],
)
def test_osv_rejects(patch: dict[str, object]) -> None:
    with pytest.raises(InvalidFeed, match="OSV"):
        parse_osv(_osv(**patch))


def test_wordfence_record() -> None:
    (advisory,) = parse_wordfence(sample("advisories/wordfence_v2_record_shape.json"))
    assert advisory.id == "59ea7390-3587-4fce-b267-bf525dbe3e27"
    assert advisory.aliases == ("CVE-2025-2537",)
    assert (advisory.severity, advisory.cvss_score) == ("medium", 6.4)
    assert advisory.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N"
    assert advisory.published == datetime(2025, 7, 3, 0, 20, 54, tzinfo=UTC)
    assert advisory.modified == datetime(2025, 8, 19, 5, 27, 14, tzinfo=UTC)
    plugin, theme = advisory.affected
    assert (plugin.slug, plugin.type, plugin.patched_versions) == (
        "foo-bar",
        PackageType.PLUGIN,
        (),
    )
    assert (theme.slug, theme.type, theme.patched_versions) == (
        "wpbaz",
        PackageType.THEME,
        ("4.9.1", "4.9.3"),
    )


@pytest.mark.parametrize(
    ("slug", "version", "affected"),
    [
        ("foo-bar", "0.1", True),  # "*" = from the first version
        ("foo-bar", "3.5", True),  # inclusive upper end
        ("foo-bar", "3.5.1", False),
        ("wpbaz", "4.8.9", True),
        ("wpbaz", "4.9.1", False),  # patched
        ("wpbaz", "4.9.2", True),  # regressed
        ("wpbaz", "4.9.3", False),
    ],
)
def test_wordfence_matching(slug: str, version: str, affected: bool) -> None:
    (advisory,) = parse_wordfence(sample("advisories/wordfence_v2_record_shape.json"))
    assert advisory.affects(WORDPRESS, slug, version) is affected


def _wordfence(patch: dict[str, object]) -> str:
    body = json.loads(sample("advisories/wordfence_v2_record_shape.json"))
    next(iter(body.values())).update(patch)
    return json.dumps(body)


@pytest.mark.parametrize(
    "patch",
    [
        {"software": []},
        {"software": "foo-bar"},
        {"id": "another-id"},
        {"cvss": {"score": "high"}},
        {"software": [{"type": "widget", "name": "x", "slug": "x", "affected_versions": {}}]},
    ],
)
def test_wordfence_rejects(patch: dict[str, object]) -> None:
    with pytest.raises(InvalidFeed, match="Wordfence"):
        parse_wordfence(_wordfence(patch))


def test_wordfence_exclusive_bounds_and_core() -> None:
    software = [
        {
            "type": "core",
            "name": "WordPress",
            "slug": "wordpress",
            "affected_versions": {
                "6.0 - 6.4.3": {
                    "from_version": "6.0",
                    "from_inclusive": False,
                    "to_version": "6.4.3",
                    "to_inclusive": False,
                }
            },
        }
    ]
    (advisory,) = parse_wordfence(_wordfence({"software": software}))
    (core,) = advisory.affected
    assert (core.slug, core.type) == ("wordpress", PackageType.CORE)
    assert not core.affects("6.0")
    assert core.affects("6.0.1")
    assert core.affects("6.4.2")
    assert not core.affects("6.4.3")


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("10.5.2", True),
        ("10.5.3", False),
        ("10.4.3", True),
        ("10.4.4", False),  # fixed on its own branch
        ("10.4.9", False),
        ("5.4.3", True),
        ("5.4.4", False),
        ("5.3.9", False),
        ("9.0.0", False),
    ],
)
def test_wpscan_multi_range(version: str, affected: bool) -> None:
    (advisory,) = parse_wpscan_package(
        sample("advisories/plugins_vulnerable-multi-range.json"),
        slug="multi",
        kind=PackageType.PLUGIN,
    )
    assert advisory.id == "WPSCAN-11111111-2222-3333-4444-555555555555"
    assert advisory.summary == "Multi-range backport (10.5.x / 10.4.x / 5.4.x)"
    assert advisory.affected[0].patched_versions == ("10.5.3", "10.4.4", "5.4.4")
    assert advisory.affects(WORDPRESS, "multi", version) is affected


def test_wpscan_keyed_by_slug_with_single_range() -> None:
    body = {
        "akismet": {
            "vulnerabilities": [
                {"id": "abc", "title": "XSS", "fixed_in": "5.0", "references": {"cve": ["2024-1"]}}
            ]
        }
    }
    (advisory,) = parse_wpscan_package(json.dumps(body), slug="akismet", kind=PackageType.PLUGIN)
    assert advisory.aliases == ("CVE-2024-1",)
    assert advisory.affects(WORDPRESS, "akismet", "4.9")
    assert not advisory.affects(WORDPRESS, "akismet", "5.0")


def test_wpscan_rejects() -> None:
    with pytest.raises(InvalidFeed, match="WPScan"):
        parse_wpscan_package(b'{"vulnerabilities": "many"}', slug="x", kind=PackageType.PLUGIN)
    with pytest.raises(InvalidFeed, match="WPScan"):
        parse_wpscan_package(
            b'{"vulnerabilities": [{"id": "1", "title": "t", "fixed_in": "; rm -rf"}]}',
            slug="x",
            kind=PackageType.PLUGIN,
        )


def test_wpscan_core_release() -> None:
    release = parse_wpscan_core_release(sample("advisories/wordpresses_40.json"))
    assert (release.release_date, release.status) == (date(2014, 9, 4), "latest")
    with pytest.raises(InvalidFeed, match="release_date"):
        parse_wpscan_core_release(b'{"release_date": "soon", "status": "latest"}')
