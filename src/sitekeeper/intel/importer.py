"""Advisory import: a file, a directory, a zip or a URL, in any format we read.

The format is recognised from the content (OSV record or list, or a vendor
format a CMS package files in ``intel.advisory_formats``), never from the name. Everything is parsed
before anything is stored, so one bad record rejects the whole import with an
InvalidFeed naming it. Zips are read in memory, never extracted: entry names
that could escape a directory (zip-slip), encrypted entries, and entries that
are too large or too compressed (zip bombs) are refused before decompressing.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from sitekeeper.domain.advisory import Advisory
from sitekeeper.domain.catalogue import VendorRelease
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import FeedError, InvalidFeed
from sitekeeper.intel.advisory_formats import ADVISORY_FORMATS
from sitekeeper.intel.branches import split_by_branch
from sitekeeper.intel.fetch import Fetcher
from sitekeeper.intel.osv import parse_osv
from sitekeeper.intel.payload import load_json

MiB = 1024 * 1024


class Limits:
    """Bounds for one import (class attributes so tests and callers can tighten them)."""

    max_document = 256 * MiB  # the Wordfence production feed is well under this
    max_total = 1024 * MiB  # everything in one zip or directory, decompressed
    max_files = 200_000  # osv.dev's largest ecosystem zip has ~50,000 records
    max_ratio = 200  # decompressed / compressed per zip entry; JSON rarely exceeds 20


def parse_document(data: bytes, *, name: str, limits: type[Limits] = Limits) -> list[Advisory]:
    """Advisories in one document, whichever supported format it is (OSV, or a vendor's
    own format from ``intel.advisory_formats``)."""
    body = (
        None
        if data.lstrip()[:1] == b"<"
        else load_json(data, what=name, max_bytes=limits.max_document)
    )
    if isinstance(body, list):
        return [_osv(record, name, limits) for record in body]
    if isinstance(body, dict) and "id" in body and "modified" in body:
        return [parse_osv(data, max_bytes=limits.max_document)]
    formats = [fmt for _, fmt in ADVISORY_FORMATS.items()]
    for fmt in formats:
        found = fmt.read(data, body, limits.max_document)
        if found is not None:
            return found
    if isinstance(body, dict) and not body:
        return []
    known = ", ".join(["OSV record", "OSV list", *(f.name for f in formats)])
    raise InvalidFeed(f"{name}: not an {known}")


def _osv(record: object, name: str, limits: type[Limits]) -> Advisory:
    if not isinstance(record, dict):
        raise InvalidFeed(f"{name}: an OSV list holds a {type(record).__name__}, not a record")
    return parse_osv(json.dumps(record), max_bytes=limits.max_document)


def load_zip(data: bytes, *, name: str, limits: type[Limits] = Limits) -> list[Advisory]:
    """Every .json/.xml document of a zip, checked entry by entry before reading it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidFeed(f"{name}: not a readable zip ({exc})") from exc
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > limits.max_files:
            raise InvalidFeed(f"{name}: {len(entries)} entries is over the limit")
        total = 0
        advisories: list[Advisory] = []
        for info in entries:
            _check_entry(info, name, limits)
            total += info.file_size
            if total > limits.max_total:
                raise InvalidFeed(f"{name}: over {limits.max_total} bytes decompressed (zip bomb?)")
            if not info.filename.lower().endswith((".json", ".xml")):
                continue
            try:
                with archive.open(info) as member:
                    body = member.read(limits.max_document + 1)  # headers can lie; reads cannot
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                raise InvalidFeed(f"{name}!{info.filename}: unreadable ({exc})") from exc
            if len(body) > limits.max_document:
                raise InvalidFeed(f"{name}!{info.filename}: over the size limit")
            advisories.extend(parse_document(body, name=f"{name}!{info.filename}", limits=limits))
    return advisories


