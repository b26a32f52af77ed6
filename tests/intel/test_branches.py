"""Per-branch normalisation: the back-port trap from the formats README."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sitekeeper.cms.drupal.releases import parse_release_history, releases_from_drupal
from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.wordpress.api import parse_stable_check, releases_from_stable_check
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import VendorRelease
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.intel.branches import (
    split_by_branch,
)
from sitekeeper.intel.osv import parse_osv
from tests.intel.samples import sample

WP = WORDPRESS

# stable-check as WordPress would have answered after 5.8.3 / 5.7.5 / ... shipped:
# every release before each branch's back-ported fix is insecure.
STABLE_CHECK = {
    **{v: "insecure" for v in ["5.6", "5.6.1", "5.6.2", "5.6.3"]},  # 5.6 never fixed here
    **{v: "insecure" for v in ["5.7", "5.7.1", "5.7.2", "5.7.3", "5.7.4"]},
    "5.7.5": "outdated",
    "5.7.6": "outdated",
    **{v: "insecure" for v in ["5.8", "5.8.1", "5.8.2"]},
    "5.8.3": "outdated",
    "5.9": "latest",
}


@pytest.fixture
def wordpress_flat() -> AffectedRanges:
    """An advisory that only says "< 5.8.3"."""
    return AffectedRanges(WP, (VersionRange(fixed="5.8.3"),))


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("5.7.4", True),
        ("5.7.5", False),  # the trap: fixed on the 5.7 branch
        ("5.7.6", False),
        ("5.8.2", True),
        ("5.8.3", False),
        ("5.9", False),
        ("5.6.3", True),  # no fix on 5.6: still affected
        ("5.5.1", True),  # a branch the vendor list lacks: the flat range decides
    ],
)
def test_wordpress_stable_check_backport(
    wordpress_flat: AffectedRanges, version: str, affected: bool
) -> None:
    releases = releases_from_stable_check(parse_stable_check(json.dumps(STABLE_CHECK)))
    split = split_by_branch(wordpress_flat, releases)
    assert split.contains(version) is affected


def test_the_flat_range_alone_over_reports(wordpress_flat: AffectedRanges) -> None:
    """Without normalisation 5.7.5 would be flagged: the reason for split_by_branch."""
    assert wordpress_flat.contains("5.7.5")


def test_split_ranges_are_tagged_by_branch(wordpress_flat: AffectedRanges) -> None:
    releases = releases_from_stable_check(parse_stable_check(json.dumps(STABLE_CHECK)))
    branches = split_by_branch(wordpress_flat, releases).branches()
    assert branches[None] == (VersionRange(fixed="5.8.3"),)
    assert branches["5.8"] == (VersionRange(fixed="5.8.3", branch="5.8"),)
    assert branches["5.7"] == (VersionRange(fixed="5.7.5", branch="5.7"),)
    assert branches["5.6"] == (VersionRange(branch="5.6"),)
    assert "5.9" not in branches


DAY = timedelta(days=1)
FIX_DAY = datetime(2023, 4, 19, 17, 0, tzinfo=UTC)


def _drupal_releases() -> list[VendorRelease]:
    return [
        VendorRelease("9.3.22", FIX_DAY - 200 * DAY, security_update=True),  # unsupported branch
        VendorRelease("9.4.13", FIX_DAY - 30 * DAY),
        VendorRelease("9.4.14", FIX_DAY, security_update=True),
        VendorRelease("9.4.15", FIX_DAY + 20 * DAY),
        VendorRelease("9.5.7", FIX_DAY - 30 * DAY),
        VendorRelease("9.5.8", FIX_DAY + DAY / 2, security_update=True),  # next morning in UTC
        VendorRelease("9.5.x-dev", FIX_DAY + 90 * DAY),  # snapshots never count as a fix
        VendorRelease("10.0.8", FIX_DAY, security_update=True),
    ]


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("9.3.22", True),  # nothing shipped on 9.3 with the fix
        ("9.4.13", True),
        ("9.4.14", False),  # the back-port, found by its date and security flag
        ("9.5.7", True),
        ("9.5.8", False),
        ("10.0.0", False),
    ],
)
def test_drupal_dates_find_the_backport(version: str, affected: bool) -> None:
    flat = AffectedRanges(DRUPAL, (VersionRange(introduced="8.0.0", fixed="9.5.8"),))
    split = split_by_branch(flat, _drupal_releases())
    assert split.contains(version) is affected


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("8.x-1.0", True),
        ("8.x-1.1", True),
        ("8.x-1.2", False),  # security release on 8.x-1.x, same day as 8.x-2.2
        ("8.x-2.0", True),
        ("8.x-2.1", True),
        ("8.x-2.2", False),
        ("8.x-3.0-beta2", False),
    ],
)
def test_drupal_release_history_sample(version: str, affected: bool) -> None:
    """OSV writes the contrib fix as "2.2.0"; the history says 8.x-2.2 and 8.x-1.2."""
    history = parse_release_history(
        sample("drupal/fixture_aaa_update_test.sec.8.x-1.2_8.x-2.2.xml")
    )
    assert history is not None
    flat = AffectedRanges(DRUPAL, (VersionRange(introduced="0", fixed="2.2.0"),))
    split = split_by_branch(flat, releases_from_drupal(history))
    assert split.contains(version) is affected
    assert flat.contains("8.x-1.2")  # what the flat range alone would have said


def test_drupal_old_branch_without_fix_stays_affected() -> None:
    history = parse_release_history(sample("drupal/fixture_semver_test.sec.8.1.2_insecure.xml"))
    assert history is not None
    flat = AffectedRanges(DRUPAL, (VersionRange(fixed="8.1.2"),))
    split = split_by_branch(flat, releases_from_drupal(history))
    assert split.contains("8.0.2")
    assert split.contains("8.1.1")
    assert not split.contains("8.1.2")


def test_osv_advisory_split_with_release_history() -> None:
    """The real DRUPAL-CORE-2023-005 ranges stay right after normalisation."""
    advisory = parse_osv(sample("advisories/DRUPAL-CORE-2023-005.json"))
    (package,) = advisory.affected
    split = split_by_branch(package.ranges, _drupal_releases())
    assert split.contains("9.4.13")
    assert not split.contains("9.4.14")
    assert split.contains("9.5.7")
    assert not split.contains("9.5.8")
    assert split.contains("10.0.7")
    assert not split.contains("10.0.8")


def test_open_and_branch_tagged_ranges_are_left_alone() -> None:
    affected = AffectedRanges(
        WP, (VersionRange(introduced="6.0"), VersionRange(fixed="5.7.5", branch="5.7"))
    )
    releases = releases_from_stable_check(parse_stable_check(json.dumps(STABLE_CHECK)))
    assert split_by_branch(affected, releases) == affected


def test_every_range_still_counts_on_a_split_branch() -> None:
    """A second, open range (a regression never fixed) must survive the 5.7 back-port."""
    affected = AffectedRanges(WP, (VersionRange(fixed="5.8.3"), VersionRange(introduced="5.7.6")))
    releases = releases_from_stable_check(parse_stable_check(json.dumps(STABLE_CHECK)))
    split = split_by_branch(affected, releases)
    assert not split.contains("5.7.5")
    assert split.contains("5.7.6")
    assert split.contains("5.9")
    assert split.contains("5.8.2")
