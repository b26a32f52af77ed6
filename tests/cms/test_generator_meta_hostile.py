"""A hacked home page full of unterminated ``<meta`` tags is read in linear time by every
CMS's fingerprint reader (the readers run on the event loop, over up to 1 MB of the page:
a quadratic pattern froze the fingerprint run), and the real generator tag after it is
still found."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from sitekeeper.cms.drupal import signals as drupal
from sitekeeper.cms.joomla import signals as joomla
from sitekeeper.cms.wordpress import signals as wordpress
from sitekeeper.domain.fingerprint import Fingerprint

Reader = Callable[[str, int, Mapping[str, str], str], list[Fingerprint]]

HOSTILE = "<meta " * 150_000  # 900 KB; the old pattern took minutes on this


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("reader", "generator"),
    [
        (wordpress.read, "WordPress 6.1.9"),
        (joomla.read, "Joomla! - Open Source Content Management"),
        (drupal.read, "Drupal 10 (https://www.drupal.org)"),
    ],
)
def test_a_page_of_open_meta_tags_is_read_and_the_generator_still_found(
    reader: Reader, generator: str
) -> None:
    page = HOSTILE + f'<meta name="generator" content="{generator}" />'
    clues = reader("https://hostile.example/", 200, {}, page)
    assert clues, "the generator tag after the hostile run was not found"
