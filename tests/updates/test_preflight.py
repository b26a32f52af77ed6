"""Preflight checks that need no site: the release's PHP requirement against the PHP the
site's inventory found, and reading ``df -Pk``'s answer."""

from __future__ import annotations

from sitekeeper.updates.preflight import parse_df, php_check


def test_a_release_needing_a_newer_php_is_refused_with_both_versions() -> None:
    refused = php_check("core wordpress 6.1.9 → 7.1.3", "7.2.34", "7.4")
    assert not refused.ok
    assert (
        refused.detail
        == "refused: core wordpress 6.1.9 → 7.1.3 needs PHP 7.4, the site runs 7.2.34"
    )
    assert php_check("x", "8.2.7-1+deb12u1", "7.4").ok  # a distribution's suffix is ignored
    assert php_check("x", "7.4.0", "7.4").ok


def test_an_unknown_side_passes_and_says_so() -> None:
    assert php_check("x", "8.2.7", None).detail == "x: the feed names no PHP requirement"
    unknown = php_check("x", None, "7.4")
    assert unknown.ok and "not known" in unknown.detail


def test_df_answers_are_read_or_rejected() -> None:
    answer = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "/dev/vda        263174212 22000000 83886080      22% /\n"
    )
    assert parse_df(answer) == 83886080 * 1024
    assert parse_df("df: /srv/x: No such file or directory\n") is None
    assert parse_df("a\nb c d e f g\n") is None  # not a number where the space is
