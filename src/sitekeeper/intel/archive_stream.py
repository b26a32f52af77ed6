"""Hashes of the public files inside a release archive, read as it downloads.

A tar.gz is parsed as a stream (``tarfile`` mode ``r|gz`` in a worker thread, fed
chunk by chunk from the HTTP response through a small bounded queue): nothing of it
touches the disk and at most a few chunks are in memory. A zip keeps its directory
at the end, so it is spooled to one temporary file, bounded by the size the vendor
announced (or a cap), read, and deleted at once. Either way the vendor's digests of
the whole archive are computed while the bytes pass, and the member hashes are only
returned when they match.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO

from sitekeeper.errors import InvalidFeed

MAX_MEMBERS = 100_000  # a CMS archive has ~20k files; more is a bomb
MAX_UNPACKED = 1024 * 1024 * 1024  # sum of member sizes looked at in one archive
QUEUE_DEPTH = 16  # chunks in flight between the download and the parser thread
Wanted = Callable[[str], bool]


@dataclass
class SpoolMeter:
    """Bytes spooled to disk right now and at most, over every archive (for benchmarks)."""

    now: int = 0
    peak: int = 0

    def add(self, size: int) -> None:
        """Count bytes written (negative: released)."""
        self.now += size
        self.peak = max(self.peak, self.now)


@dataclass
class _Digests:
    """The vendor's whole-archive digests, computed as the bytes pass."""

    expected: Mapping[str, str]
    size: int = 0
    _hashers: dict[str, hashlib._Hash] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.expected:
            if name not in hashlib.algorithms_available:
                raise InvalidFeed(f"unknown digest algorithm {name[:40]!r}; archive rejected")
            # Drupal publishes only MD5: integrity; the TLS link vouches for the origin.
            self._hashers[name] = hashlib.new(name, usedforsecurity=name != "md5")

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        for hasher in self._hashers.values():
            hasher.update(chunk)

    def check(self, url: str, length: int | None) -> None:
        if length is not None and self.size != length:
            raise InvalidFeed(f"{url}: {self.size} bytes, the vendor says {length}; rejected")
        for name, hasher in self._hashers.items():
            if hasher.hexdigest() != self.expected[name].lower():
                raise InvalidFeed(f"{url}: {name} does not match the feed; archive rejected")


async def hash_archive(
    url: str,
    chunks: AsyncIterator[bytes],
    *,
    wanted: Wanted,
    strip: int,
    expected: Mapping[str, str],
    length: int | None,
    cap: int,
    max_file: int,
    spool: SpoolMeter | None = None,
) -> dict[str, str]:
    """MD5 of each wanted member of the archive ``chunks`` carry (zip or tar.gz, told by
    its first bytes), after checking the whole against the vendor's digests and length."""
    job = _Job(url, wanted, strip, cap, max_file, length, _Digests(expected))
    first = await anext(chunks, b"")
    if first.startswith(b"PK"):
        return await _zip(job, first, chunks, spool or SpoolMeter())
    return await _tar(job, first, chunks)


@dataclass
class _Job:
    """One archive being read: where from, what to keep, the limits, the running digests."""

    url: str
    wanted: Wanted
    strip: int
    cap: int
    max_file: int
    length: int | None
    digests: _Digests

    def passed(self, chunk: bytes) -> None:
        """Count a chunk into the digests; refuse more bytes than the cap."""
        self.digests.update(chunk)
        if self.digests.size > self.cap:
            raise InvalidFeed(f"{self.url}: larger than {self.cap} bytes")


async def _zip(
    job: _Job, first: bytes, chunks: AsyncIterator[bytes], meter: SpoolMeter
) -> dict[str, str]:
    with tempfile.TemporaryFile(prefix="sitekeeper-release-") as handle:
        try:
            chunk = first
            while chunk:
                job.passed(chunk)
                handle.write(chunk)
                meter.add(len(chunk))
                chunk = await anext(chunks, b"")
            job.digests.check(job.url, job.length)
            handle.seek(0)
            return await asyncio.to_thread(
                _from_zip, handle, job.wanted, job.strip, job.max_file, job.url
            )
        finally:
            meter.add(-job.digests.size)


