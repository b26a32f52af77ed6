"""A site's files as the integrity walk (``walk.php``) reports them, and how the manifest
is stored between scans (``SiteFileManifest.manifest``: zlib-compressed lines).

The walk's output comes from a client's server: every line is checked (hex path, numbers,
hex digests, bounded length); a line that is not one of ours makes the walk *partial*,
never a crash and never clean. Paths stay bytes (names are hostile: newlines, invalid
UTF-8); ``shown_path`` is the one way they reach a person.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sitekeeper.domain.untrusted import visible

MAX_LINE = 20_000  # a hex path of ~8 KiB and its numbers; longer is not a line of ours
MAX_PATH_SHOWN = 200
FORMAT = b"sk-manifest 1"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # decompressed: a bound even on our own blob
KINDS = {b"F": "file", b"L": "symlink", b"O": "other"}
_HEX = re.compile(rb"(?:[0-9a-f]{2}){1,8000}")
_SHA256 = re.compile(rb"[0-9a-f]{64}")
_MD5 = re.compile(rb"[0-9a-f]{32}")
_NUMBER = re.compile(rb"[0-9]{1,20}")
_MODE = re.compile(rb"[0-7]{1,6}")
_STOPS = {b"max-files": "the file cap was reached", b"time": "the time limit was reached"}


def shown_path(path: bytes) -> str:
    """A file name as a person may see it: invalid UTF-8 as U+FFFD, controls escaped."""
    return visible(path.decode("utf-8", errors="replace"), MAX_PATH_SHOWN)


def text_path(path: bytes) -> str | None:
    """The path as the vendors' lists spell it, or None when it is not UTF-8 (no list can
    name such a file: it is never a vendor's)."""
    try:
        return path.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One entry of the docroot: a regular file, a symlink (not followed) or other."""

    path: bytes
    kind: str
    size: int
    mtime: int
    ctime: int
    mode: int
    sha256: str | None = None  # None: not hashed (too large, unreadable, not a file)
    md5: str | None = None

    @property
    def stamp(self) -> tuple[int, int, int]:
        """What a rescan compares to decide a file is unchanged."""
        return (self.size, self.mtime, self.ctime)


@dataclass(slots=True)
class Walk:
    """One walk's result. ``problems`` (unreadable entries, lines not ours, a cap or the
    time limit reached, no end line) make it partial: what it did not see is unknown."""

    files: dict[bytes, FileRecord] = field(default_factory=dict)
    listed: int = 0  # as the program counted
    hashed: int = 0  # files it read and hashed this time (the rest were unchanged)
    bytes_hashed: int = 0
    problems: list[str] = field(default_factory=list)
    unreadable: list[bytes] = field(default_factory=list)
    ended: bool = False
    server_time: int | None = None  # the server's clock when the walk began (its ``T`` line)

    @property
    def complete(self) -> bool:
        """Whether every file of the docroot was seen and every regular file hashed."""
        return self.ended and not self.problems and not self.unreadable

    def unhashed(self) -> list[bytes]:
        """Regular files without a digest (over the hash cap, unreadable)."""
        return [p for p, r in self.files.items() if r.kind == "file" and r.sha256 is None]


def previous_lines(previous: Mapping[bytes, FileRecord]) -> bytes:
    """What the walk reads on stdin: each hashed file's hex path and stamp, so it rehashes
    only what changed by size, mtime or ctime."""
    return b"".join(
        b"%s %d %d %d\n" % (r.path.hex().encode(), r.size, r.mtime, r.ctime)
        for r in previous.values()
        if r.kind == "file" and r.sha256 is not None
    )


def parse_walk(output: bytes, marker: str, previous: Mapping[bytes, FileRecord]) -> Walk:
    """The walk's records after ``marker``; ``=`` digests are taken from ``previous``."""
    walk = Walk()
    body = _after_marker(output, marker)
    if body is None:
        walk.problems.append("the walk printed no result")
        return walk
    malformed = 0
    for line in body.split(b"\n"):
        if not line:
            continue
        if walk.ended:
            malformed += 1  # nothing of ours follows the end line
            continue
        if not _record(line, walk, previous):
            malformed += 1
    if malformed:
        walk.problems.append(f"{malformed} line(s) of the walk's output were not records")
    if not walk.ended:
        walk.problems.append("the walk ended before its end line")
    return walk


def _after_marker(output: bytes, marker: str) -> bytes | None:
    at = output.find(marker.encode() + b"\n")
    return None if at < 0 else output[at + len(marker) + 1 :]


