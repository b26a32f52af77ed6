"""What a page's baseline keeps: a digest and a sample of its text, the domains it links
to, its scripts and frames. Small (a few KB) whatever the page, so a site's baselines fit
one JSON column each.

The text is normalised before it is compared (lower case, digits folded, spaces
collapsed): a date, a counter or a nonce is not a change. "How much changed" is estimated
from a bottom-k sample of word-trigram hashes (MinHash): two pages' samples give their
Jaccard similarity within a few percent, in constant space.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from sitekeeper.probes.content.page_facts import PageFacts, host_of

SAMPLE = 128  # hashes kept per page
MAX_DOMAINS = 300
MAX_SCRIPTS = 150
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


def words_of(text: str) -> list[str]:
    """The page's words, normalised (lower case, every number as ``0``)."""
    return _WORD.findall(_DIGITS.sub("0", text.lower()))


def _sample(words: list[str]) -> list[int]:
    shingles = {
        zlib.crc32(" ".join(words[i : i + 3]).encode("utf-8", "replace"))
        for i in range(max(1, len(words) - 2))
    }
    return sorted(heapq.nsmallest(SAMPLE, shingles)) if words else []


def similarity(one: list[int], other: list[int]) -> float:
    """The estimated share of trigrams two pages have in common (1.0: the same text)."""
    if not one and not other:
        return 1.0
    if not one or not other:
        return 0.0
    a, b = set(one), set(other)
    union = heapq.nsmallest(SAMPLE, a | b)
    return sum(1 for h in union if h in a and h in b) / len(union)


def resource(url: str) -> str:
    """A script's or frame's address without its query (``?ver=6.8``, cache busters)."""
    try:
        return str(URL(url).with_query(None).with_fragment(None))[:300]
    except ValueError:
        return url[:300]


@dataclass(slots=True)
class Snapshot:
    """One page's comparable facts (the ``data`` of its PageBaseline row)."""

    text_digest: str = ""
    words: int = 0
    sample: list[int] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # hosts of outbound links, sorted
    scripts: list[str] = field(default_factory=list)  # script addresses, sorted
    frames: list[str] = field(default_factory=list)  # frame addresses, sorted

    @classmethod
    def of(cls, facts: PageFacts, site_host: str) -> Snapshot:
        """The snapshot of a page of the site at ``site_host`` (its own links left out)."""
        words = words_of(facts.text)
        outbound = {link.host for link in facts.links if link.host and link.host != site_host}
        return cls(
            text_digest=hashlib.sha256(" ".join(words).encode("utf-8", "replace")).hexdigest(),
            words=len(words),
            sample=_sample(words),
            links=sorted(outbound)[:MAX_DOMAINS],
            scripts=sorted({resource(s) for s in facts.scripts})[:MAX_SCRIPTS],
            frames=sorted({resource(f) for f in facts.frames})[:MAX_SCRIPTS],
        )

    def script_hosts(self) -> set[str]:
        """The hosts the page's scripts come from."""
        return {host_of(s) for s in self.scripts}

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "text_digest": self.text_digest,
            "words": self.words,
            "sample": self.sample,
            "links": self.links,
            "scripts": self.scripts,
            "frames": self.frames,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        """A stored snapshot (missing or malformed parts read as empty)."""

        def strings(key: str, cap: int) -> list[str]:
            value = data.get(key)
            return [str(v)[:300] for v in value[:cap]] if isinstance(value, list) else []

        sample = data.get("sample")
        return cls(
            text_digest=str(data.get("text_digest") or ""),
            words=int(data.get("words") or 0),
            sample=[int(v) for v in sample[:SAMPLE]] if isinstance(sample, list) else [],
            links=strings("links", MAX_DOMAINS),
            scripts=strings("scripts", MAX_SCRIPTS),
            frames=strings("frames", MAX_SCRIPTS),
        )
