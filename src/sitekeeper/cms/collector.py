"""What every CMS inventory over SSH shares: reads confined to the docroot and bounded.

A CMS module subclasses ``Collector`` and writes ``collect``; the rules that keep
a hostile site from steering or swelling the reads live here once:

- a symlink that resolves out of the docroot is skipped with a warning;
- every SFTP operation waits at one gate, a few at a time;
- a directory listing stops at its cap while it streams, and the work on one
  real directory is done once per inventory (:meth:`Collector.once`), so a
  thousand symlinks to one big folder cost one listing;
- what is read counts against a byte budget, and the run has a deadline; past
  either, the inventory is refused (:class:`InventoryRefused`) instead of the
  process growing or hanging.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sitekeeper.domain.humanize import size
from sitekeeper.domain.inventory import Inventory
from sitekeeper.domain.untrusted import clean, visible
from sitekeeper.errors import InventoryRefused, RemoteError
from sitekeeper.remote.ssh import (
    CommandResult,
    DirEntry,
    DirListing,
    EntryKind,
    SshConnection,
    server_refused,
)

if TYPE_CHECKING:
    from sitekeeper.config import Settings

T = TypeVar("T")

CONFIG_BYTES = 256 * 1024  # a CMS config file (wp-config.php, configuration.php, settings.php)
PARALLEL_READS = 16
ENTRY_BYTES = 256  # what one listed directory entry counts for against the byte budget
SCAN_ENTRIES = 100_000  # entries streamed from an extension directory to find its first ones
MAX_WARNING_PATH = 200

_PHP_VERSION = re.compile(r"^\d+\.\d+\.\d+[\w.+~-]*$")


@dataclass(frozen=True)
class InventoryLimits:
    """How long one inventory may take and how many bytes it may read from the site."""

    deadline: float = 300.0
    max_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> InventoryLimits:
        """The operator's limits (``SITEKEEPER_INVENTORY_DEADLINE`` / ``_MAX_BYTES``)."""
        return cls(deadline=settings.inventory_deadline, max_bytes=settings.inventory_max_bytes)


