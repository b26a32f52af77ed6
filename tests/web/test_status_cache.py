"""The status page's memory: a crowd asking at once gets one rendering, and the pages kept
stay within their count and size caps (the least recently used go first)."""

from __future__ import annotations

import threading

import pytest

from sitekeeper.web.ui import status_page
from sitekeeper.web.ui.status_page import PageCache


def test_a_crowd_gets_one_rendering() -> None:
    cache = PageCache(ttl=3600)
    go = threading.Event()
    renderings: list[int] = []

    def render() -> bytes:
        go.wait(30)
        renderings.append(1)
        return b"<html>the page</html>"

    got: list[bytes] = []
    crowd = [threading.Thread(target=lambda: got.append(cache.get(1, render))) for _ in range(16)]
    for visitor in crowd:
        visitor.start()
    go.set()
    for visitor in crowd:
        visitor.join(30)
    assert got == [b"<html>the page</html>"] * 16
    assert renderings == [1]


def test_an_expired_page_is_rendered_again() -> None:
    cache = PageCache(ttl=0)
    pages = iter([b"first", b"second"])
    assert cache.get(1, lambda: next(pages)) == b"first"
    assert cache.fresh(1) is None
    assert cache.get(1, lambda: next(pages)) == b"second"


def test_pages_stay_within_the_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_page, "MAX_PAGES", 3)
    monkeypatch.setattr(status_page, "MAX_BYTES", 250)
    cache = PageCache(ttl=3600)
    for client in range(1, 5):
        cache.get(client, lambda: b"x" * 50)
    assert cache.fresh(1) is None  # the oldest of four went
    assert all(cache.fresh(c) for c in (2, 3, 4))
    cache.fresh(2)  # used again: no longer the oldest
    cache.get(5, lambda: b"y" * 120)  # 50 + 50 + 120 fits 250; 3 pages at most
    assert cache.fresh(3) is None
    assert cache.fresh(2) and cache.fresh(4) and cache.fresh(5)
    cache.get(6, lambda: b"z" * 200)  # only it fits
    assert [c for c in range(1, 7) if cache.fresh(c)] == [6]
