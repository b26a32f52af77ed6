"""What is inside an update archive, read without trusting it.

The archive comes from a vendor's server, but a mirror, a compromised download or a
crafted test package must not reach a site: before any digest is taken, every entry's
name is checked (no absolute path, no ``..``, no backslash or control character, one top
folder and it is the expected one), only plain files and folders are accepted (a symlink
in a plugin could point at ``wp-config.php``), and sizes are bounded by what the headers
declare *and* by what actually inflates (a zip bomb lies in its headers).
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.errors import InvalidFeed

MiB = 1024 * 1024
_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds for one archive; WordPress 7.1 is 26 MiB zipped, 80 MiB and 3,500 files
    unpacked, so the defaults leave room without letting a bomb fill the disk."""

    max_entries: int = 20_000
    max_unpacked: int = 512 * MiB
    max_file: int = 128 * MiB
    max_ratio: int = 200  # unpacked / packed, per file (text compresses ~10x)


@dataclass(frozen=True, slots=True)
class ZipContents:
    """The archive's files by path inside the top folder, with their digests."""

    top_folder: str
    digests: dict[str, dict[str, str]]  # path -> {"md5": hex, "sha256": hex}
    unpacked: int  # bytes


def inspect_zip(path: Path, top_folder: str, limits: ZipLimits | None = None) -> ZipContents:
    """Check the archive's shape and hash every file (InvalidFeed says what is wrong).

    ``top_folder`` "" is an archive whose files start at its root (a Joomla extension's:
    its manifest says what it is, checked by the CMS's own ``shape``)."""
    limits = limits or ZipLimits()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_entries(infos, top_folder, limits)
            digests: dict[str, dict[str, str]] = {}
            total = 0
            for info in infos:
                if info.is_dir():
                    continue
                rel = info.filename.split("/", 1)[1] if top_folder else info.filename
                digests[rel], size = _hash_member(archive, info, limits, total)
                total += size
    except (zipfile.BadZipFile, NotImplementedError, EOFError) as exc:
        raise InvalidFeed(f"not a valid zip archive: {exc}") from exc
    return ZipContents(top_folder, digests, total)


def _check_entries(infos: list[zipfile.ZipInfo], top_folder: str, limits: ZipLimits) -> None:
    if not infos:
        raise InvalidFeed("the archive is empty")
    if len(infos) > limits.max_entries:
        raise InvalidFeed(f"the archive has {len(infos)} entries (limit {limits.max_entries})")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unpacked:
        raise InvalidFeed(f"the archive unpacks to {declared} bytes (limit {limits.max_unpacked})")
    seen: set[str] = set()
    tops: set[str] = set()
    for info in infos:
        name = info.filename
        _check_name(name)
        key = name.rstrip("/")
        if key in seen:
            raise InvalidFeed(f"the archive lists {_quoted(name)} twice")
        seen.add(key)
        tops.add(name.split("/", 1)[0])
        if top_folder and "/" not in name.rstrip("/") and not info.is_dir():
            raise InvalidFeed(f"{_quoted(name)} lies outside any top folder")
        _check_kind(info)
    if top_folder and tops != {top_folder}:
        found = ", ".join(_quoted(t) for t in sorted(tops)[:5])
        raise InvalidFeed(f"the archive's top folder must be {top_folder!r} alone; it has {found}")


def _check_name(name: str) -> None:
    if not name or len(name) > 1024:
        raise InvalidFeed("an entry has an empty or overlong name")
    if name.startswith("/") or "\\" in name or ":" in name.split("/", 1)[0]:
        raise InvalidFeed(f"{_quoted(name)} is an absolute or non-POSIX path")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InvalidFeed(f"{_quoted(name)} has a control character in its name")
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        raise InvalidFeed(f"{_quoted(name)} climbs out of its folder")


def _check_kind(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise InvalidFeed(f"{_quoted(info.filename)} is encrypted")
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # Unix attributes: only files and folders
        kind = stat.S_IFMT(mode)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            what = "a symlink" if kind == stat.S_IFLNK else "not a plain file"
            raise InvalidFeed(f"{_quoted(info.filename)} is {what}")
    if info.is_dir() and info.file_size:
        raise InvalidFeed(f"{_quoted(info.filename)} is a folder with content")


def _hash_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, total: int
) -> tuple[dict[str, str], int]:
    """md5 and sha256 of one member, stopping as soon as it inflates past any bound."""
    cap = min(limits.max_file, limits.max_unpacked - total)
    ratio_cap = max(info.compress_size, 1) * limits.max_ratio + MiB
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > cap or size > ratio_cap:
                raise InvalidFeed(f"{_quoted(info.filename)} inflates past its bounds (zip bomb?)")
            md5.update(chunk)
            sha.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}, size


def _quoted(name: str) -> str:
    shown = "".join(c if c.isprintable() else "?" for c in name[:120])
    return repr(shown)
