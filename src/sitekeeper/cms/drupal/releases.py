"""Drupal's release history XML (updates.drupal.org/release-history/<project>/current|7.x).

The same format serves Drupal 7 and 8+, core and contrib; it is where we learn
which branches are supported and which releases are security updates or were
later marked insecure, the per-branch truth advisories lack.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from sitekeeper.cms.drupal.versions import DrupalVersion
from sitekeeper.domain.catalogue import VendorRelease
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, expect_root, parse_xml, text_of

SECURITY_UPDATE = "Security update"
INSECURE = "Insecure"


class ProjectStatus(enum.StrEnum):
    """The project's standing: anything but published means "get off it"."""

    PUBLISHED = "published"
    INSECURE = "insecure"
    REVOKED = "revoked"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class DrupalFile:
    """One ``<files><file>``: an archive of the release with its MD5 and size."""

    url: str
    archive_type: str | None
    md5: str | None
    size: int | None


@dataclass(frozen=True)
class DrupalRelease:
    """One ``<release>``; ``release_types`` are the "Release type" terms."""

    name: str
    version: str
    status: str
    date: datetime | None
    release_types: tuple[str, ...]
    core_compatibility: str | None
    download_link: str | None
    release_link: str | None
    mdhash: str | None = None  # MD5 of the download_link archive
    filesize: int | None = None  # its size in bytes
    files: tuple[DrupalFile, ...] = ()

    def archives(self) -> list[tuple[str, str | None, int | None]]:
        """Every archive the history lists for the release as (URL, MD5, size): its
        ``files`` first, then the ``download_link`` with the release's own digest."""
        listed = [(f.url, f.md5, f.size) for f in self.files]
        if self.download_link:
            listed.append((self.download_link, self.mdhash, self.filesize))
        return listed

    def digest_of(self, url: str) -> tuple[str | None, int | None]:
        """(MD5, size) the history publishes for the archive at ``url``."""
        for link, md5, size in self.archives():
            if link == url and (md5 or size is not None):
                return md5, size
        return None, None

    @property
    def security_update(self) -> bool:
        """The release fixes a security issue."""
        return SECURITY_UPDATE in self.release_types

    @property
    def insecure(self) -> bool:
        """A later security release fixed an issue this release has."""
        return INSECURE in self.release_types

    @property
    def branch(self) -> str:
        """ "8.x-1.x", "2.0.x", "10.4.x"."""
        return DrupalVersion.parse(self.version).branch()


@dataclass(frozen=True)
class ReleaseHistory:
    """A project's release history."""

    short_name: str
    title: str
    project_status: ProjectStatus
    supported_branches: tuple[str, ...]  # prefixes as Drupal writes them: "8.x-1.", "10.4."
    releases: tuple[DrupalRelease, ...]

    def is_supported(self, version: str) -> bool:
        """Whether ``version`` is on a branch the project still supports."""
        return any(version.startswith(prefix) for prefix in self.supported_branches)


def _md5(raw: str | None, what: str) -> str | None:
    if raw is None:
        return None
    digest = raw.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", digest):
        raise InvalidFeed(f"{what}: {raw[:80]!r} is not an MD5 digest")
    return digest


def _size(raw: str | None, what: str) -> int | None:
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise InvalidFeed(f"{what}: {raw[:80]!r} is not a file size")
    return int(raw)


def _file(node: ET.Element, what: str) -> DrupalFile:
    return DrupalFile(
        url=text_of(node, "url", what=what) or "",
        archive_type=text_of(node, "archive_type", what=what, required=False),
        md5=_md5(text_of(node, "md5", what=what, required=False), what),
        size=_size(text_of(node, "size", what=what, required=False), what),
    )


def _release(node: ET.Element, what: str) -> DrupalRelease:
    version = text_of(node, "version", what=what) or ""
    try:
        DrupalVersion.parse(version)
    except ValueError as exc:
        raise InvalidFeed(f"{what}: {exc}") from exc
    raw_date = text_of(node, "date", what=what, required=False)
    if raw_date is not None and not raw_date.isdigit():
        raise InvalidFeed(f"{what}: release {version} has a non-numeric <date>")
    types = tuple(
        (term.findtext("value") or "").strip()
        for term in node.findall("terms/term")
        if (term.findtext("name") or "").strip() == "Release type"
    )
    return DrupalRelease(
        name=text_of(node, "name", what=what, required=False) or version,
        version=version,
        status=text_of(node, "status", what=what, required=False) or "published",
        date=datetime.fromtimestamp(int(raw_date), UTC) if raw_date else None,
        release_types=types,
        core_compatibility=text_of(node, "core_compatibility", what=what, required=False),
        download_link=text_of(node, "download_link", what=what, required=False),
        release_link=text_of(node, "release_link", what=what, required=False),
        mdhash=_md5(text_of(node, "mdhash", what=what, required=False), what),
        filesize=_size(text_of(node, "filesize", what=what, required=False), what),
        files=tuple(_file(file, what) for file in node.findall("files/file")),
    )


def parse_release_history(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ReleaseHistory | None:
    """The history, or None when updates.drupal.org answers ``<error>`` (unknown project)."""
    what = "Drupal release history"
    root = parse_xml(data, what=what, max_bytes=max_bytes)
    if root.tag == "error":
        return None
    expect_root(root, "project", what=what)
    raw_status = text_of(root, "project_status", what=what) or ""
    try:
        status = ProjectStatus(raw_status)
    except ValueError:
        raise InvalidFeed(f"{what}: unknown project_status {raw_status!r}") from None
    branches = text_of(root, "supported_branches", what=what, required=False) or ""
    return ReleaseHistory(
        short_name=text_of(root, "short_name", what=what) or "",
        title=text_of(root, "title", what=what, required=False) or "",
        project_status=status,
        supported_branches=tuple(b.strip() for b in branches.split(",") if b.strip()),
        releases=tuple(_release(node, what) for node in root.findall("releases/release")),
    )


def releases_from_drupal(history: ReleaseHistory) -> list[VendorRelease]:
    """Drupal's release history: dates, "Security update" and "Insecure" terms."""
    return [
        VendorRelease(r.version, r.date, security_update=r.security_update, insecure=r.insecure)
        for r in history.releases
    ]
