"""Where a CMS's update package comes from and what it must be checked against.

Each CMS package says it for its own packages (WordPress: ``cms.wordpress.downloads``);
the update run's package step (``updates.packages``) fetches, checks and caches, knowing
no CMS. Pure: URLs and parsers, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

# path inside the top folder -> the digests the vendor accepts for it (hex, lower case)
FileDigests = Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class PerFileChecksums:
    """A vendor service listing each file's digest for one release (WordPress's checksums
    APIs): every file of the archive must be listed and match, and every listed file be in it.
    """

    url: str
    algorithm: str  # "md5" or "sha256": hashlib's name
    # the response body -> the digests, or None when the vendor does not know this version
    parse: Callable[[bytes], FileDigests | None]
    label: str  # "the WordPress.org core checksums API", for the run's journal
    required: bool = True  # False: an unknown version falls back to the pinned sha256


@dataclass(frozen=True, slots=True)
class PackageSource:
    """One package of one release: its URL, the folder its archive must hold, its checks."""

    url: str
    top_folder: str  # the archive's single top folder: the slug, or the CMS's for core
    cache_key: tuple[str, ...]  # (cms, type, slug, version): validated names, no paths
    checksums: PerFileChecksums | None = None
    sha256: str | None = None  # the archive's digest, as a feed or the operator pinned it
    sha256_label: str = "the archive sha256 pinned for this release"
