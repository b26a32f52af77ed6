"""Where a CMS's update package comes from and what it must be checked against.

Each CMS package says it for its own packages (WordPress: ``cms.wordpress.downloads``);
the update run's package step (``updates.packages``) fetches, checks and caches, knowing
no CMS. Pure: URLs and parsers, no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# path inside the top folder -> the digests the vendor accepts for it (hex, lower case)
FileDigests = Mapping[str, frozenset[str]]
# a package built on this host instead of downloaded (Drupal core by Composer): writes the
# archive to the path given; what it built, in words (InvalidFeed when the build failed)
LocalBuild = Callable[[Path], Awaitable[str]]


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
class Release:
    """What a vendor's release document says of one release's archive."""

    url: str  # the archive's URL
    digests: Mapping[str, str]  # hashlib name ("sha256", "sha512", "md5") -> hex, lower case
    size: int | None = None  # bytes, where the document says


@dataclass(frozen=True, slots=True)
class ReleaseListing:
    """A vendor document that names a release's archive and its digests (Joomla's update
    XML, Drupal's release history): read by the package step before the download, so the
    archive's URL and what it is checked against come from the vendor, not from a guess."""

    url: str
    parse: Callable[[bytes], Release]  # InvalidFeed when the release is not there
    label: str  # "the update server's <update> for 1.2.0", for the run's journal


@dataclass(frozen=True, slots=True)
class PackageSource:
    """One package of one release: its URL, the folder its archive must hold, its checks."""

    url: str  # "" when ``listing`` names it
    top_folder: str  # the archive's single top folder: the slug, the CMS's for core; "": none
    cache_key: tuple[str, ...]  # (cms, type, slug, version): validated names, no paths
    checksums: PerFileChecksums | None = None
    sha256: str | None = None  # the archive's digest, as a feed or the operator pinned it
    sha256_label: str = "the archive sha256 pinned for this release"
    listing: ReleaseListing | None = None  # read first: the archive's URL and digests
    digests: Mapping[str, str] = field(default_factory=dict)  # more digests of the archive
    digests_label: str = ""
    size: int | None = None  # the archive's size in bytes, where the vendor says it
    # the CMS's own look at the archive's content (its manifest names the slug...): the
    # archive's path on this host -> what was checked, in words; InvalidFeed if it fails
    shape: Callable[[Path], str] | None = None
    build: LocalBuild | None = None  # made here instead of downloaded from ``url``

    @property
    def where(self) -> str:
        """Where the archive comes from, in words, before any download (a dry run)."""
        if self.build is not None:
            return f"built on this host: {self.url}"
        return self.url or (f"as named by {self.listing.label}" if self.listing else "")

    @property
    def checked_against(self) -> str:
        """What the archive will be checked against, in words, before any download."""
        if self.checksums is not None:
            return self.checksums.label
        if self.listing is not None and not self.sha256:
            return f"the digests of {self.listing.label}"
        return self.sha256_label