def _from_zip(
    handle: IO[bytes], wanted: Wanted, strip: int, max_file: int, url: str
) -> dict[str, str]:
    """Read only the wanted members, each capped; the archive is never extracted."""
    found: dict[str, str] = {}
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InvalidFeed(f"{url}: archive has {len(infos)} members")
            for info in infos:
                path = _relative(info.filename, strip)
                if path and not info.is_dir() and info.file_size <= max_file and wanted(path):
                    with archive.open(info) as member:
                        found[path] = _md5_capped(member, max_file)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidFeed(f"{url}: not a readable release archive ({exc})") from exc
    return found


class _Pipe:
    """Chunks from the event loop to a parser thread: a file object whose ``read`` waits
    for the download, with at most ``QUEUE_DEPTH`` chunks in between."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_DEPTH)
        self._buffer = bytearray()
        self._eof = False
        self.closed = False  # the parser stopped: nothing more is wanted

    async def put(self, chunk: bytes | None) -> None:
        if not self.closed:
            await self._queue.put(chunk)

    def end(self) -> None:
        """No more data (or an error on the download side): let a waiting parser finish."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def parser_done(self) -> None:
        """Called by the thread when it stops, so a download blocked on a full queue goes on."""

        def drain() -> None:
            self.closed = True
            while not self._queue.empty():
                self._queue.get_nowait()

        self._loop.call_soon_threadsafe(drain)

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._buffer) < size):
            chunk = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop).result()
            if chunk is None:
                self._eof = True
            else:
                self._buffer += chunk
        cut = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return data


async def _tar(job: _Job, first: bytes, chunks: AsyncIterator[bytes]) -> dict[str, str]:
    pipe = _Pipe(asyncio.get_running_loop())

    def parse() -> dict[str, str]:
        try:
            return _from_tar_stream(pipe, job.wanted, job.strip, job.max_file, job.url)
        finally:
            pipe.parser_done()

    parser = asyncio.ensure_future(asyncio.to_thread(parse))
    try:
        chunk = first
        while chunk:
            job.passed(chunk)
            await pipe.put(chunk)  # once the parser is done, only the digests need the rest
            if parser.done() and parser.exception() is not None:
                break  # not an archive: no use reading on
            chunk = await anext(chunks, b"")
        await pipe.put(None)
    except BaseException:
        pipe.end()
        with contextlib.suppress(Exception):
            await asyncio.shield(parser)
        raise
    found = await parser
    job.digests.check(job.url, job.length)
    return found


def _from_tar_stream(
    stream: _Pipe, wanted: Wanted, strip: int, max_file: int, url: str
) -> dict[str, str]:
    found: dict[str, str] = {}
    seen = unpacked = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:  # type: ignore[call-overload]
            for member in archive:
                seen += 1
                unpacked += max(member.size, 0)
                if seen > MAX_MEMBERS or unpacked > MAX_UNPACKED:
                    raise InvalidFeed(f"{url}: archive is larger than any CMS release")
                path = _relative(member.name, strip)
                if path and member.isfile() and member.size <= max_file and wanted(path):
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        with contextlib.closing(extracted):
                            found[path] = _md5_capped(extracted, max_file)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InvalidFeed(f"{url}: not a readable release archive ({exc})") from exc
    return found


def _relative(name: str, strip: int) -> str:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return ""  # never a release's own file
    return "/".join(parts[strip:])


def _md5_capped(stream: IO[bytes], max_file: int) -> str:
    """MD5 of a member, read in small pieces (``read(n)`` of a buffered reader reserves
    ``n`` bytes at once, so one large read would cost the cap in memory every time)."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > max_file:
            raise InvalidFeed(f"archive member larger than {max_file} bytes")
        digest.update(chunk)
    return digest.hexdigest()
