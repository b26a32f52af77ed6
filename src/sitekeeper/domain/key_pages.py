"""A site's configured key pages: the pages the content checks keep a baseline of instead
of the sitemap's first ones (the home page is always looked at).

Pure validation, shared by every door (CLI, API, web form): a key page is a path from the
site's root or a URL on the site's own host, so a setting can never send the probe to
someone else's server or carry credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from sitekeeper.domain.checks import KEY_PAGES_KEY
from sitekeeper.domain.sites import normalize_url
from sitekeeper.errors import UsageError

MAX_KEY_PAGES = 10
MAX_LENGTH = 500  # a path with its query; the baseline keeps the whole URL in 800
_SAFE = "/%:@!$&'()*+,;=-._~"  # RFC 3986 path characters kept as they are
_QUERY_SAFE = _SAFE + "?"


def stored_key_pages(check_options: Mapping[str, Any] | None) -> list[str]:
    """The key pages kept in a site's check options (paths such as ``/shop``)."""
    found = (check_options or {}).get(KEY_PAGES_KEY)
    return [str(p) for p in found[:MAX_KEY_PAGES]] if isinstance(found, list) else []


def validate_key_pages(site_url: str, pages: Iterable[str]) -> list[str]:
    """``pages`` as stored: root-relative, percent-encoded paths (query kept, fragment
    dropped), de-duplicated, without the home page (always looked at); UsageError for a
    page on another host, with credentials, of another scheme, or more than 10."""
    site = urlsplit(normalize_url(site_url))
    kept: list[str] = []
    for text in pages:
        page = _path(text.strip(), site.netloc)
        if page is not None and page != "/" and page not in kept:
            kept.append(page)
    if len(kept) > MAX_KEY_PAGES:
        raise UsageError(f"too many key pages ({len(kept)}, at most {MAX_KEY_PAGES})")
    return kept


def _path(text: str, site_netloc: str) -> str | None:
    """One key page as a path (None: empty), or UsageError."""
    if not text:
        return None
    shown = repr(text[:80])
    if len(text) > MAX_LENGTH:
        raise UsageError(f"key page {shown}…: longer than {MAX_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in text):
        raise UsageError(f"key page {shown}: no spaces, control characters or backslashes")
    if text.startswith("/") and not text.startswith("//"):
        parts = urlsplit(text)
    elif "://" in text:
        url = normalize_url(text)  # http(s) only, no credentials, a valid host
        parts = urlsplit(url)
        if parts.netloc != site_netloc:
            raise UsageError(
                f"key page {shown}: not on the site's own host ({site_netloc}); give a path "
                "such as /shop or a URL on that host"
            )
    else:
        raise UsageError(f"key page {shown}: give a path such as /shop or the page's URL")
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    return f"{path}?{query}" if query else path