def _record(line: bytes, walk: Walk, previous: Mapping[bytes, FileRecord]) -> bool:
    if len(line) > MAX_LINE:
        return False
    parts = line.split(b" ")
    tag = parts[0]
    if tag in KINDS and len(parts) == 8:
        record = _file(parts, previous)
        if record is None:
            return False
        walk.files[record.path] = record
        return True
    if tag == b"X" and len(parts) == 3 and (parts[1] == b"" or _HEX.fullmatch(parts[1])):
        walk.unreadable.append(bytes.fromhex(parts[1].decode()))
        return True
    if tag == b"T" and len(parts) == 2 and _NUMBER.fullmatch(parts[1]) and not walk.files:
        walk.server_time = int(parts[1])
        return True
    if tag == b"E" and len(parts) == 5 and all(_NUMBER.fullmatch(p) for p in parts[1:4]):
        walk.listed, walk.hashed, walk.bytes_hashed = (int(p) for p in parts[1:4])
        walk.ended = True
        if parts[4] != b"-":
            walk.problems.append(_STOPS.get(parts[4], "the walk stopped early"))
        return True
    return False


def _file(parts: list[bytes], previous: Mapping[bytes, FileRecord]) -> FileRecord | None:
    tag, hexpath, size, mtime, ctime, mode, sha, md5 = parts
    if not _HEX.fullmatch(hexpath) or not all(_NUMBER.fullmatch(n) for n in (size, mtime, ctime)):
        return None
    if not _MODE.fullmatch(mode):
        return None
    path = bytes.fromhex(hexpath.decode())
    record = FileRecord(path, KINDS[tag], int(size), int(mtime), int(ctime), int(mode, 8))
    if sha == b"=" and md5 == b"=":
        before = previous.get(path)
        if before is None or before.stamp != record.stamp or tag != b"F":
            return None  # "unchanged" for a file we never sent: not ours
        return replace(record, sha256=before.sha256, md5=before.md5)
    sha_ok = sha == b"-" or _SHA256.fullmatch(sha)
    md5_ok = md5 == b"-" or _MD5.fullmatch(md5)
    if not (sha_ok and md5_ok):
        return None
    return replace(
        record,
        sha256=None if sha == b"-" else sha.decode(),
        md5=None if md5 == b"-" else md5.decode(),
    )


def encode_manifest(records: Iterable[FileRecord], baseline: int | None = None) -> bytes:
    """The manifest as stored: one line per entry, compressed; ``baseline`` (the server's
    clock at the site's first complete scan) is carried from scan to scan."""
    lines = [FORMAT]
    if baseline is not None:
        lines.append(b"B %d" % baseline)
    for r in records:
        kind = next(k for k, v in KINDS.items() if v == r.kind)
        lines.append(
            b"%s %s %d %d %d %o %s %s"
            % (
                kind,
                r.path.hex().encode(),
                r.size,
                r.mtime,
                r.ctime,
                r.mode,
                (r.sha256 or "-").encode(),
                (r.md5 or "-").encode(),
            )
        )
    return zlib.compress(b"\n".join(lines) + b"\n", 6)


@dataclass(slots=True)
class StoredManifest:
    """A stored manifest: its files and the baseline it carries (None: made before
    baselines were kept, or unreadable)."""

    files: dict[bytes, FileRecord] = field(default_factory=dict)
    baseline: int | None = None


def decode_manifest(blob: bytes) -> dict[bytes, FileRecord]:
    """A stored manifest's files; an unreadable or foreign one is empty (the next scan
    hashes all)."""
    return read_manifest(blob).files


def read_manifest(blob: bytes) -> StoredManifest:
    """A stored manifest with its baseline (empty when unreadable or foreign)."""
    stored = StoredManifest()
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(blob, MAX_MANIFEST_BYTES)
    except zlib.error:
        return stored
    if inflater.unconsumed_tail or not data.startswith(FORMAT + b"\n"):
        return stored
    for line in data[len(FORMAT) + 1 :].split(b"\n"):
        parts = line.split(b" ")
        if len(parts) == 8 and parts[0] in KINDS and parts[6] != b"=":
            record = _file(parts, {})
            if record is not None:
                stored.files[record.path] = record
        elif len(parts) == 2 and parts[0] == b"B" and _NUMBER.fullmatch(parts[1]):
            stored.baseline = int(parts[1])
    return stored
