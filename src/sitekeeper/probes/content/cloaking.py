"""Cloaking: what a search engine's crawler or a phone is served, against what a visitor is.

Hacked sites show pharma or Japanese-keyword pages only to Googlebot (so the site ranks
for them while its owner sees nothing) and send phones or visitors from a search engine
to another domain. Legitimate differences (a mobile theme, nonces, cache busters) are not
cloaking: visible text and link domains are compared, not bytes, and a phone's page is
judged only by where it sends the phone and which domains it adds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sitekeeper.domain.seo import CLOAKING, SeoIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.content.snapshot import Snapshot, similarity

CRAWLER, PHONE = "crawler", "phone"
MIN_SIMILARITY = 0.5  # below this share of common text a crawler's page is another page
MIN_WORDS = 20
_FIX = (
    "Cloaking hack: find the code that checks the user agent or referrer (mu-plugins, "
    ".htaccess, the theme's functions.php, index.php), remove it, change every password."
)


@dataclass(frozen=True, slots=True)
class Variant:
    """A page as one kind of client saw it: its snapshot, or where it was sent off-site."""

    name: str
    snapshot: Snapshot | None = None
    offsite: str | None = None  # the other host a redirect sent it to


def _issue(page: str, variant: str, title: str, evidence: str, proof: str) -> SeoIssue:
    return SeoIssue(
        CLOAKING,
        f"{clean(page, 150)} ({variant})",
        Severity.HIGH,
        title,
        _FIX,
        evidence,
        proof=proof,
    )


def cloaked(page: str, visitor: Variant, other: Variant, known: Collection[str]) -> SeoIssue | None:
    """Cloaking of ``page`` for ``other`` (a crawler or phone); ``known``: the outbound
    domains the visitor's page and its baseline name (None: served alike)."""
    who = "a search engine's crawler" if other.name == CRAWLER else "a phone"
    if other.offsite is not None and visitor.offsite is None:
        host = clean(other.offsite, 100)
        return _issue(page, other.name, f"Only {who} is redirected to {host}", host, host)
    if other.snapshot is None or visitor.snapshot is None:
        return None
    added = sorted(set(other.snapshot.links) - set(visitor.snapshot.links) - set(known))
    if added:
        shown = ", ".join(clean(d, 60) for d in added[:5])
        return _issue(
            page, other.name, f"Only {who} is shown links to other domains", shown, ",".join(added)
        )
    if other.name != CRAWLER:
        return None  # a mobile theme may well say other things
    mine, theirs = visitor.snapshot, other.snapshot
    if max(mine.words, theirs.words) < MIN_WORDS or mine.text_digest == theirs.text_digest:
        return None
    shared = similarity(mine.sample, theirs.sample)
    if shared >= MIN_SIMILARITY:
        return None
    return _issue(
        page,
        other.name,
        f"{who[0].upper()}{who[1:]} is served another page",
        f"{shared:.0%} of the text in common ({mine.words} words for visitors, "
        f"{theirs.words} for the crawler)",
        theirs.text_digest,
    )
