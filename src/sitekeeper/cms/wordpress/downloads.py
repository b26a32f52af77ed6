"""Where WordPress's update packages and their checksums are, and how to read them.

The download server is a setting of its own (``SITEKEEPER_WORDPRESS_DOWNLOADS_URL``), as
the API is (``cms.wordpress.sources``): a mirror or a test's loopback server stands in
for both. Core is checked file by file against the core checksums API (md5), a plugin
against the plugin checksums service where it knows the version (sha256), a theme by the
archive's sha256 that the feed or the operator pinned (WordPress.org publishes none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from sitekeeper.cms.package_source import FileDigests, PackageSource, PerFileChecksums
from sitekeeper.cms.wordpress.api import parse_core_checksums
from sitekeeper.cms.wordpress.sources import api_base
from sitekeeper.config import extension_settings
from sitekeeper.domain.updates import CORE, UpdateItem
from sitekeeper.errors import InvalidFeed, UsageError
from sitekeeper.intel.payload import load_json

CORE_FOLDER = "wordpress"
# what WordPress.org accepts as a slug or version in its download paths
_SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,49}")
_HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "sha256": re.compile(r"[0-9a-f]{64}")}
MAX_CHECKSUM_BYTES = 8 * 1024 * 1024


class WordPressDownloads(BaseModel):
    """The server of release, plugin and theme archives and of plugin checksums."""

    wordpress_downloads_url: str = Field(
        default="https://downloads.wordpress.org",
        description="WordPress.org downloads (or a mirror): archives and plugin checksums.",
    )
    wordpress_locale: str = Field(
        default="en_US", pattern=r"^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,8})*$", description="Core's."
    )


def package_source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    """Where ``item``'s target comes from and what it is checked against (UsageError for a
    slug or version no download path can hold: they come from a site)."""
    settings = extension_settings(WordPressDownloads, vendor)
    downloads = settings.wordpress_downloads_url.rstrip("/")
    version = _checked(_VERSION, item.target, "version")
    if item.type == CORE:
        key = ("wordpress", CORE, CORE_FOLDER, version)
        return PackageSource(
            url=f"{downloads}/release/wordpress-{version}.zip",
            top_folder=CORE_FOLDER,
            cache_key=key,
            checksums=PerFileChecksums(
                url=f"{api_base(vendor)}/core/checksums/1.0/"
                f"?version={version}&locale={settings.wordpress_locale}",
                algorithm="md5",
                parse=_core_checksums,
                label="the WordPress.org core checksums API (md5 of every file)",
            ),
            sha256=sha256,
        )
    slug = _checked(_SLUG, item.package, "slug")
    key = ("wordpress", item.type, slug, version)
    if item.type == "plugin":
        return PackageSource(
            url=f"{downloads}/plugin/{slug}.{version}.zip",
            top_folder=slug,
            cache_key=key,
            checksums=PerFileChecksums(
                url=f"{downloads}/plugin-checksums/{slug}/{version}.json",
                algorithm="sha256",
                parse=parse_plugin_checksums,
                label="the WordPress.org plugin checksums API (sha256 of every file)",
                required=sha256 is None,
            ),
            sha256=sha256,
        )
    if item.type == "theme":
        if sha256 is None:
            raise UsageError(
                f"theme {slug} {version}: WordPress.org publishes no checksums for themes; "
                "the archive's sha256 must be pinned (by the feed or the operator)"
            )
        return PackageSource(
            url=f"{downloads}/theme/{slug}.{version}.zip",
            top_folder=slug,
            cache_key=key,
            sha256=sha256,
        )
    raise UsageError(f"WordPress has no {item.type!r} packages (core, plugin or theme)")


def _checked(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value) or ".." in value:
        raise UsageError(f"not a WordPress {what} a download path can hold: {value[:60]!r}")
    return value


def _core_checksums(body: bytes) -> FileDigests | None:
    found = parse_core_checksums(body, max_bytes=MAX_CHECKSUM_BYTES)
    return None if found is None else {p: frozenset([d]) for p, d in found.items()}


def parse_plugin_checksums(body: bytes) -> FileDigests | None:
    """``/plugin-checksums/<slug>/<version>.json``: path -> sha256 (a list where the
    service saw several builds of a file); None when it does not know the version."""
    what = "WordPress plugin checksums"
    data = load_json(body, what=what, max_bytes=MAX_CHECKSUM_BYTES)
    if not isinstance(data, dict):
        raise InvalidFeed(f"{what}: not an object")
    files = data.get("files")
    if files is None and "error" in data:
        return None
    if not isinstance(files, dict) or not files:
        raise InvalidFeed(f"{what}: no 'files' map")
    result: dict[str, frozenset[str]] = {}
    for path, entry in files.items():
        digests = entry.get("sha256") if isinstance(entry, dict) else None
        listed = [digests] if isinstance(digests, str) else digests
        if not isinstance(listed, list) or not listed:
            raise InvalidFeed(f"{what}: {str(path)[:80]!r} has no sha256")
        if not all(isinstance(d, str) and _HEX["sha256"].fullmatch(d) for d in listed):
            raise InvalidFeed(f"{what}: {str(path)[:80]!r} has a malformed sha256")
        result[str(path)] = frozenset(listed)
    return result
