"""Mixed content on an HTTPS home page: resources loaded over plain http://.

Active content (scripts, styles, frames, plugins) over http lets anyone on the path
rewrite the page, and browsers block it, so the page breaks; passive content (images,
media) only leaks and warns. Read from the home page the probe already has.
"""

from __future__ import annotations

from html.parser import HTMLParser

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.domain.untrusted import clean
from sitekeeper.probes.security.checks import CHECKS, SiteView

# tag -> (attribute, active?)
_ACTIVE = {"script": "src", "iframe": "src", "frame": "src", "embed": "src", "object": "data"}
_PASSIVE = {"img": "src", "audio": "src", "video": "src", "source": "src", "track": "src"}
MAX_URLS = 50  # kept per kind; the evidence names a few
MAX_HTML = 1_000_000  # characters parsed


class _Resources(HTMLParser):
    """Collects the http:// URLs of subresources, active and passive apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self.passive: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rel = values.get("rel", "").lower().split()
            if "stylesheet" in rel or "preload" in rel or "modulepreload" in rel:
                self._add(self.active, values.get("href", ""))
            return
        if tag in _ACTIVE:
            self._add(self.active, values.get(_ACTIVE[tag], ""))
        elif tag in _PASSIVE:
            self._add(self.passive, values.get(_PASSIVE[tag], ""))
            for candidate in values.get("srcset", "").split(","):
                self._add(self.passive, candidate.strip().split(" ")[0])

    @staticmethod
    def _add(found: list[str], url: str) -> None:
        url = url.strip()
        if url[:7].lower() == "http://" and len(found) < MAX_URLS and url not in found:
            found.append(url)


def insecure_resources(html: str) -> tuple[list[str], list[str]]:
    """The (active, passive) http:// subresources of an HTML page."""
    parser = _Resources()
    parser.feed(html[:MAX_HTML])
    parser.close()
    return parser.active, parser.passive


def _evidence(urls: list[str]) -> str:
    shown = ", ".join(clean(u, 100) for u in urls[:3])
    return shown + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")


@CHECKS.register("mixed-content")
class MixedContent:
    """http:// scripts, styles, frames and images on an HTTPS home page."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """At most two issues: active and passive mixed content."""
        if not site.https or site.home.status != 200 or not site.home.is_html:
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
