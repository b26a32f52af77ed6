"""Affected ranges per branch, and Composer constraints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.ranges import (
    AffectedRanges,
    VersionRange,
    constraint_to_ranges,
    parse_constraint,
    satisfies,
)
from sitekeeper.domain.versions import Ecosystem

CONSTRAINTS = [
    # constraint, version, satisfied
    ("^1.2", "1.2.0", True),
    ("^1.2", "1.9.9", True),
    ("^1.2", "2.0.0", False),
    ("^1.2", "2.0.0-beta1", False),  # Composer: "<2.0.0.0-dev" keeps 2.0's pre-releases out
    ("^1.2", "1.1.9", False),
    ("^0.3", "0.3.5", True),
    ("^0.3", "0.4.0", False),
    ("^0.0.3", "0.0.4", False),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.9.0", True),
    ("~1.2", "2.0.0", False),
    (">=1.0 <2.0", "1.5", True),
    (">=1.0 <2.0", "2.0", False),
    (">=1.0,<2.0", "0.9", False),
    (">= 8.0.0 <8.8.11", "8.8.10", True),  # Drupal's OSV writes a space after the operator
    (">= 8.0.0 <8.8.11", "8.8.11", False),
    ("<2.5.0 || 3.0.0 || 3.0.1", "2.4.9", True),
    ("<2.5.0 || 3.0.0 || 3.0.1", "3.0.1", True),
    ("<2.5.0 || 3.0.0 || 3.0.1", "3.0.2", False),
    ("<2.5.0 | 3.0.0", "3.0.0", True),
    ("*", "0.0.1", True),
    ("1.2.*", "1.2.7", True),
    ("1.2.*", "1.3.0", False),
    ("1.2.x", "1.2.0", True),
    ("1.0 - 2.0", "2.0.9", True),  # a partial upper bound takes the whole 2.0 series
    ("1.0 - 2.0", "2.1.0", False),
    ("1.0.0 - 2.1.0", "2.1.0", True),
    ("1.0.0 - 2.1.0", "2.1.1", False),
    ("!=1.5", "1.5.0", False),
    ("!=1.5", "1.5.1", True),
    ("=1.5", "1.5.0", True),
    ("v1.2.3", "1.2.3", True),
    (">1.0", "1.0.0", False),
    ("<=1.0", "1.0.0", True),
    ("^1.2@dev", "1.3.0", True),
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CONSTRAINTS)
def test_satisfies(constraint: str, version: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("<2.5.0 || 3.0.0 || 3.0.1", "8.x-2.4", True),
        ("<2.5.0 || 3.0.0 || 3.0.1", "8.x-2.5", False),
        (">=8.0.0 <9.4.14", "9.4.13", True),
        ("^2.0", "8.x-2.0-beta3", True),  # ^2.0 starts at 2.0.0.0-dev, below beta3
    ],
)
def test_satisfies_drupal_versions(constraint: str, version: str, expected: bool) -> None:
    assert satisfies(version, constraint, DRUPAL) is expected


@pytest.mark.parametrize("bad", ["", "   ", ">=", "^abc", "1.0 ||", ">=1.0 <banana"])
def test_parse_constraint_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"constraint|version|alternative"):
        parse_constraint(bad)


def test_parse_constraint_structure() -> None:
    parsed = parse_constraint(">=1.0 <2.0 || ^3.1")
    assert [[(c.op, c.version) for c in conj] for conj in parsed.alternatives] == [
        [(">=", "1.0.0.0-dev"), ("<", "2.0.0.0-dev")],
        [(">=", "3.1.0.0-dev"), ("<", "4.0.0.0-dev")],
    ]


_NUM = st.integers(min_value=0, max_value=30)


@given(_NUM.filter(bool), _NUM, _NUM, _NUM, _NUM, _NUM)
def test_caret_is_same_major_at_or_above(
    major: int, minor: int, patch: int, v_major: int, v_minor: int, v_patch: int
) -> None:
    version = f"{v_major}.{v_minor}.{v_patch}"
    expected = v_major == major and (v_minor, v_patch) >= (minor, patch)
    assert satisfies(version, f"^{major}.{minor}.{patch}") is expected


@given(_NUM, _NUM, _NUM, _NUM, _NUM, _NUM)
def test_tilde_three_parts_is_same_minor_at_or_above(
    major: int, minor: int, patch: int, v_major: int, v_minor: int, v_patch: int
) -> None:
    version = f"{v_major}.{v_minor}.{v_patch}"
    expected = (v_major, v_minor) == (major, minor) and v_patch >= patch
    assert satisfies(version, f"~{major}.{minor}.{patch}") is expected


@given(_NUM, _NUM, _NUM, _NUM)
def test_range_and_its_complement_partition(low: int, high: int, v1: int, v2: int) -> None:
    version = f"{v1}.{v2}"
    inside = satisfies(version, f">={low}.0 <{high}.0")
    outside = satisfies(version, f"<{low}.0 || >={high}.0")
    assert inside != outside


RANGES = [
    # range, ecosystem, version, contained
    (VersionRange(introduced="8.0.0", fixed="8.8.11"), DRUPAL, "8.8.10", True),
    (VersionRange(introduced="8.0.0", fixed="8.8.11"), DRUPAL, "8.8.11", False),
    (VersionRange(introduced="8.0.0", fixed="8.8.11"), DRUPAL, "7.98", False),
    (VersionRange(introduced="0", fixed="2.5.0"), DRUPAL, "8.x-2.4", True),
    (VersionRange(introduced="3.0.0", last_affected="3.0.0"), DRUPAL, "3.0.0", True),
    (VersionRange(introduced="3.0.0", last_affected="3.0.0"), DRUPAL, "3.0.1", False),
    (VersionRange(last_affected="3.5"), WORDPRESS, "3.5", True),
    (VersionRange(last_affected="3.5"), WORDPRESS, "3.5.1", False),
    (VersionRange(fixed="6.4.3"), WORDPRESS, "6.4", True),
    (
        VersionRange(introduced="4.9.2", introduced_exclusive=True),
        WORDPRESS,
        "4.9.2",
        False,
    ),
    (VersionRange(introduced="4.9.2"), WORDPRESS, "9.0", True),
    (VersionRange(introduced="1.7.0", last_affected="3.9.22"), JOOMLA, "3.9.22", True),
    (VersionRange(introduced="1.7.0", last_affected="3.9.22"), JOOMLA, "3.9.23", False),
]


@pytest.mark.parametrize(("item", "ecosystem", "version", "expected"), RANGES)
def test_version_range_contains(
    item: VersionRange, ecosystem: Ecosystem, version: str, expected: bool
) -> None:
    assert item.contains(version, ecosystem) is expected


def test_version_range_refuses_fixed_and_last_affected() -> None:
    with pytest.raises(ValueError, match="either"):
        VersionRange(fixed="1.0", last_affected="1.0")


def test_affected_ranges_prefers_the_version_branch() -> None:
    """The back-port trap: "< 5.8.3" but 5.7 got its own fix in 5.7.5."""
    affected = AffectedRanges(
        WORDPRESS,
        (
            VersionRange(fixed="5.8.3"),
            VersionRange(fixed="5.8.3", branch="5.8"),
            VersionRange(fixed="5.7.5", branch="5.7"),
        ),
    )
    assert affected.contains("5.7.4")
    assert not affected.contains("5.7.5")
    assert affected.contains("5.8.2")
    assert not affected.contains("5.8.3")
    assert affected.contains("5.6.1")  # no vendor data for 5.6: the flat range decides
    assert set(affected.branches()) == {None, "5.8", "5.7"}


def test_affected_ranges_listed_versions() -> None:
    affected = AffectedRanges(Ecosystem.PACKAGIST, (), ("1.0.0",))
    assert affected.contains("1.0")
    assert not affected.contains("1.0.1")


@pytest.mark.parametrize(
    ("item", "version", "expected"),
    [
        (VersionRange(introduced="6.4.0", fixed="6.4.3"), "6.4", True),
        (VersionRange(introduced="6.4.0", fixed="6.4.3"), "6.4.3", False),
        (VersionRange(fixed="6.5.0"), "6.5", False),  # fixed in the release WordPress calls 6.5
        (VersionRange(fixed="6.5.0"), "6.5-RC1", True),
        (VersionRange(last_affected="4.0"), "4.0.0", True),
    ],
)
def test_wordpress_bounds_name_releases(item: VersionRange, version: str, expected: bool) -> None:
    assert item.contains(version, WORDPRESS) is expected


@pytest.mark.parametrize(
    ("constraint", "ranges"),
    [
        (
            ">=7.0 <7.74 || >= 8.0.0 <8.8.11",
            (
                VersionRange(introduced="7.0", fixed="7.74"),
                VersionRange(introduced="8.0.0", fixed="8.8.11"),
            ),
        ),
        ("<2.5.0 || 3.0.0", (VersionRange(fixed="2.5.0"), VersionRange("3.0.0", None, "3.0.0"))),
        (">1.0 <=2.0", (VersionRange("1.0", None, "2.0", introduced_exclusive=True),)),
        ("*", (VersionRange(),)),
    ],
)
def test_constraint_to_ranges(constraint: str, ranges: tuple[VersionRange, ...]) -> None:
    assert constraint_to_ranges(parse_constraint(constraint)) == ranges


@pytest.mark.parametrize("constraint", ["!=1.0", ">=1.0 >=1.1", "<1 <2"])
def test_constraint_to_ranges_rejects(constraint: str) -> None:
    with pytest.raises(ValueError, match="ranges"):
        constraint_to_ranges(parse_constraint(constraint))