def _check_entry(info: zipfile.ZipInfo, name: str, limits: type[Limits]) -> None:
    entry = info.filename
    parts = PurePosixPath(entry.replace("\\", "/")).parts
    if entry.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise InvalidFeed(f"{name}: entry {entry[:100]!r} escapes the archive (zip-slip)")
    if info.flag_bits & 0x1:
        raise InvalidFeed(f"{name}: entry {entry[:100]!r} is encrypted")
    if info.file_size > limits.max_document:
        raise InvalidFeed(f"{name}: entry {entry[:100]!r} is {info.file_size} bytes, too large")
    if info.file_size > MiB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise InvalidFeed(f"{name}: entry {entry[:100]!r} is compressed too well (zip bomb?)")


def load_path(path: Path, *, limits: type[Limits] = Limits) -> list[Advisory]:
    """A file (JSON, XML or zip) or a directory of them (symlinks are not followed)."""
    try:
        info = path.lstat()
    except OSError as exc:
        raise FeedError(f"{path}: {exc.strerror}", permanent=True) from exc
    if stat.S_ISDIR(info.st_mode):
        return _load_directory(path, limits)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidFeed(f"{path}: not a regular file or directory")
    return _load_file(path, info.st_size, limits)


def _load_file(path: Path, size: int, limits: type[Limits]) -> list[Advisory]:
    cap = limits.max_total if path.suffix.lower() == ".zip" else limits.max_document
    if size > cap:
        raise InvalidFeed(f"{path}: {size} bytes is over the {cap}-byte limit")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        return load_zip(data, name=str(path), limits=limits)
    return parse_document(data, name=str(path), limits=limits)


def _load_directory(root: Path, limits: type[Limits]) -> list[Advisory]:
    advisories: list[Advisory] = []
    files = total = 0
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for filename in sorted(names):
            if not filename.lower().endswith((".json", ".xml", ".zip")):
                continue
            path = Path(folder) / filename
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue  # a symlink could point anywhere on this machine
            files += 1
            total += info.st_size
            if files > limits.max_files or total > limits.max_total:
                raise InvalidFeed(f"{root}: too many or too large files")
            advisories.extend(_load_file(path, info.st_size, limits))
    return advisories


async def load_url(fetcher: Fetcher, url: str, *, limits: type[Limits] = Limits) -> list[Advisory]:
    """A document or zip from a URL (conditional: an empty list when it did not change)."""
    response = await fetcher.get(url, max_bytes=limits.max_total)
    if response.body is None:
        return []
    try:
        if response.body[:4] == b"PK\x03\x04":
            return load_zip(response.body, name=url, limits=limits)
        return parse_document(response.body, name=url, limits=limits)
    except FeedError as exc:
        fetcher.failed(url, str(exc))
        raise


async def load_source(
    source: str, fetcher: Fetcher, *, limits: type[Limits] = Limits
) -> list[Advisory]:
    """A URL, else a path; see :func:`load_url` and :func:`load_path`."""
    if source.startswith(("https://", "http://")):
        return await load_url(fetcher, source, limits=limits)
    return await asyncio.to_thread(_load_local, source, limits)


def _load_local(source: str, limits: type[Limits]) -> list[Advisory]:
    return load_path(Path(source).expanduser(), limits=limits)


def normalise(
    advisories: Iterable[Advisory],
    releases: Callable[[Ecosystem, str], list[VendorRelease]],
) -> list[Advisory]:
    """Per-branch ranges from the vendor's release list (back-ported fixes), duplicates
    collapsed (the last record with an id wins)."""
    result: dict[str, Advisory] = {}
    for advisory in advisories:
        affected = []
        for package in advisory.affected:
            known = releases(package.ecosystem, package.slug) if package.slug else []
            ranges = split_by_branch(package.ranges, known) if known else package.ranges
            affected.append(replace(package, ranges=ranges))
        result[advisory.id] = replace(advisory, affected=tuple(affected))
    return list(result.values())
