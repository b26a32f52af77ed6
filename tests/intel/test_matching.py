"""Matching: site software + advisories + catalogue -> findings (pure, table-driven)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.wordfence import parse_wordfence
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.catalogue import UNREACHABLE, CatalogueEntry, VendorRelease
from sitekeeper.domain.findings import (
    FINGERPRINT,
    POSSIBLE,
    UNKNOWN_SOURCE,
    UPDATE,
    VULNERABILITY,
    Software,
)
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.intel.branches import split_by_branch
from sitekeeper.intel.matching import AdvisoryIndex, match
from sitekeeper.intel.osv import parse_osv
from tests.intel.samples import sample

WP = WORDPRESS


def _advisory(
    slug: str,
    ranges: tuple[VersionRange, ...],
    *,
    type_: PackageType = PackageType.PLUGIN,
    ident: str = "ADV-1",
    eco: Ecosystem = WP,
) -> Advisory:
    package = AffectedPackage(eco, slug, type_, AffectedRanges(eco, ranges))
    return Advisory(
        id=ident,
        aliases=("CVE-2099-0001",),
        summary="x",
        severity="high",
        cvss_score=None,
        cvss_vector=None,
        published=None,
        modified=None,
        affected=(package,),
    )


def _sw(
    package: str,
    version: str | None,
    *,
    type_: str = "plugin",
    candidates: tuple[str, ...] = (),
    source: str = "wordpress.org",
    basis: str = "inventory",
    site: int = 1,
    eco: Ecosystem = WP,
) -> Software:
    return Software(site, eco, type_, package, version, candidates, basis, source)


WORDFENCE = parse_wordfence(sample("advisories/wordfence_v2_record_shape.json"))


@pytest.mark.parametrize(
    ("software", "hit"),
    [
        (_sw("foo-bar", "3.5"), True),  # inclusive upper bound
        (_sw("foo-bar", "3.5.1"), False),
        (_sw("foo-bar", "1.0"), True),
        (_sw("wpbaz", "4.9.2", type_="theme"), True),  # a single listed version
        (_sw("wpbaz", "4.9.1", type_="theme"), False),
        (_sw("wpbaz", "4.9.2"), False),  # a plugin with the theme's slug is another package
        (_sw("other", "1.0"), False),
    ],
)
def test_wordfence_records_hit_exactly_their_versions(software: Software, hit: bool) -> None:
    found = [f for f in match([software], AdvisoryIndex(WORDFENCE), {}) if f.kind == VULNERABILITY]
    assert bool(found) is hit
    if hit:
        assert found[0].aliases == ("CVE-2025-2537",)
        assert found[0].severity == "medium"
        assert found[0].certainty == "certain"


def test_backported_fix_does_not_flag_the_older_branch() -> None:
    """ "fixed in 6.4.3" with 6.3.3 released the same day: 6.3.3 is safe, 6.3.2 is not."""
    from datetime import UTC, datetime

    day = datetime(2024, 1, 30, tzinfo=UTC)
    earlier = datetime(2023, 10, 12, tzinfo=UTC)
    releases = [
        VendorRelease("6.3.2", earlier),
        VendorRelease("6.3.3", day),
        VendorRelease("6.4.2", earlier),
        VendorRelease("6.4.3", day),
    ]
    base = AffectedRanges(WP, (VersionRange(introduced="6.0", fixed="6.4.3"),))
    split = split_by_branch(base, releases)
    advisory = _advisory("wordpress", split.ranges, type_=PackageType.CORE)
    index = AdvisoryIndex([advisory])
    core = {v: _sw("wordpress", v, type_="core") for v in ("6.3.2", "6.3.3", "6.4.2", "6.4.3")}
    hits = {
        v: [f for f in match([s], index, {}) if f.kind == VULNERABILITY] for v, s in core.items()
    }
    assert {v for v, found in hits.items() if found} == {"6.3.2", "6.4.2"}
    assert hits["6.3.2"][0].fixed_in == "6.3.3"  # the fix on the site's own branch
    assert hits["6.4.2"][0].fixed_in == "6.4.3"


def test_candidate_range_is_only_possible() -> None:
    advisory = _advisory("wordpress", (VersionRange(fixed="6.4.3"),), type_=PackageType.CORE)
    entry = CatalogueEntry(latest="6.5", releases=("6.4.1", "6.4.2", "6.4.3", "6.5"))
    fingerprinted = _sw(
        "wordpress", None, type_="core", candidates=(">=6.4 <6.5",), basis=FINGERPRINT
    )
    found = match(
        [fingerprinted], AdvisoryIndex([advisory]), {("wordpress", "core", "wordpress"): entry}
    )
    vulns = [f for f in found if f.kind == VULNERABILITY]
    assert [(v.certainty, v.basis) for v in vulns] == [(POSSIBLE, FINGERPRINT)]
    assert not [f for f in found if f.kind == UPDATE]  # a range cannot say what is pending
    safe = _sw("wordpress", None, type_="core", candidates=("6.4.3", "6.5"), basis=FINGERPRINT)
    assert not match([safe], AdvisoryIndex([advisory]), {})


def test_drupal_osv_matches_legacy_contrib_versions() -> None:
    advisory = parse_osv(sample("advisories/DRUPAL-CONTRIB-2021-025.json"))
    package = advisory.affected[0]
    affected = [v for v in ("8.x-1.0", "8.x-9.9", "99.0.0") if package.affects(v)]
    assert affected, "the sample must affect something for this test to mean anything"
    site = _sw(package.slug, affected[0], type_="module", eco=DRUPAL, source="drupal.org")
    found = match([site], AdvisoryIndex([advisory]), {})
    assert [f.advisory_id for f in found if f.kind == VULNERABILITY] == [advisory.id]


KEY = ("wordpress", "plugin", "akismet")


@pytest.mark.parametrize(
    ("software", "catalogue", "expected"),
    [
        (_sw("akismet", "5.0"), {KEY: CatalogueEntry(latest="5.3")}, (UPDATE, "5.3", False)),
        (_sw("akismet", "5.3"), {KEY: CatalogueEntry(latest="5.3")}, None),
        (
            _sw("akismet", "5.0"),
            {KEY: CatalogueEntry(latest="5.3", security_releases=("5.2",))},
            (UPDATE, "5.3", True),
        ),
        (
            _sw("akismet", "5.0"),
            {KEY: CatalogueEntry(latest="5.3", insecure=frozenset({"5.0"}))},
            (UPDATE, "5.3", True),
        ),
        (_sw("akismet", "5.0"), {}, None),  # not polled yet: nothing known, no finding
        (  # its feed failed before it was ever read (offline): not an unknown source
            _sw("akismet", "5.0"),
            {KEY: CatalogueEntry(latest=None, status=UNREACHABLE)},
            None,
        ),
        (  # a premium plugin is never "up to date" just because wordpress.org has its slug
            _sw("akismet", "5.3", source="https://vendor.example/updates"),
            {KEY: CatalogueEntry(latest="5.3")},
            (UNKNOWN_SOURCE, None, False),
        ),
        (
            _sw("akismet", "5.0"),
            {KEY: CatalogueEntry(latest=None, status="not-found")},
            (UNKNOWN_SOURCE, None, False),
        ),
    ],
)
def test_updates(
    software: Software,
    catalogue: dict[tuple[str, str, str], CatalogueEntry],
    expected: tuple[str, str | None, bool] | None,
) -> None:
    found = match([software], AdvisoryIndex([]), catalogue)
    if expected is None:
        assert found == []
    else:
        assert [(f.kind, f.latest, f.security) for f in found] == [expected]


def test_drupal_update_stays_on_a_supported_branch() -> None:
    key = ("drupal", "module", "views_bulk")
    entry = CatalogueEntry(
        latest="4.2.0",
        branch_latest={"8.x-3.x": "8.x-3.9", "4.2.x": "4.2.0"},
        supported_branches=("8.x-3.", "4.2."),
    )
    site = _sw("views_bulk", "8.x-3.1", type_="module", eco=DRUPAL, source="drupal.org")
    [finding] = match([site], AdvisoryIndex([]), {key: entry})
    assert (finding.branch_update, finding.major_update, finding.latest) == (
        "8.x-3.9", "4.2.0", "4.2.0",
    )  # fmt: skip
    unsupported = CatalogueEntry(latest="4.2.0", branch_latest=entry.branch_latest)
    [finding] = match([site], AdvisoryIndex([]), {key: unsupported})
    assert (finding.branch_update, finding.major_update) == ("8.x-3.9", "4.2.0")


WP_CORE = ("wordpress", "core", "wordpress")
# stable-check as the vendor has it: old branches end "outdated", their older releases insecure
WP_CATALOGUE = CatalogueEntry(
    latest="7.1",
    branch_latest={"5.3": "5.3.23", "6.8": "6.8.3", "7.1": "7.1"},
    insecure=frozenset({"5.3.18", "5.3.22", "6.8.2"}),
    releases=("5.3.18", "5.3.22", "5.3.23", "6.8.2", "6.8.3", "7.1"),
)


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        # the branch's security release and the newest release, each with what it fixes
        ("5.3.18", ("5.3.23", True, "7.1", True)),
        ("6.8.2", ("6.8.3", True, "7.1", True)),
        ("6.8.3", (None, False, "7.1", False)),  # patched branch: only the major waits
        ("7.0", (None, False, "7.1", False)),  # a branch the vendor does not list
    ],
)
def test_updates_offer_the_own_branch_and_the_newest_release(
    installed: str, expected: tuple[str | None, bool, str | None, bool]
) -> None:
    core = Software(1, WP, "core", "wordpress", installed, update_source="wordpress.org")
    [finding] = match([core], AdvisoryIndex([]), {WP_CORE: WP_CATALOGUE})
    assert (
        finding.branch_update, finding.branch_security, finding.major_update, finding.security
    ) == expected  # fmt: skip
    assert finding.data()["branch_update"] == expected[0]


def test_a_current_release_on_the_newest_branch_has_no_major_update() -> None:
    core = Software(1, WP, "core", "wordpress", "7.0.1", update_source="wordpress.org")
    entry = CatalogueEntry(latest="7.0.2", branch_latest={"7.0": "7.0.2"}, insecure=frozenset())
    [finding] = match([core], AdvisoryIndex([]), {WP_CORE: entry})
    assert (finding.branch_update, finding.major_update, finding.latest) == ("7.0.2", None, "7.0.2")


def test_an_unsupported_drupal_core_branch_moves_to_the_oldest_supported_minor() -> None:
    key = ("drupal", "core", "drupal")
    entry = CatalogueEntry(
        latest="11.2.5",
        branch_latest={"10.2.x": "10.2.11", "10.4.x": "10.4.9", "10.5.x": "10.5.4",
                       "11.2.x": "11.2.5"},
        supported_branches=("10.4.", "10.5.", "11.2."),
        security_releases=("10.4.9",),
    )  # fmt: skip
    site = _sw("drupal", "10.2.3", type_="core", eco=DRUPAL, source="drupal.org")
    [finding] = match([site], AdvisoryIndex([]), {key: entry})
    assert (finding.branch_update, finding.branch_security, finding.major_update) == (
        "10.4.9", True, "11.2.5",
    )  # fmt: skip


def test_a_plugin_without_branches_has_its_latest_as_the_one_update() -> None:
    [finding] = match([_sw("akismet", "5.0")], AdvisoryIndex([]), {KEY: CatalogueEntry("5.3")})
    assert (finding.branch_update, finding.major_update) == ("5.3", None)


def test_revoked_project_is_a_security_finding_even_when_current() -> None:
    key = ("drupal", "module", "gone")
    site = _sw("gone", "8.x-1.0", type_="module", eco=DRUPAL, source="drupal.org")
    [finding] = match([site], AdvisoryIndex([]), {key: CatalogueEntry("8.x-1.0", "revoked")})
    assert (finding.kind, finding.security, finding.note) == (UPDATE, True, "revoked")


def test_vulnerable_package_update_carries_its_advisory_ids() -> None:
    advisory = _advisory("akismet", (VersionRange(fixed="5.1"),), ident="WF-9")
    found = match([_sw("akismet", "5.0")], AdvisoryIndex([advisory]), {KEY: CatalogueEntry("5.3")})
    update = next(f for f in found if f.kind == UPDATE)
    assert (update.security, update.advisory_ids) == (True, ("WF-9",))


_VERSIONS = st.builds(
    lambda parts: ".".join(str(p) for p in parts),
    st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=3),
)


@given(
    sites=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _VERSIONS), max_size=30),
    bounds=st.lists(st.tuples(st.sampled_from(["a", "b", "d"]), _VERSIONS, _VERSIONS), max_size=6),
)
def test_indexed_matching_equals_the_naive_loop(
    sites: list[tuple[str, str]], bounds: list[tuple[str, str, str]]
) -> None:
    """The (ecosystem, package) index finds exactly what checking every pair would."""
    advisories = [
        _advisory(slug, (VersionRange(introduced=low, fixed=high),), ident=f"A{i}")
        for i, (slug, low, high) in enumerate(bounds)
    ]
    software = [_sw(slug, version, site=i) for i, (slug, version) in enumerate(sites)]
    indexed = {
        (f.site_id, f.advisory_id)
        for f in match(software, AdvisoryIndex(advisories), {})
        if f.kind == VULNERABILITY
    }
    naive = {
        (s.site_id, a.id)
        for s in software
        for a in advisories
        if s.version is not None and a.affects(WP, s.package, s.version)
    }
    assert indexed == naive
