"""Joomla from outside: 4+ hides its version in the generator tag but still serves its
public install manifest (``administrator/manifests/files/joomla.xml``) and the core
language pack's metadata, both of which carry the release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sitekeeper.domain.fingerprint import Fingerprint, generator_tags
from sitekeeper.domain.untrusted import clean
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import parse_xml

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sitekeeper.domain.fingerprint import Fingerprint


CMS = "joomla"
VERSION_PATHS = (
    "administrator/manifests/files/joomla.xml",
    "language/en-GB/langmetadata.xml",  # 4.0+
    "language/en-GB/en-GB.xml",  # 3.x
)
DETECT_PATH = "administrator/manifests/files/joomla.xml"
# The core version: 3.8 and later, then 3.0-3.7.


HASH_FILES = (
    "media/system/js/core.min.js",
    "media/system/js/core.js",
    "media/system/css/joomla-fontawesome.min.css",
)
J3 = ">=3.0 <4.0"
MANIFEST_BYTES = 256 * 1024  # the public manifests and the installed ones alike
J4_PLUS = ">=4.0"


_VERSION = re.compile(r"^\d+\.\d+(?:\.\d+)?(?:[-.]?[A-Za-z]+\d*)?$")
# Runs bounded and stopped at "<": a page of "<meta <meta …" must not take quadratic time.
_META_VERSION = re.compile(r"Version\s+(\d+\.\d+(?:\.\d+)?)")


def read(url: str, status: int, headers: Mapping[str, str], text: str) -> list[Fingerprint]:
    """Clues in one response: home page, public manifest or language metadata."""
    if status != 200:
        return []
    head = text[:1_000_000]
    clues: list[Fingerprint] = []
    for value in map(clean, generator_tags(head)):
        if value.startswith("Joomla!"):
            version = _META_VERSION.search(value)
            clues.append(
                _clue(url, version.group(1) if version else None, f"{url}: generator {value!r}")
            )
    if url.endswith(".xml"):
        clues.extend(_xml_clues(url, text))
    if "/media/system/js/" in head:
        clues.append(_clue(url, None, f"{url}: loads /media/system/js/"))
    if "/media/vendor/" in head or "/media/templates/" in head:
        clues.append(_clue(url, None, f"{url}: Joomla 4+ asset paths", family=J4_PLUS))
    elif "/media/jui/" in head:
        clues.append(_clue(url, None, f"{url}: Joomla 3 asset paths (/media/jui/)", family=J3))
    return clues


def _xml_clues(url: str, text: str) -> list[Fingerprint]:
    """The core manifest (``files_joomla``) or the en-GB language metadata."""
    try:
        root = parse_xml(text, what="Joomla public XML", max_bytes=MANIFEST_BYTES)
    except InvalidFeed:
        return []
    name = (root.findtext("name") or "").strip()
    version = (root.findtext("version") or "").strip()
    if not _VERSION.match(version):
        return []
    if root.tag == "extension" and name == "files_joomla":
        return [_clue(url, version, f"{url}: core manifest <version>{version}</version>")]
    if root.tag == "metafile" and "en-GB" in name:
        return [_clue(url, version, f"{url}: en-GB language pack {version}")]
    return []


def version_paths(clues: list[Fingerprint]) -> tuple[str, ...]:
    """The public manifest first; the language metadata of the major the clues allow."""
    families = {c for clue in clues if clue.cms == CMS for c in clue.candidates}
    if J3 in families:
        return (VERSION_PATHS[0], VERSION_PATHS[2])
    if J4_PLUS in families:
        return VERSION_PATHS[:2]
    return VERSION_PATHS


def hash_files(clues: list[Fingerprint]) -> tuple[str, ...]:
    """Static files to hash when no public file names the release."""
    return HASH_FILES


def _clue(url: str, version: str | None, evidence: str, family: str | None = None) -> Fingerprint:
    return Fingerprint(
        url=url,
        cms=CMS,
        version=version,
        candidates=[family] if family else [],
        evidence=[evidence],
    )
