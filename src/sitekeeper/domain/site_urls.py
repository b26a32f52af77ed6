"""A site's default name, and when two site URLs are the same site (pure, no I/O).

Two sites on one host but different ports are different sites, so the port is
part of the default name (``127.0.0.1-8081``); the same URL typed twice (other
scheme or host case, the default port spelled out, a trailing slash) is the
same site, which ``site add`` and the import refuse to register twice unless
asked to.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sitekeeper.domain.sites import normalize_url


def default_name(url: str) -> str:
    """The host of a URL, with ``-port`` when the port is not the scheme's default."""
    canonical = normalize_url(url)
    parts = urlsplit(canonical)
    host = parts.hostname or canonical
    return f"{host}-{parts.port}" if parts.port is not None else host


def same_site_key(url: str) -> str:
    """What every spelling of one site's URL shares: normalised, no trailing slash."""
    parts = urlsplit(normalize_url(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))
