"""The package step of an update: fetch the vendor's archive to this host, verify it, cache it.

Nothing reaches a site before its archive passed every check its CMS names
(``cms.package_source``): the archive's shape (``updates.package_zip``), the pinned
sha256 and the vendor's per-file checksums. Downloads are streamed to disk under the
egress policy the feeds use, bounded in size and time; a verified archive is kept per
version under the data directory (``<home>/packages/<cms>/<type>/<slug>/<version>/``), so
fifty sites updating one plugin download it once, and the cache is trimmed to a size.
Where a vendor document names the download, one version may be several builds (a Joomla
extension lists one per Joomla major): each URL has its own folder under the version's.
A package its CMS builds on this host instead (``PackageSource.build``: Drupal core by
Composer) is written where a download would be and passes the same checks.
The installers upload the bytes they read only if they still have the verified sha256
(``cms.site_files.verified_bytes``): a cached file changed afterwards reaches no site.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp

from sitekeeper.cms.package_source import PackageSource
from sitekeeper.domain.updates import UpdateItem, VerifiedPackage
from sitekeeper.egress.aio import connector_options
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.fetch import Fetcher, failure_text
from sitekeeper.updates.package_check import check_files
from sitekeeper.updates.package_zip import MiB, ZipLimits, inspect_zip

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_DIGESTS = ("md5", "sha256", "sha384", "sha512")
MAX_LISTING = 8 * MiB  # a release document (update XML, release history)
_ARCHIVE, _RECORD = "package.zip", "verified.json"


@dataclass(frozen=True, slots=True)
class PackageLimits:
    """Bounds of the package step."""

    max_archive: int = 256 * MiB
    timeout: float = 600.0  # one download, connect to last byte
    cache_bytes: int = 2048 * MiB  # the whole cache; least recently used archives go first
    zip: ZipLimits = field(default_factory=ZipLimits)


class PackageCache:
    """Verified archives under ``root``, one folder per (cms, type, slug, version), and
    per download where a vendor document names it (``resolve``)."""

    def __init__(self, root: Path, limits: PackageLimits | None = None) -> None:
        self.root = root
        self.limits = limits or PackageLimits()

    def folder(self, key: tuple[str, ...]) -> Path:
        """Where one version lives; every name checked, so a site's slug names no path."""
        if not key or not all(_NAME.fullmatch(part) and ".." not in part for part in key):
            raise InvalidFeed(f"not a package name the cache can hold: {key!r}"[:200])
        return self.root.joinpath(*key)

    def cached(self, item: UpdateItem, source: PackageSource) -> VerifiedPackage | None:
        """The package verified earlier for this source, if its archive is still intact."""
        folder = self.folder(source.cache_key)
        try:
            record = json.loads((folder / _RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        archive = folder / _ARCHIVE
        if not isinstance(record, dict) or record.get("url") != source.url:
            return None
        if source.sha256 and record.get("sha256") != source.sha256.lower():
            return None
        if source.digests and record.get("digests") != _lower(source.digests):
            return None  # the vendor publishes other digests now: verify again
        if not archive.is_file() or _sha256_of(archive) != record.get("sha256"):
            return None
        os.utime(folder / _RECORD)  # recently used: trimmed last
        return VerifiedPackage(
            item=item,
            path=str(archive),
            sha256=record["sha256"],
            url=source.url,
            checksum_source=str(record.get("checksum_source", "")),
            top_folder=source.top_folder,
        )

    def keep(self, source: PackageSource, download: Path, package: VerifiedPackage) -> Path:
        """Move a verified download into place (atomically) and record why it is trusted."""
        folder = self.folder(source.cache_key)
        archive = folder / _ARCHIVE
        os.replace(download, archive)
        record = {
            "url": source.url,
            "sha256": package.sha256,
            "checksum_source": package.checksum_source,
            "digests": _lower(source.digests),
            "verified_at": time.time(),
        }
        (folder / _RECORD).write_text(json.dumps(record), encoding="utf-8")
        self.trim()
        return archive

    def trim(self) -> list[Path]:
        """Drop the least recently used versions until the cache fits its size."""
        entries = []
        records = [*self.root.glob(f"*/*/*/*/{_RECORD}"), *self.root.glob(f"*/*/*/*/*/{_RECORD}")]
        for record in records:
            archive = record.parent / _ARCHIVE
            size = archive.stat().st_size if archive.exists() else 0
            entries.append((record.stat().st_mtime, size, record.parent))
        total = sum(size for _, size, _ in entries)
        dropped = []
        for _, size, folder in sorted(entries):
            if total <= self.limits.cache_bytes:
                break
            for name in (_RECORD, _ARCHIVE):
                (folder / name).unlink(missing_ok=True)
            total -= size
            dropped.append(folder)
        return dropped


async def obtain(
    item: UpdateItem, source: PackageSource, fetcher: Fetcher, cache: PackageCache
) -> VerifiedPackage:
    """The verified archive of ``item``'s target: from the cache, or downloaded and checked.

    InvalidFeed (permanent) when the archive fails a check: nothing was given to a site;
    FeedError (transient) when it could not be downloaded.
    """
    source = await resolve(source, fetcher)
    found = await asyncio.to_thread(cache.cached, item, source)
    if found is not None:
        return found
    folder = cache.folder(source.cache_key)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, name = tempfile.mkstemp(prefix=".download-", suffix=".zip", dir=folder)
    os.close(handle)
    download = Path(name)
    try:
        said = []
        if source.build is not None:
            said.append(await source.build(download))
            digest, others = await asyncio.to_thread(_digests_of, download, tuple(source.digests))
        else:
            digest, others = await download_to(
                source.url, download, fetcher, cache.limits, tuple(source.digests)
            )
        said.append(f"archive sha256 {digest}")
        if source.size is not None:
            said.append(await asyncio.to_thread(check_size, source, download))
        if source.digests:
            said.append(check_digests(source, {"sha256": digest, **others}))
        if source.sha256:
            if digest != source.sha256.lower():
                raise InvalidFeed(
                    f"{source.url}: the archive's sha256 is {digest}, "
                    f"not the {source.sha256.lower()} of {source.sha256_label}; refused"
                )
            said.append(f"matches {source.sha256_label}")
        contents = await asyncio.to_thread(
            inspect_zip, download, source.top_folder, cache.limits.zip
        )
        shape = f"one top folder {source.top_folder}/" if source.top_folder else "no top folder"
        said.append(f"{shape}, {len(contents.digests)} files")
        if source.shape is not None:
            said.append(await asyncio.to_thread(source.shape, download))
        if source.checksums is not None:
            said.append(await check_files(source, contents, fetcher))
        package = VerifiedPackage(
            item=item,
            path="",
            sha256=digest,
            url=source.url,
            checksum_source="; ".join(said),
            top_folder=source.top_folder,
        )
        archive = cache.keep(source, download, package)
    finally:
        await asyncio.to_thread(download.unlink, missing_ok=True)
    return VerifiedPackage(
        item, str(archive), digest, source.url, package.checksum_source, source.top_folder
    )


async def resolve(source: PackageSource, fetcher: Fetcher) -> PackageSource:
    """The source with the archive's URL and digests its vendor document names (as is,
    when it has none to read)."""
    listing = source.listing
    if listing is None:
        return source
    result = await fetcher.get(listing.url, conditional=False, max_bytes=MAX_LISTING)
    if result.body is None:
        raise FeedError(f"{listing.url}: no body")
    release = listing.parse(result.body)
    build = hashlib.sha256(release.url.encode()).hexdigest()[:16]  # one folder per download
    return replace(
        source,
        url=release.url,
        cache_key=(*source.cache_key, build),
        listing=None,
        digests={**release.digests, **source.digests},
        digests_label=listing.label,
        size=release.size,
    )


def check_size(source: PackageSource, download: Path) -> str:
    """The archive is as long as its vendor says (InvalidFeed if not)."""
    size = download.stat().st_size
    if size != source.size:
        raise InvalidFeed(
            f"{source.url}: the archive is {size} bytes, not the {source.size} of "
            f"{source.digests_label or 'its vendor'}; refused"
        )
    return f"{size} bytes as listed"


def check_digests(source: PackageSource, found: Mapping[str, str]) -> str:
    """Every digest the vendor published matches the archive's (InvalidFeed if one does
    not); what was checked, in words."""
    for name, wanted in sorted(source.digests.items()):
        if found.get(name) != wanted.lower():
            raise InvalidFeed(
                f"{source.url}: the archive's {name} is {found.get(name)}, not the "
                f"{wanted.lower()} of {source.digests_label or 'its vendor'}; refused"
            )
    names = "/".join(sorted(source.digests))
    return f"matches the {names} of {source.digests_label or 'its vendor'}"


async def download_to(
    url: str, dest: Path, fetcher: Fetcher, limits: PackageLimits, also: tuple[str, ...] = ()
) -> tuple[str, dict[str, str]]:
    """Stream ``url`` into ``dest`` under the feeds' egress policy; the body's sha256, and
    its digests by each hashlib name in ``also``."""
    if not url.startswith(("https://", "http://")):
        raise InvalidFeed(f"{url[:100]}: not an http(s) URL")
    settings = fetcher.settings
    sha = hashlib.sha256()
    others = {name: _hasher(name) for name in also if name != "sha256"}
    size = 0
    try:
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**connector_options(settings.egress)),
                timeout=aiohttp.ClientTimeout(total=limits.timeout),
                headers={"User-Agent": settings.user_agent},
                auto_decompress=False,
            ) as session,
            session.get(url, max_redirects=settings.max_redirects) as response,
        ):
            if response.status != 200:
                raise FeedError(f"{url}: HTTP {response.status}")
            declared = response.content_length
            if declared is not None and declared > limits.max_archive:
                raise InvalidFeed(f"{url}: {declared} bytes is over {limits.max_archive}")
            with dest.open("wb") as out:
                async for chunk in response.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > limits.max_archive:
                        raise InvalidFeed(f"{url}: the archive is over {limits.max_archive} bytes")
                    sha.update(chunk)
                    for hasher in others.values():
                        hasher.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
    except aiohttp.TooManyRedirects as exc:
        raise FeedError(f"{url}: too many redirects") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FeedError(f"{url}: {failure_text(exc)}") from exc
    return sha.hexdigest(), {name: hasher.hexdigest() for name, hasher in others.items()}


def _hasher(name: str) -> Any:
    """A hashlib object by name: the SHA-2 family, or MD5 where a vendor publishes only
    that (Drupal's release history; checked beside the sha256 we journal)."""
    if name not in _DIGESTS:
        raise InvalidFeed(f"cannot check a {name[:20]!r} digest")
    return hashlib.new(name, usedforsecurity=name != "md5")


def _lower(digests: Mapping[str, str]) -> dict[str, str]:
    return {name: value.lower() for name, value in digests.items()}


def _digests_of(path: Path, also: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """A local build's sha256, and its digests by each hashlib name in ``also``."""
    sha = hashlib.sha256()
    others = {name: _hasher(name) for name in also if name != "sha256"}
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha.update(chunk)
            for hasher in others.values():
                hasher.update(chunk)
    return sha.hexdigest(), {name: hasher.hexdigest() for name, hasher in others.items()}


def _sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()
