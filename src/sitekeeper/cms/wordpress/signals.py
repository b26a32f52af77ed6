"""What a WordPress site shows from outside: generator tags, core ``?ver=``, core paths.

Each reader turns one response into clues (partial :class:`Fingerprint` values:
the CMS, maybe a version, one evidence line). The probe decides what to fetch
and how to weigh the clues; this module only knows WordPress's public files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from sitekeeper.domain.fingerprint import Fingerprint, generator_tags

CMS = "wordpress"
# Fetched when the home page shows WordPress but no version, in this order.
VERSION_PATHS = ("feed/", "wp-links-opml.php")
# Fetched when the home page shows no CMS at all: cheap, and version-bearing when present.
DETECT_PATH = "wp-links-opml.php"
# Hashed on hardened sites. Debian's 6.1.9 patches none of them (its patches touch
# PHP files, readme.html, tw-sack.js, the ID3/underscore/crop/ca-bundle copies and
# blocks.js), so a packaged install matches upstream's checksums for these.
HASH_FILES = (
    "wp-includes/css/dist/block-library/style.min.css",
    "wp-admin/css/common.min.css",
    "wp-includes/js/wp-embed.min.js",
)

VERSION = r"\d+\.\d+(?:\.\d+)?(?:-(?:alpha|beta|RC)\d*(?:-\d+)?)?"
_VERSION_ONLY = re.compile(rf"^{VERSION}$")
# Runs bounded and stopped at "<": a page of "<meta <meta …" must not take quadratic time.
_META_WP = re.compile(rf"^WordPress\s+({VERSION})\b")
_WP_ORG = r"https?://wordpress\.org/"
_FEED_GENERATORS = (
    (re.compile(rf"<generator>https?://wordpress\.org/\?v=({VERSION})</generator>"), "RSS"),
    (re.compile(rf"<generator\s+uri=\"{_WP_ORG}\"\s+version=\"({VERSION})\""), "Atom"),
    (re.compile(rf"generatorAgent\s+rdf:resource=\"{_WP_ORG}\?v=({VERSION})\""), "RDF"),
    (re.compile(rf"<!--\s*generator=\"WordPress/({VERSION})\"\s*-->"), "OPML"),
)  # fmt: skip
_ASSET = re.compile(r"""/(wp-includes|wp-admin)/([^"'\s<>?]{1,300})\?ver=([^"'\s<>&]{1,40})""")
# Bundled libraries under wp-includes/js keep their own versions (jQuery 3.6.1 ...).
_CORE_JS = re.compile(r"^js/(wp-emoji-release\.min\.js|wp-embed(\.min)?\.js|dist/(?!vendor/))")
_PATHS = re.compile(r"/wp-(?:content|includes)/")


def generator_versions(text: str) -> list[str]:
    """Versions in ``<meta name="generator" content="WordPress X">`` tags."""
    matches = (_META_WP.match(value.strip()) for value in generator_tags(text))
    return [match.group(1) for match in matches if match]


def core_asset_version(text: str) -> tuple[str, int] | None:
    """The most common ``?ver=`` of core assets and how many carried it.

    Core registers its own styles and scripts with ``$wp_version``; plugin, theme
    and library assets carry their own, so only core's paths are counted.
    """
    votes: Counter[str] = Counter()
    for area, path, ver in _ASSET.findall(text.replace("\\/", "/")):
        if area == "wp-includes" and path.startswith("js/") and not _CORE_JS.match(path):
            continue
        if _VERSION_ONLY.match(ver):
            votes[ver] += 1
    if not votes:
        return None
    return votes.most_common(1)[0]


def read(url: str, status: int, headers: Mapping[str, str], text: str) -> list[Fingerprint]:
    """Clues in one response (home page, feed, OPML, login page)."""
    if status != 200:
        return []
    clues = [
        _clue(url, version, f"{url}: generator meta 'WordPress {version}'")
        for version in generator_versions(text)
    ]
    for pattern, kind in _FEED_GENERATORS:
        for version in pattern.findall(text[:1_000_000]):
            clues.append(_clue(url, version, f"{url}: {kind} generator WordPress {version}"))
    asset = core_asset_version(text)
    if asset is not None:
        version, count = asset
        clues.append(_clue(url, version, f"{url}: ?ver={version} on {count} core asset(s)"))
    if "api.w.org" in headers.get("link", ""):
        clues.append(_clue(url, None, f"{url}: Link header to the WordPress REST API"))
    if not clues and _PATHS.search(text):
        clues.append(_clue(url, None, f"{url}: links to /wp-content/ or /wp-includes/"))
    return clues


def _clue(url: str, version: str | None, evidence: str) -> Fingerprint:
    return Fingerprint(url=url, cms=CMS, version=version, evidence=[evidence])


def version_paths(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Where the release may show when the home page hid it."""
    return VERSION_PATHS


def hash_files(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Static files to hash on a hardened site."""
    return HASH_FILES
