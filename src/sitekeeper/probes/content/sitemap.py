"""A site's sitemap (``/sitemap.xml``, ``/wp-sitemap.xml``; an index is followed one level):
the page URLs it lists, parsed with defusedxml (no entities, no external anything) and
capped in bytes, URLs and sub-sitemaps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_SITEMAP = 2 * 1024 * 1024  # bytes of one sitemap read
MAX_URLS = 2000  # URLs kept per site
MAX_CHILDREN = 5  # sub-sitemaps of an index read
PATHS = ("/wp-sitemap.xml", "/sitemap.xml")


@dataclass(slots=True)
class SitemapEntries:
    """What one sitemap document lists: page URLs and (an index) further sitemaps."""

    urls: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def url_key(url: str) -> str:
    """What a baseline keeps of a sitemap URL: a short hash (2,000 URLs in 34 KB)."""
    return hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:16]


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes) -> SitemapEntries | None:
    """The entries of a sitemap or sitemap index; None when it is not one (an HTML error
    page, broken or hostile XML)."""
    try:
        root: Element = fromstring(body[:MAX_SITEMAP])
    except (ParseError, DefusedXmlException, ValueError):
        return None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        return None
    found = SitemapEntries()
    into = found.urls if kind == "urlset" else found.children
    for entry in root:
        for child in entry:
            if _local(child.tag) == "loc" and child.text and len(into) < MAX_URLS:
                into.append(child.text.strip()[:800])
    return found
