"""Key pages: a path or a URL on the site's own host, at most 10; anything that could
send the content probe elsewhere or carry credentials is refused."""

from __future__ import annotations

import pytest

from sitekeeper.domain.key_pages import validate_key_pages
from sitekeeper.errors import UsageError

SITE = "https://shop.example.com/"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["/shop", "/contact"], ["/shop", "/contact"]),
        (["https://shop.example.com/shop?lang=de#top"], ["/shop?lang=de"]),
        (["http://SHOP.example.com:80/a"], ["/a"]),  # same host, either scheme
        (["/", "/shop", "/shop", " ", "https://shop.example.com/"], ["/shop"]),  # home: always
        (["/café"], ["/caf%C3%A9"]),
        ([f"/p{n}" for n in range(10)], [f"/p{n}" for n in range(10)]),
    ],
)
def test_key_pages_are_kept_as_paths(given: list[str], stored: list[str]) -> None:
    assert validate_key_pages(SITE, given) == stored


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("https://evil.test/", "not on the site's own host"),
        ("https://shop.example.com.evil.test/", "not on the site's own host"),
        ("https://shop.example.com:8443/", "not on the site's own host"),
        ("//evil.test/x", "give a path"),
        ("https://user:pw@shop.example.com/", "credentials"),
        ("ftp://shop.example.com/", "scheme must be http or https"),
        ("javascript:alert(1)", "give a path"),
        ("shop", "give a path"),
        ("/a b", "no spaces"),
        ("/a\x00", "no spaces, control characters"),
        ("/\x1b[31mred", "no spaces, control characters"),
        ("\\\\evil.test\\x", "backslashes"),
        ("/" + "a" * 600, "longer than 500"),
    ],
)
def test_hostile_key_pages_are_refused(given: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        validate_key_pages(SITE, [given])


def test_more_than_ten_key_pages_are_refused() -> None:
    with pytest.raises(UsageError, match="too many key pages"):
        validate_key_pages(SITE, [f"/p{n}" for n in range(11)])
