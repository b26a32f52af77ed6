"""Version comparison: PHP's version_compare, Composer, Drupal and the ecosystems."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekeeper.cms.drupal.versions import DRUPAL, DrupalVersion, drupal_branch, drupal_compare
from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.versions import (
    COMPOSER_SCHEME,
    PHP_SCHEME,
    Ecosystem,
    composer_compare,
    composer_normalize,
    php_canonicalize,
    php_version_compare,
)

PHP = shutil.which("php")
needs_php = pytest.mark.skipif(PHP is None, reason="php CLI not installed")

# Known outputs of PHP's version_compare (PHP manual examples and its documented order).
PHP_TABLE = [
    ("5.2", "5.2.0", -1),  # the manual: a missing part is lower than 0
    ("6.4", "6.4.0", -1),
    ("1.0rc1", "1.0", -1),
    ("1.0", "1.0.1", -1),
    ("1.10", "1.9", 1),
    ("5.3.0-dev", "5.3.0", -1),
    ("1.0-dev", "1.0alpha1", -1),
    ("1.0a1", "1.0alpha1", 0),
    ("1.0alpha1", "1.0beta1", -1),
    ("1.0b1", "1.0beta1", 0),
    ("1.0beta1", "1.0RC1", -1),
    ("1.0RC1", "1.0rc1", 0),
    ("1.0rc1", "1.0", -1),
    ("1.0", "1.0pl1", -1),
    ("1.0pl1", "1.0p1", 0),
    ("1.0-foo", "1.0-dev", -1),  # any other string < dev
    ("1.0-abc", "1.0-dev", 1),  # ...unless it starts like a known form ("a" = alpha)
    ("1_0", "1.0", 0),
    ("1+0", "1-0", 0),
    ("4.3.2RC1", "4.3.2.RC.1", 0),
    ("", "", 0),
    ("", "1", -1),
    ("x", "", 1),
    ("1..2", "1.2", 0),
    ("1.0-", "1.0-", -1),  # PHP's quirk: a trailing separator is below everything, even itself
    ("5.7.5", "5.8.3", -1),
    ("6.8-alpha-59551", "6.7.1", 1),
    ("6.8-alpha-59551", "6.8", -1),
]


@pytest.mark.parametrize(("left", "right", "expected"), PHP_TABLE)
def test_php_version_compare_known_outputs(left: str, right: str, expected: int) -> None:
    assert php_version_compare(left, right) == expected


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("4.3.2RC1", "4.3.2.RC.1"), ("1.0-dev", "1.0.dev"), ("1__0", "1.0"), ("1.0pl1", "1.0.pl.1")],
)
def test_php_canonicalize(raw: str, canonical: str) -> None:
    assert php_canonicalize(raw) == canonical


# Well-formed versions: parts joined by one separator, as vendors write them. PHP itself is
# not an order on malformed input (see the trailing-separator quirk above).
_PART = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.sampled_from(["dev", "alpha", "a", "beta", "b", "RC", "rc", "pl", "p", "foo", "x"]),
)
VERSIONS = st.builds(
    lambda first, rest: str(first) + "".join(sep + part for sep, part in rest),
    st.integers(min_value=0, max_value=99),
    st.lists(st.tuples(st.sampled_from([".", "-", "_", "+", ""]), _PART), max_size=5),
)


@given(VERSIONS)
def test_php_compare_reflexive(version: str) -> None:
    assert php_version_compare(version, version) == 0


@given(VERSIONS, VERSIONS)
def test_php_compare_antisymmetric(left: str, right: str) -> None:
    assert php_version_compare(left, right) == -php_version_compare(right, left)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_php_compare_transitive(a: str, b: str, c: str) -> None:
    x, y, z = sorted([a, b, c], key=WORDPRESS.sort_key())
    assert php_version_compare(x, y) <= 0
    assert php_version_compare(y, z) <= 0
    assert php_version_compare(x, z) <= 0
    if php_version_compare(x, y) == 0 and php_version_compare(y, z) == 0:
        assert php_version_compare(x, z) == 0


def _php_batch(pairs: list[tuple[str, str]]) -> list[int]:
    assert PHP is not None
    script = (
        "$pairs = json_decode(stream_get_contents(STDIN));"
        "$out = [];"
        "foreach ($pairs as $p) { $out[] = version_compare($p[0], $p[1]); }"
        "echo json_encode($out);"
    )
    done = subprocess.run(
        [PHP, "-r", script], input=json.dumps(pairs), capture_output=True, text=True, check=True
    )
    result: list[int] = json.loads(done.stdout)
    return result


@needs_php
@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="0123456789.-_+#abdeplRCrcvx ", max_size=12),
            st.text(alphabet="0123456789.-_+#abdeplRCrcvx ", max_size=12),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_php_compare_agrees_with_real_php_on_anything(pairs: list[tuple[str, str]]) -> None:
    """Differential test against the PHP interpreter, quirks included."""
    assert [php_version_compare(a, b) for a, b in pairs] == _php_batch(pairs)


@needs_php
def test_php_compare_agrees_with_real_php_on_many_realistic_pairs() -> None:
    rng = random.Random(20261126)
    words = ["", "dev", "alpha", "a", "beta", "b", "RC", "rc", "pl", "p", "x", "é", "#"]
    seps = [".", "-", "_", "+", "", ".."]

    def one() -> str:
        parts = [str(rng.randint(0, 12))]
        for _ in range(rng.randint(0, 4)):
            parts.append(rng.choice(seps) + rng.choice([str(rng.randint(0, 12)), *words]))
        return "".join(parts)

    pairs = [(one(), one()) for _ in range(3000)]
    assert [php_version_compare(a, b) for a, b in pairs] == _php_batch(pairs)


COMPOSER_NORMAL = [
    ("1.2", "1.2.0.0"),
    ("v1.2.3", "1.2.3.0"),
    ("2.0.0-rc1", "2.0.0.0-RC1"),
    ("2.0-beta3", "2.0.0.0-beta3"),
    ("1.0.0-alpha.2", "1.0.0.0-alpha2"),
    ("1.0-stable", "1.0.0.0"),
    ("1.0.0-pl1", "1.0.0.0-patch1"),
    ("2.0.x-dev", "2.0.9999999.9999999-dev"),
    ("1.0-dev", "1.0.0.0-dev"),
]


@pytest.mark.parametrize(("raw", "normal"), COMPOSER_NORMAL)
def test_composer_normalize(raw: str, normal: str) -> None:
    assert composer_normalize(raw) == normal


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3.4.5", "1.0-foo", "dev-master"])
def test_composer_normalize_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="Composer"):
        composer_normalize(bad)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.2", "1.2.0", 0),  # unlike PHP: Composer pads to four parts first
        ("2.0.0-rc1", "2.0.0", -1),
        ("2.0.0-beta1", "2.0.0-rc1", -1),
        ("2.0.0-dev", "2.0.0-alpha1", -1),
        ("2.0.0-patch1", "2.0.0", 1),
        ("10.0.0", "9.9.9", 1),
    ],
)
def test_composer_compare(left: str, right: str, expected: int) -> None:
    assert composer_compare(left, right) == expected


DRUPAL_VERSIONS = [
    # text, core, major, minor, patch, extra, branch, composer
    ("10.2.3", None, 10, 2, 3, None, "10.2.x", "10.2.3"),
    ("7.98", None, 7, 98, None, None, "7.x", "7.98"),
    ("8.x-1.2", "8.x", 1, 2, None, None, "8.x-1.x", "1.2"),
    ("8.x-2.0-beta3", "8.x", 2, 0, None, "beta3", "8.x-2.x", "2.0-beta3"),
    ("2.0.3", None, 2, 0, 3, None, "2.0.x", "2.0.3"),
    ("3.0.0-rc1", None, 3, 0, 0, "rc1", "3.0.x", "3.0.0-rc1"),
    ("8.x-1.x-dev", "8.x", 1, None, None, "dev", "8.x-1.x", "1.x-dev"),
    ("2.0.x-dev", None, 2, 0, None, "dev", "2.0.x", "2.0.x-dev"),
    ("7.x-3.5", "7.x", 3, 5, None, None, "7.x-3.x", "3.5"),
]


@pytest.mark.parametrize(
    ("text", "core", "major", "minor", "patch", "extra", "branch", "composer"), DRUPAL_VERSIONS
)
def test_drupal_version_parse(
    text: str,
    core: str | None,
    major: int,
    minor: int | None,
    patch: int | None,
    extra: str | None,
    branch: str,
    composer: str,
) -> None:
    parsed = DrupalVersion.parse(text)
    assert (parsed.core, parsed.major, parsed.minor, parsed.patch, parsed.extra) == (
        core,
        major,
        minor,
        patch,
        extra,
    )
    assert parsed.branch() == branch == drupal_branch(text)
    assert parsed.branch_prefix() == branch[:-1]
    assert parsed.to_composer() == composer


@pytest.mark.parametrize(
    "bad", ["", "8.x", "8.x-1.x", "8.x-1.2.3", "banana", "1", "10.2.3-foo", "8.x-"]
)
def test_drupal_version_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="version"):
        DrupalVersion.parse(bad)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("8.x-2.4", "2.5.0", -1),  # a site's legacy version against an OSV bound
        ("8.x-2.5", "2.5.0", 0),
        ("8.x-2.0-beta3", "8.x-2.0", -1),
        ("3.0.0-rc1", "3.0.0", -1),
        ("10.0.0-alpha1", "10.0.0-beta1", -1),
        ("9.5.10", "9.5.8", 1),
        ("7.98", "7.100", -1),
    ],
)
def test_drupal_compare(left: str, right: str, expected: int) -> None:
    assert drupal_compare(left, right) == expected
    assert DRUPAL.compare(right, left) == -expected


@pytest.mark.parametrize(
    ("ecosystem", "version", "branch"),
    [
        (WORDPRESS, "5.7.5", "5.7"),
        (WORDPRESS, "6.4", "6.4"),
        (WORDPRESS, "6.8-alpha-59551", "6.8"),
        (JOOMLA, "3.9.22", "3.9"),
        (DRUPAL, "8.x-1.2", "8.x-1.x"),
        (DRUPAL, "2.5.0", "2.5.x"),
        (Ecosystem.PACKAGIST, "2.5.0", "2.5"),
    ],
)
def test_ecosystem_branch(ecosystem: Ecosystem, version: str, branch: str) -> None:
    assert ecosystem.branch(version) == branch


@pytest.mark.parametrize(
    ("osv", "name", "expected"),
    [
        ("Packagist", "symfony/http-kernel", Ecosystem.PACKAGIST),
        ("Packagist:https://repo.example", "acme/lib", Ecosystem.PACKAGIST),
    ],
)
def test_ecosystem_from_osv(osv: str, name: str, expected: Ecosystem) -> None:
    assert Ecosystem.from_osv(osv, name) is expected


def test_ecosystem_from_osv_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="npm"):
        Ecosystem.from_osv("npm", "left-pad")


def test_wordpress_and_drupal_disagree_on_missing_parts() -> None:
    """The reason comparators are per ecosystem: "6.4" < "6.4.0" in PHP, equal in Composer."""
    assert WORDPRESS.compare("6.4", "6.4.0") == -1
    assert Ecosystem.PACKAGIST.compare("6.4", "6.4.0") == 0


@pytest.mark.parametrize(
    ("version", "bound", "expected"),
    [
        ("6.4", "6.4.0", 0),  # WordPress's "6.4" is the release advisories call 6.4.0
        ("6.0", "6.0.0", 0),
        ("6.0", "6.0-beta1", 1),  # pre-releases keep their place
        ("6.8-alpha-59551", "6.8.0", -1),
        ("6.4", "6.4.1", -1),
        ("5.7.5", "5.8.3", -1),
    ],
)
def test_wordpress_bound_compare(version: str, bound: str, expected: int) -> None:
    assert WORDPRESS.bound_compare(version, bound) == expected
    assert WORDPRESS.bound_compare(bound, version) == -expected


_N = st.integers(min_value=0, max_value=50)


@given(st.tuples(_N, _N, _N), st.tuples(_N, _N, _N))
def test_drupal_semver_orders_like_tuples(left: tuple[int, ...], right: tuple[int, ...]) -> None:
    expected = (left > right) - (left < right)
    assert drupal_compare(".".join(map(str, left)), ".".join(map(str, right))) == expected


@given(st.tuples(_N, _N), st.tuples(_N, _N))
def test_drupal_legacy_contrib_orders_like_tuples(
    left: tuple[int, int], right: tuple[int, int]
) -> None:
    expected = (left > right) - (left < right)
    assert drupal_compare(f"8.x-{left[0]}.{left[1]}", f"8.x-{right[0]}.{right[1]}") == expected
    assert drupal_compare(f"8.x-{left[0]}.{left[1]}", f"{right[0]}.{right[1]}.0") == expected


@given(_N, _N, st.sampled_from(["alpha", "beta", "rc"]), st.integers(min_value=1, max_value=9))
def test_drupal_prereleases_come_before_the_release(
    major: int, minor: int, label: str, number: int
) -> None:
    assert drupal_compare(f"{major}.{minor}.0-{label}{number}", f"{major}.{minor}.0") == -1
    assert drupal_compare(f"8.x-{major}.{minor}-{label}{number}", f"8.x-{major}.{minor}") == -1


COMPOSER_VERSIONS = st.builds(
    lambda nums, suffix: ".".join(map(str, nums)) + suffix,
    st.lists(_N, min_size=1, max_size=4),
    st.sampled_from(["", "-dev", "-alpha1", "-beta2", "-RC1", "-rc3", "-patch1", "-p2", "-stable"]),
)


@given(COMPOSER_VERSIONS, COMPOSER_VERSIONS, COMPOSER_VERSIONS)
def test_composer_compare_is_a_total_order(a: str, b: str, c: str) -> None:
    assert composer_compare(a, a) == 0
    assert composer_compare(a, b) == -composer_compare(b, a)
    x, y, z = sorted([a, b, c], key=Ecosystem.PACKAGIST.sort_key())
    assert composer_compare(x, y) <= 0
    assert composer_compare(y, z) <= 0
    assert composer_compare(x, z) <= 0


@given(COMPOSER_VERSIONS)
def test_composer_normalize_is_idempotent(version: str) -> None:
    normal = composer_normalize(version)
    assert composer_normalize(normal) == normal


def test_pathological_inputs_do_not_exhaust_the_stack() -> None:
    deep = "#" + ".#" * 50_000
    assert php_version_compare(deep, "#") == 0  # PHP: every "#" part equals a number
    assert php_version_compare(deep + ".1", "#") == 1


@pytest.mark.parametrize("ecosystem", Ecosystem.known())
def test_ecosystems_refuse_absurdly_long_versions(ecosystem: Ecosystem) -> None:
    with pytest.raises(ValueError, match="characters"):
        ecosystem.compare("1." * 100, "1.0")
    with pytest.raises(ValueError, match="characters"):
        ecosystem.branch("1." * 100)


@pytest.mark.parametrize(
    ("eco", "version", "bounds", "inside"),
    [
        (DRUPAL, "10.1.6", ">=10.0 <11.0", True),
        (DRUPAL, "11.0.0", ">=10.0 <11.0", False),
        (DRUPAL, "9.5.11", ">=10.0 <11.0", False),
        (WORDPRESS, "6.4", ">=6.4.0 <6.5", True),  # "6.4" is the 6.4.0 release
        (JOOMLA, "5.3.2", ">5.3.2", False),
        (JOOMLA, "5.3.2", "<=5.3.2", True),
        (JOOMLA, "not-a-version", ">=4.0", False),
        (JOOMLA, "4.4.6", ">=4.0 <=junk", False),
    ],
)
def test_a_fingerprint_range_holds_or_not(
    eco: Ecosystem, version: str, bounds: str, inside: bool
) -> None:
    assert eco.within(version, bounds) is inside


def test_a_cms_package_declares_its_own_ecosystem() -> None:
    """An ecosystem is open: declared with its version rules, then looked up by name."""
    tiny = Ecosystem.declare("tiny-test", PHP_SCHEME)
    try:
        assert Ecosystem("tiny-test") is tiny
        assert tiny.compare("1.10", "1.9") == 1 and tiny.branch("1.10.2") == "1.10"
        assert Ecosystem.declare("tiny-test", PHP_SCHEME) is tiny  # the same rules again
        with pytest.raises(ValueError, match="other rules"):
            Ecosystem.declare("tiny-test", COMPOSER_SCHEME)
    finally:
        Ecosystem.forget("tiny-test")
    with pytest.raises(ValueError, match="not a known Ecosystem"):
        Ecosystem("tiny-test")
