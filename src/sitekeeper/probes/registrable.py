"""The registrable domain of a site's host (``www.shop.example.co.uk`` -> ``example.co.uk``).

``publicsuffixlist`` ships the Public Suffix List inside its wheel (the version carries
the list's date) and reads nothing from the network, so checks work on a machine with no
internet and tests are repeatable; ``tldextract`` would fetch the list at run time unless
given a snapshot. Only the ICANN section counts: RDAP asks the registry, and a private
suffix (``github.io``) is a registrable domain there, not a registry.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from publicsuffixlist import PublicSuffixList
from yarl import URL

MAX_NAME = 253


@lru_cache(maxsize=1)
def _list() -> PublicSuffixList:
    """Parsed once per process (some 10k rules, tens of milliseconds)."""
    return PublicSuffixList(only_icann=True)


def site_host(url: str) -> str | None:
    """The host of a site URL in ASCII (IDNA) lower case, without a trailing dot."""
    try:
        host = URL(url).raw_host
    except (ValueError, TypeError):
        return None
    host = (host or "").lower().rstrip(".")
    return host if host and len(host) <= MAX_NAME else None


def registrable_domain(host: str) -> str | None:
    """The domain one registers for ``host``, or None for an IP address, a bare public
    suffix or a single label (``localhost``): those have no registration to watch."""
    host = host.lower().rstrip(".")
    if not host or len(host) > MAX_NAME or "." not in host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    found = _list().privatesuffix(host)
    return str(found) if found else None
