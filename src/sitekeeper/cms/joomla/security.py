"""The Joomla security-centre RSS feed (developer.joomla.org/security-centre).

Each item's description is HTML written by hand, so every field is read
tolerantly: "3.9.0-3.9.22" and "1.7.0 - 3.9.22", "2020-10-08" and
"2020-July-05", the fixed version only in the "Solution" prose. What cannot be
read stays None rather than guessed; a feed that is not RSS is rejected.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from sitekeeper.cms.joomla.ecosystem import JOOMLA
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.advisory_formats import ADVISORY_FORMATS
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, expect_root, parse_xml, text_of

_VERSION = r"\d+(?:\.\d+){1,3}(?:[-.]?(?:alpha|beta|rc)\d*)?"
_RANGE = re.compile(rf"({_VERSION})\s*(?:-|–|—|to|through)\s*({_VERSION})", re.IGNORECASE)
_SINGLE = re.compile(_VERSION, re.IGNORECASE)
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_TITLE_ID = re.compile(r"^\s*\[(\d{8})\]")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%B-%d", "%Y-%b-%d", "%d %B %Y", "%B %d, %Y")


@dataclass(frozen=True)
class SecurityAnnouncement:
    """One item of the feed, fields as announced."""

    id: str  # "20201107", from the title's bracket
    title: str
    link: str
    published: datetime | None
    subproject: str | None
    impact: str | None
    severity: str | None
    versions_text: str | None
    ranges: tuple[tuple[str, str], ...]  # (first affected, last affected)
    fixed_versions: tuple[str, ...]
    reported: date | None
    fixed: date | None
    cves: tuple[str, ...]
    description: str

    @property
    def is_core(self) -> bool:
        """Core announcements say "Core" in the title or the CMS sub-project."""
        return " core " in f" {self.title.lower()} " or (self.subproject or "").upper() == "CMS"

    def to_advisory(self) -> Advisory:
        """Normalise: Joomla core, ``last_affected`` ranges as announced, fixes as patched."""
        ranges = AffectedRanges(
            JOOMLA,
            tuple(VersionRange(introduced=low, last_affected=high) for low, high in self.ranges),
        )
        slug, kind = ("joomla", PackageType.CORE) if self.is_core else ("", PackageType.COMPONENT)
        return Advisory(
            id=f"JOOMLA-{self.id}",
            aliases=self.cves,
            summary=self.title,
            severity=(self.severity or "").lower() or None,
            cvss_score=None,
            cvss_vector=None,
            published=self.published,
            modified=None,
            affected=(AffectedPackage(JOOMLA, slug, kind, ranges, self.fixed_versions),),
            references=(self.link,),
            source="joomla-security-centre",
        )


def _plain(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def _field(description: str, label: str) -> str | None:
    pattern = rf"<strong>\s*{re.escape(label)}\s*:?\s*</strong>\s*:?(.*?)(?:</li>|<br|\n|$)"
    match = re.search(pattern, description, re.IGNORECASE | re.DOTALL)
    value = _plain(match.group(1)) if match else ""
    return value or None


def _section(description: str, heading: str) -> str:
    pattern = rf"<h\d>\s*{re.escape(heading)}\s*</h\d>(.*?)(?:<h\d>|$)"
    match = re.search(pattern, description, re.IGNORECASE | re.DOTALL)
    return _plain(match.group(1)) if match else ""


def parse_loose_date(text: str | None) -> date | None:
    """ "2020-10-08", "2020-July-05", "2020-Aug-25"; None if it is none of those."""
    if not text:
        return None
    cleaned = text.strip().rstrip(".")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    return None


def parse_version_ranges(text: str | None) -> tuple[tuple[str, str], ...]:
    """ "3.9.0-3.9.22", "1.7.0 - 3.9.22", "3.0.0-3.10.11, 4.0.0-4.2.4", "4.2.7" -> pairs."""
    if not text:
        return ()
    pairs = [(m.group(1), m.group(2)) for m in _RANGE.finditer(text)]
    rest = _RANGE.sub(" ", text)
    pairs += [(m.group(0), m.group(0)) for m in _SINGLE.finditer(rest)]
    return tuple(pairs)


def _published(item: ET.Element) -> datetime | None:
    raw = text_of(item, "pubDate", what="", required=False)
    if raw is None:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


def _announcement(item: ET.Element, what: str) -> SecurityAnnouncement:
    title = text_of(item, "title", what=what) or ""
    link = text_of(item, "link", what=what) or ""
    description = html.unescape(text_of(item, "description", what=what, required=False) or "")
    title_id = _TITLE_ID.match(title)
    versions_text = _field(description, "Versions") or _section(description, "Affected Installs")
    solution = _section(description, "Solution")
    return SecurityAnnouncement(
        id=title_id.group(1) if title_id else re.sub(r"\W+", "-", link.rsplit("/", 1)[-1]),
        title=title,
        link=link,
        published=_published(item),
        subproject=_field(description, "SubProject"),
        impact=_field(description, "Impact"),
        severity=_field(description, "Severity"),
        versions_text=versions_text or None,
        ranges=parse_version_ranges(versions_text),
        fixed_versions=tuple(dict.fromkeys(_SINGLE.findall(solution))),
        reported=parse_loose_date(_field(description, "Reported Date")),
        fixed=parse_loose_date(_field(description, "Fixed Date")),
        cves=tuple(dict.fromkeys(_CVE.findall(description))),
        description=_section(description, "Description"),
    )


def parse_security_feed(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[SecurityAnnouncement]:
    """Every announcement of the RSS feed, newest first as published."""
    what = "Joomla security-centre feed"
    root = parse_xml(data, what=what, max_bytes=max_bytes)
    expect_root(root, "rss", what=what)
    channel = root.find("channel")
    if channel is None:
        raise InvalidFeed(f"{what}: no <channel>")
    return [_announcement(item, what) for item in channel.findall("item")]


class SecurityCentreFormat:
    """The Joomla security centre's RSS feed (any XML document is taken for it)."""

    name = "Joomla feed"

    def read(self, data: bytes, body: object | None, max_bytes: int) -> list[Advisory] | None:
        """The announcements as advisories, if ``data`` is XML."""
        if body is not None:
            return None
        return [item.to_advisory() for item in parse_security_feed(data, max_bytes=max_bytes)]


ADVISORY_FORMATS.add("joomla-security", SecurityCentreFormat())
