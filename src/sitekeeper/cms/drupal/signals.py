"""Drupal from outside: ``X-Generator`` and the generator tag name its major version,
core's own unaggregated assets carry ``?v=<VERSION>`` (8+), and Drupal 7 serves
``CHANGELOG.txt``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sitekeeper.domain.fingerprint import Fingerprint, generator_tags
from sitekeeper.domain.untrusted import clean

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sitekeeper.domain.fingerprint import Fingerprint


CMS = "drupal"
DETECT_PATH = "core/misc/drupal.js"


_VERSION = r"\d+\.\d+(?:\.\d+)?(?:-(?:alpha|beta|rc)\d+)?"
_GENERATOR = re.compile(r"^Drupal\s+(\d+)\b")
# Runs bounded and stopped at "<": a page of "<meta <meta …" must not take quadratic time.
# Only core's own code: bundled libraries (jQuery, ...) carry their own ?v=.
_CORE_ASSET = re.compile(
    rf"/core/(?:misc|modules|themes)/[^\"'\s<>?]{{1,300}}\?v=({_VERSION})[\"'&]"
)
_CHANGELOG = re.compile(rf"^\s*Drupal ({_VERSION}), (\d{{4}}-\d{{2}}-\d{{2}})", re.MULTILINE)


def family(major: int) -> str:
    """The range of one major version, e.g. ">=10.0 <11.0"."""
    return f">={major}.0 <{major + 1}.0"


def read(url: str, status: int, headers: Mapping[str, str], text: str) -> list[Fingerprint]:
    """Clues in one response: headers, generator tag, core ``?v=``, CHANGELOG, drupal.js."""
    clues: list[Fingerprint] = []
    generator = clean(headers.get("x-generator", ""), 200)
    if match := _GENERATOR.match(generator):
        major = int(match.group(1))
        clues.append(_clue(url, None, f"{url}: X-Generator {generator[:60]!r}", family(major)))
    if "x-drupal-dynamic-cache" in headers:
        clues.append(_clue(url, None, f"{url}: X-Drupal-Dynamic-Cache header (8+)", ">=8.0"))
    elif "x-drupal-cache" in headers:
        clues.append(_clue(url, None, f"{url}: X-Drupal-Cache header"))
    if status != 200:
        return clues
    head = text[:1_000_000]
    for value in map(clean, generator_tags(head)):
        if match := _GENERATOR.match(value):
            major = int(match.group(1))
            clues.append(_clue(url, None, f"{url}: generator {value[:60]!r}", family(major)))
    votes = Counter(_CORE_ASSET.findall(head))
    if votes:
        version, count = votes.most_common(1)[0]
        clues.append(_clue(url, version, f"{url}: ?v={version} on {count} core asset(s)"))
    if url.endswith("CHANGELOG.txt") and (match := _CHANGELOG.search(head[:4096])):
        clues.append(
            _clue(url, match.group(1), f"{url}: 'Drupal {match.group(1)}, {match.group(2)}'")
        )
    if url.endswith("/drupal.js") and "Drupal" in head and "behaviors" in head:
        span = ">=8.0" if url.endswith("core/misc/drupal.js") else family(7)
        clues.append(_clue(url, None, f"{url}: Drupal's drupal.js is served", span))
    if "drupalSettings" in head or "data-drupal-selector" in head:
        clues.append(_clue(url, None, f"{url}: drupalSettings in the page (8+)", ">=8.0"))
    elif "Drupal.settings" in head or "/misc/drupal.js" in head:
        clues.append(_clue(url, None, f"{url}: Drupal.settings / misc/drupal.js (7)", family(7)))
    return clues


def _majors(clues: list[Fingerprint]) -> set[str]:
    return {c for clue in clues if clue.cms == CMS for c in clue.candidates}


def version_paths(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Where the release may show: CHANGELOG.txt on 7, install.php's assets on 8+."""
    majors = _majors(clues)
    if family(7) in majors:
        return ("CHANGELOG.txt",)
    if majors:
        return ("core/install.php", "core/CHANGELOG.txt")
    return ("CHANGELOG.txt", "core/install.php")


_MODERN = ("core/misc/drupal.js", "core/misc/ajax.js", "core/misc/states.js")
_LEGACY = ("misc/drupal.js", "misc/ajax.js", "misc/states.js")
# Core's own JavaScript: public on every site, changed by most releases, never
# aggregated away at its source path. Learned from the release tarballs.
HASH_FILES = _MODERN + _LEGACY


def hash_files(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Static files worth hashing for the major version the clues allow."""
    modern, legacy = _MODERN, _LEGACY
    majors = _majors(clues)
    if family(7) in majors:
        return legacy
    return modern if majors else modern[:2] + legacy[:1]


def _clue(url: str, version: str | None, evidence: str, major: str | None = None) -> Fingerprint:
    return Fingerprint(
        url=url, cms=CMS, version=version, candidates=[major] if major else [], evidence=[evidence]
    )
