"""Mixed content on an HTTPS home page: resources loaded over plain http://.

Active content (scripts, styles, frames, plugins) over http lets anyone on the path
rewrite the page, and browsers block it, so the page breaks; passive content (images,
media) only leaks and warns. Read from the home page the probe already has.
"""

from __future__ import annotations

import html
import re

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView

# tag -> (attribute, active?)
_ACTIVE = {"script": "src", "iframe": "src", "frame": "src", "embed": "src", "object": "data"}
_PASSIVE = {"img": "src", "audio": "src", "video": "src", "source": "src", "track": "src"}
MAX_URLS = 50  # kept per kind; the evidence names a few
MAX_HTML = 1_000_000  # characters read

# The tags that load something, or a comment's start. Not html.parser: it is super-linear
# on hostile markup ('<a ' repeated: 36 s for 40 KB), and this runs on the event loop. A
# tag's attributes stop at the next '<' or '>' and after 2,000 characters, so each
# character is looked at a bounded number of times whatever the page.
_TAG = re.compile(
    r"<(script|iframe|frame|embed|object|img|audio|video|source|track|link)\b([^<>]{0,2000})>"
    r"|<!--",
    re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`=]+)))?""")
_SCRIPT_END = re.compile(r"</script", re.IGNORECASE)


def _attributes(text: str) -> dict[str, str]:
    """A tag's attributes, names lower-cased, values with their character references
    decoded (the first of a repeated name wins, as in browsers)."""
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(text):
        name = match.group(1).lower()
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        found.setdefault(name, html.unescape(value))
    return found


def _add(found: list[str], url: str) -> None:
    url = url.strip()
    if url[:7].lower() == "http://" and len(found) < MAX_URLS and url not in found:
        found.append(url)


def insecure_resources(page: str) -> tuple[list[str], list[str]]:
    """The (active, passive) http:// subresources of an HTML page (comments and script
    code skipped)."""
    text = page[:MAX_HTML]
    active: list[str] = []
    passive: list[str] = []
    at = 0
    while (match := _TAG.search(text, at)) is not None:
        at = match.end()
        tag = match.group(1)
        if tag is None:  # a comment: nothing in it loads
            end = text.find("-->", at)
            if end < 0:
                break
            at = end + 3
            continue
        tag = tag.lower()
        values = _attributes(match.group(2))
        if tag == "link":
            rel = values.get("rel", "").lower().split()
            if "stylesheet" in rel or "preload" in rel or "modulepreload" in rel:
                _add(active, values.get("href", ""))
        elif tag in _ACTIVE:
            _add(active, values.get(_ACTIVE[tag], ""))
        else:
            _add(passive, values.get(_PASSIVE[tag], ""))
            for candidate in values.get("srcset", "").split(","):
                _add(passive, candidate.strip().split(" ")[0])
        if tag == "script":  # its code is not markup: skip to its end tag
            end_tag = _SCRIPT_END.search(text, at)
            if end_tag is None:
                break
            at = end_tag.end()
    return active, passive


def _evidence(urls: list[str]) -> str:
    shown = ", ".join(clean(u, 100) for u in urls[:3])
    return shown + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")


@CHECKS.register("mixed-content")
class MixedContent:
    """http:// scripts, styles, frames and images on an HTTPS home page."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """At most two issues: active and passive mixed content."""
        if not site.https:
            return []  # no HTTPS page, no mixed content
        if site.home.status != 200:
            site.unknown(f"mixed-content: the home page answered HTTP {site.home.status}")
            return []
        if not site.home.is_html:
            return []
        active, passive = insecure_resources(site.home.text)
        fix = (
            "Load every resource over https:// (fix the theme, or the URLs stored in the database)."
        )
        issues = []
        if active:
            issues.append(
                SecurityIssue(
                    "mixed-content",
                    "active",
                    Severity.MEDIUM,
                    "Scripts, styles or frames loaded over http:// on the HTTPS home page",
                    fix,
                    _evidence(active),
                )
            )
        if passive:
            issues.append(
                SecurityIssue(
                    "mixed-content",
                    "passive",
                    Severity.LOW,
                    "Images or media loaded over http:// on the HTTPS home page",
                    fix,
                    _evidence(passive),
                )
            )
        return issues
