"""Preflight checks that need no site: the release's PHP and database requirements against
what the site's inventory found, and reading ``df -Pk``'s answer."""

from __future__ import annotations

from sitekeeper.updates.preflight import parse_df, requirement_check


def test_a_release_needing_a_newer_php_is_refused_with_both_versions() -> None:
    refused = requirement_check("core wordpress 6.1.9 → 7.1.3", "PHP", "7.2.34", "7.4")
    assert not refused.ok
    assert (
        refused.detail
        == "refused: core wordpress 6.1.9 → 7.1.3 needs PHP 7.4, the site runs 7.2.34"
    )
    # a distribution's suffix is ignored
    assert requirement_check("x", "PHP", "8.2.7-1+deb12u1", "7.4").ok
    assert requirement_check("x", "PHP", "7.4.0", "7.4").ok


def test_a_database_server_too_old_is_refused_and_a_mariadb_compares_as_its_number() -> None:
    refused = requirement_check("core wordpress 6.1.9 → 6.8.3", "database", "5.0.96", "5.5.5")
    assert not refused.ok
    assert refused.detail.endswith("needs database 5.5.5, the site runs 5.0.96")
    # WordPress's own check reads MariaDB 10.11 as 10.11 against MySQL's 5.5.5
    assert requirement_check("x", "database", "10.11.19-MariaDB-0+deb12u1", "5.5.5").ok
    assert requirement_check("x", "database", "8.0.36", "5.5.5").ok


def test_an_unknown_side_passes_and_says_so() -> None:
    no_need = requirement_check("x", "PHP", "8.2.7", None)
    assert no_need.detail == "x: the feed names no PHP requirement"
    unknown = requirement_check("x", "PHP", None, "7.4")
    assert unknown.ok and "not known" in unknown.detail


def test_df_answers_are_read_or_rejected() -> None:
    answer = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "/dev/vda        263174212 22000000 83886080      22% /\n"
    )
    assert parse_df(answer) == 83886080 * 1024
    assert parse_df("df: /srv/x: No such file or directory\n") is None
    assert parse_df("a\nb c d e f g\n") is None  # not a number where the space is