class Collector(ABC):
    """One inventory run: the connection, the resolved docroot, its limits and warnings."""

    def __init__(
        self, conn: SshConnection, docroot: str, limits: InventoryLimits | None = None
    ) -> None:
        self.conn = conn
        self.docroot = docroot
        self.limits = limits or InventoryLimits()
        self.root = ""  # the docroot with symlinks resolved; set by ``collect``
        self.warnings: list[str] = []
        self.spent = 0  # bytes read so far, as counted against the budget
        self._gate = asyncio.Semaphore(PARALLEL_READS)
        self._done: dict[tuple[str, str], Any] = {}
        self._busy: dict[tuple[str, str], asyncio.Lock] = {}

    @abstractmethod
    async def collect(self) -> Inventory:
        """The site's inventory; RemoteError (permanent) if the docroot is not this CMS."""

    async def run(self) -> Inventory:
        """``collect`` within the deadline; InventoryRefused past it."""
        try:
            async with asyncio.timeout(self.limits.deadline):
                return await self.collect()
        except TimeoutError:
            raise InventoryRefused(
                f"inventory refused: {self._quoted(self.docroot)} exceeds the deadline of "
                f"{self.limits.deadline:g} s for one inventory"
            ) from None

    def warn(self, message: str) -> None:
        """A warning kept with the inventory (one line; a remote name's controls visible)."""
        self.warnings.append(visible(message, 1000))

    def spend(self, count: int, where: str) -> None:
        """Count ``count`` bytes read from ``where``; InventoryRefused past the budget."""
        self.spent += count
        if self.spent > self.limits.max_bytes:
            raise InventoryRefused(
                f"inventory refused: what {self._quoted(self.docroot)} gives to read exceeds "
                f"the budget of {size(self.limits.max_bytes)} per inventory "
                f"(reached at {self._quoted(where)})"
            )

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")

    async def stat(self, path: str) -> DirEntry | None:
        """``lstat`` through the gate."""
        async with self._gate:
            return await self.conn.lstat(path)

    async def real(self, path: str) -> str:
        """``realpath`` through the gate."""
        async with self._gate:
            return await self.conn.realpath(path)

    async def read_inside(self, path: str, max_bytes: int) -> bytes | None:
        """A bounded read of a regular file that resolves inside the docroot, else None."""
        async with self._gate:
            if await self.conn.lstat(path) is None:
                return None
            real = await self.conn.realpath(path)
            if not self.inside(real):
                self.warn(f"skipped {path}: resolves outside the docroot to {real}")
                return None
            try:
                data = await self.conn.read_file(real, max_bytes)
            except RemoteError as exc:
                self.warn(f"skipped {path}: {exc}")
                return None
        self.spend(len(data), path)
        return data

    async def scan(self, path: str, *, keep: int | None = None) -> DirListing:
        """A directory's entries (dot-files left out), capped while they stream, counted
        against the budget. With ``keep``: the first ``keep`` by name of up to
        SCAN_ENTRIES; else at most the connection's ``max_entries``."""
        async with self._gate:
            if keep is None:
                listing = await self.conn.scan_dir(path, skip_hidden=True)
            else:
                listing = await self.conn.scan_dir(
                    path, limit=SCAN_ENTRIES, keep=keep, skip_hidden=True
                )
        self.spend((listing.read + listing.undecodable) * ENTRY_BYTES, path)
        if listing.undecodable:
            self.warn(f"{path}: skipped {listing.undecodable} entries whose names are not UTF-8")
        return listing

    async def extension_entries(
        self, relative: str, cap: int, what: str
    ) -> tuple[str, list[DirEntry]]:
        """The real path of an extension directory inside the docroot and its first ``cap``
        entries by name (no entries if it is missing or resolves outside).

        More than that is a site sitekeeper does not read in full: what was read is
        kept, and a warning says how many there are and what the cap is.
        """
        base = self.path(relative)
        if await self.stat(base) is None:
            return base, []
        real = await self.real(base)
        if not self.inside(real):
            self.warn(f"skipped {base}: resolves outside the docroot to {real}")
            return real, []
        listing = await self.once("scan", real, lambda: self.scan(real, keep=cap))
        if not listing.complete or listing.read > cap:
            count = f"{listing.read:,}" if listing.complete else f"more than {listing.read:,}"
            self.warn(
                f"the site has more {what} than sitekeeper reads: {base} has {count} "
                f"entries; the first {len(listing.entries):,} by name were read "
                f"(cap {cap:,})"
            )
        return real, listing.entries

    async def locate(self, base: str, entry: DirEntry) -> tuple[str, EntryKind] | None:
        """The real path and kind of an entry of the real directory ``base``, following a
        symlink only if it stays inside the docroot (else None, with a warning)."""
        path = posixpath.join(base, entry.name)
        if entry.kind != "symlink":
            return path, entry.kind
        real = await self.real(path)
        if not self.inside(real):
            self.warn(f"skipped {path}: symlink out of the docroot to {real}")
            return None
        target = await self.stat(real)
        return (real, target.kind) if target is not None else None

    async def resolve(self, base: str, entry: DirEntry) -> EntryKind | None:
        """The kind an entry really is, following a symlink only if it stays inside."""
        located = await self.locate(base, entry)
        return located[1] if located is not None else None

    async def once(self, purpose: str, real: str, work: Callable[[], Awaitable[T]]) -> T:
        """``work`` on the real path ``real`` for ``purpose``, done once per inventory: later
        callers (symlinks to the same directory) wait for it and get its result or error."""
        key = (purpose, real)
        async with self._busy.setdefault(key, asyncio.Lock()):
            if key not in self._done:
                try:
                    self._done[key] = await work()
                except RemoteError as exc:
                    self._done[key] = exc
            outcome = self._done[key]
        if isinstance(outcome, RemoteError):
            raise outcome
        return cast("T", outcome)

    async def skipping(self, where: str, work: Awaitable[T | None]) -> T | None:
        """``work``, or None with a warning if the server refused one of its paths (gone,
        no permission, a symlink loop). A lost connection or a refusal still fails."""
        try:
            return await work
        except InventoryRefused:
            raise
        except RemoteError as exc:
            if not (exc.permanent or server_refused(exc)):
                raise
            self.warn(f"skipped {where}: {exc}")
            return None

    async def run_remote(self, argv: list[str], *, stdin: bytes | None = None) -> CommandResult:
        """A remote command whose output counts against the budget."""
        result = await self.conn.run(argv, stdin=stdin, check=False)
        self.spend(len(result.stdout) + len(result.stderr), argv[0])
        return result

    async def php_version(self) -> str | None:
        """The CLI PHP's version (usually the same build as the site's FPM/CGI PHP)."""
        result = await self.run_remote(["php", "-r", "echo PHP_VERSION;"])
        version = clean(result.text)
        if result.exit_status != 0 or not _PHP_VERSION.match(version):
            self.warn("php CLI not available; PHP version unknown")
            return None
        return version

    @staticmethod
    def _quoted(path: str) -> str:
        return visible(path, MAX_WARNING_PATH)


async def gather(*coros: Coroutine[Any, Any, Any]) -> list[Any]:
    """Results in order; the first failure cancels the rest (no read goes on after an
    inventory is refused) and is raised as itself, not as an exception group."""
    return await gather_each(coros)


async def gather_each(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """:func:`gather` for one type of result."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                tasks.append(group.create_task(coro))
    except BaseExceptionGroup as failed:
        first = _first(failed)
    else:
        return [task.result() for task in tasks]
    raise first


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
