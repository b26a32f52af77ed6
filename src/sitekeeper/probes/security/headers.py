"""Security headers on the home page: HSTS (HTTPS sites), nosniff, framing, referrer.

Read from the home page the probe fetched anyway: no request of its own. A missing
header is hardening advice ("info"); the site works without it.
"""

from __future__ import annotations

import re

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView
from sitekeeper.probes.security.fetch import Page

# A <meta> tag's attributes: no run crosses a '<' or goes on for ever, so a page of
# "<meta " repeated costs one pass, not one per tag.
_META = re.compile(rb"<meta\b([^<>]{0,1000})>", re.IGNORECASE)
_NAMES_REFERRER = re.compile(rb"\bname\s*=\s*[\"']referrer[\"']", re.IGNORECASE)
_CONTENT = re.compile(rb"\bcontent\s*=\s*[\"']([a-z-]{1,40})[\"']", re.IGNORECASE)
_LEAKY_REFERRER = frozenset({"unsafe-url", "no-referrer-when-downgrade"})
_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)")
MIN_HSTS_AGE = 180 * 24 * 3600  # what the HSTS preload list and scanners ask for


def _issue(item: str, title: str, fix: str, evidence: str = "missing") -> SecurityIssue:
    return SecurityIssue("header", item, Severity.INFO, title, fix, evidence)


def hsts(page: Page) -> SecurityIssue | None:
    """HSTS missing or short on an HTTPS site."""
    value = page.headers.get("strict-transport-security")
    fix = "Send Strict-Transport-Security: max-age=31536000 on every HTTPS answer."
    if value is None:
        return _issue("Strict-Transport-Security", "No HSTS header on an HTTPS site", fix)
    age = _MAX_AGE.search(value)
    if age is None or int(age.group(1)) < MIN_HSTS_AGE:
        return _issue(
            "Strict-Transport-Security",
            "HSTS max-age shorter than 180 days",
            fix,
            clean(value, 100),
        )
    return None


def nosniff(page: Page) -> SecurityIssue | None:
    """``X-Content-Type-Options: nosniff`` missing."""
    if page.headers.get("x-content-type-options", "").strip().lower() == "nosniff":
        return None
    return _issue(
        "X-Content-Type-Options",
        "No X-Content-Type-Options: nosniff",
        "Send X-Content-Type-Options: nosniff.",
    )


def framing(page: Page) -> SecurityIssue | None:
    """Neither CSP ``frame-ancestors`` nor ``X-Frame-Options``: the site can be framed."""
    csp = page.headers.get("content-security-policy", "").lower()
    xfo = page.headers.get("x-frame-options", "").strip().lower()
    if "frame-ancestors" in csp or xfo in ("deny", "sameorigin"):
        return None
    return _issue(
        "X-Frame-Options",
        "The site may be framed by any other site (clickjacking)",
        "Send Content-Security-Policy: frame-ancestors 'self' (or X-Frame-Options: SAMEORIGIN).",
    )


def referrer(page: Page) -> SecurityIssue | None:
    """No Referrer-Policy (header or meta tag), or one that leaks full URLs."""
    value = page.headers.get("referrer-policy", "").strip().lower()
    if not value:
        value = _meta_referrer(page.body[:200_000])
    fix = "Send Referrer-Policy: strict-origin-when-cross-origin."
    if not value:
        return _issue("Referrer-Policy", "No Referrer-Policy", fix)
    last = value.split(",")[-1].strip()  # browsers use the last policy they understand
    if last in _LEAKY_REFERRER:
        return _issue("Referrer-Policy", "Referrer-Policy leaks full URLs", fix, clean(value, 100))
    return None


def _meta_referrer(html: bytes) -> str:
    """The policy of the page's ``<meta name="referrer" content="…">`` ("" if none)."""
    for tag in _META.finditer(html):
        attributes = tag.group(1)
        content = _CONTENT.search(attributes)
        if content is not None and _NAMES_REFERRER.search(attributes):
            return content.group(1).decode("ascii", "replace").lower()
    return ""


@CHECKS.register("header")
class SecurityHeaders:
    """The four headers on the home page."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """One issue per missing or weak header."""
        page = site.home
        if page.status >= 400:  # an error page says little about the site's own headers
            site.unknown(f"header: the home page answered HTTP {page.status}, not checked")
            return []
        found = [nosniff(page), framing(page), referrer(page)]
        if site.https:
            found.append(hsts(page))
        return [issue for issue in found if issue is not None]
