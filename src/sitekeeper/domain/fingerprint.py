"""What a site reveals about its software from outside, and how sure we are."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Bounded and stopping at '<': a hacked home page of open ``<meta`` tags must cost linear
# time (an unbounded pattern took seconds per 120 KB, quadratic, on the event loop).
_META = re.compile(
    r"<meta\s[^<>]{0,1000}?name\s*=\s*[\"']generator[\"'][^<>]{0,1000}>", re.IGNORECASE
)
_CONTENT = re.compile(r"content\s*=\s*[\"']([^\"']{0,200})[\"']", re.IGNORECASE)
PAGE_CAP = 1_000_000  # characters of a page read for clues


def generator_tags(text: str) -> list[str]:
    """The ``content`` of each ``<meta name="generator">`` tag in the page's first MB, raw
    (hostile: callers clean or match it before showing it)."""
    found = []
    for tag in _META.findall(text[:PAGE_CAP]):
        content = _CONTENT.search(tag)
        if content:
            found.append(content.group(1))
    return found


@dataclass(slots=True)
class Fingerprint:
    """The CMS and version a site appears to run, with the evidence used.

    ``version`` is set only when the evidence pins one release; otherwise
    ``candidates`` lists the releases the evidence still allows (possibly a
    range such as ``">=6.4 <6.5"``), so matching can report "possible".
    """

    url: str
    cms: str | None
    version: str | None = None
    candidates: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape."""
        return {
            "url": self.url,
            "cms": self.cms,
            "version": self.version,
            "candidates": list(self.candidates),
            "evidence": list(self.evidence),
            "error": self.error,
        }
