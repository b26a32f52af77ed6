"""URL normalisation, SSH targets, tags and plan options: table-driven, no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.domain.plans import PlanOptions, parse_check_interval, parse_sla
from sitekeeper.domain.sites import (
    normalize_url,
    unique_name,
    url_variants,
    validate_tags,
)
from sitekeeper.domain.ssh_access import parse_ssh_target
from sitekeeper.errors import UsageError


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTPS://Example.COM/Path?q=1#frag", "https://example.com/Path?q=1"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:8443", "https://example.com:8443/"),
        ("https://München.de", "https://xn--mnchen-3ya.de/"),
        ("  https://example.com/a/  ", "https://example.com/a/"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
    ],
)
def test_normalize_url(given_url: str, expected: str) -> None:
    assert normalize_url(given_url) == expected


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("example.com", "needs a scheme"),
        ("ftp://example.com", "http or https"),
        ("https://", "no host"),
        ("https://exa mple.com", "spaces"),
        ("", "empty"),
        ("https://user:pw@example.com", "credentials"),
        ("https://example.com:99999", "Port"),
        ("https://-bad-.com", "bad host"),
        ("javascript:alert(1)", "scheme"),
    ],
)
def test_malformed_urls_are_refused(bad: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        normalize_url(bad)


def test_url_variants_tolerate_trailing_slash() -> None:
    assert url_variants("https://Example.com/shop/") == [
        "https://example.com/shop",
        "https://example.com/shop/",
    ]


@given(st.from_regex(r"https?://[a-z]{1,10}\.(com|de|ch)(/[a-z]{0,5}){0,3}", fullmatch=True))
def test_normalisation_is_idempotent(url: str) -> None:
    once = normalize_url(url)
    assert normalize_url(once) == once


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("deploy@example.com", ("deploy", "example.com", 22)),
        ("www-data@10.0.0.5:2222", ("www-data", "10.0.0.5", 2222)),
        ("root@[::1]:22", ("root", "::1", 22)),
    ],
)
def test_ssh_target(target: str, expected: tuple[str, str, int]) -> None:
    assert parse_ssh_target(target) == expected


@pytest.mark.parametrize("bad", ["example.com", "@host", "u@", "u@h:0", "u@h:70000", "u@h:x"])
def test_bad_ssh_target(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_ssh_target(bad)


def test_unique_name_and_tags() -> None:
    assert unique_name("a.com", {"a.com", "a.com-2"}) == "a.com-3"
    assert unique_name("b.com", {"a.com"}) == "b.com"
    assert validate_tags(["wp", " shop ", "wp", ""]) == ["shop", "wp"]
    with pytest.raises(UsageError, match="invalid tag"):
        validate_tags(["no spaces"])


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10), ("60s", 60), ("5m", 300), ("1h", 3600)])
def test_check_interval(text: str, seconds: int) -> None:
    assert parse_check_interval(text) == seconds


@pytest.mark.parametrize("bad", ["9s", "0", "-5m", "soon", "5 parsecs", ""])
def test_bad_check_interval(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_check_interval(bad)


def test_sla_and_plan_options() -> None:
    assert parse_sla("4h") == 4.0
    assert parse_sla("30m") == 0.5
    assert parse_sla("8") == 8.0
    assert PlanOptions().update_policy == "none"
    with pytest.raises(ValueError, match="extra"):
        PlanOptions.model_validate({"backups": "daily"})
