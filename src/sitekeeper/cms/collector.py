"""What every CMS inventory over SSH shares: reads confined to the docroot, and PHP's version.

A CMS module subclasses ``Collector`` and writes ``collect``; the rules that keep
a hostile site from steering the reads (symlinks out of the docroot are skipped
with a warning, reads are bounded and a few at a time) live here once.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
from abc import ABC, abstractmethod

from sitekeeper.domain.inventory import Inventory
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import DirEntry, SshConnection

CONFIG_BYTES = 256 * 1024  # a CMS config file (wp-config.php, configuration.php, settings.php)
PARALLEL_READS = 16

_PHP_VERSION = re.compile(r"^\d+\.\d+\.\d+[\w.+~-]*$")


class Collector(ABC):
    """One inventory run: the connection, the resolved docroot and what was skipped."""

    def __init__(self, conn: SshConnection, docroot: str) -> None:
        self.conn = conn
        self.docroot = docroot
        self.root = ""  # the docroot with symlinks resolved; set by ``collect``
        self.warnings: list[str] = []
        self._gate = asyncio.Semaphore(PARALLEL_READS)

    @abstractmethod
    async def collect(self) -> Inventory:
        """The site's inventory; RemoteError (permanent) if the docroot is not this CMS."""

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")

    async def read_inside(self, path: str, max_bytes: int) -> bytes | None:
        """A bounded read of a regular file that resolves inside the docroot, else None."""
        async with self._gate:
            if await self.conn.lstat(path) is None:
                return None
            real = await self.conn.realpath(path)
            if not self.inside(real):
                self.warnings.append(f"skipped {path}: resolves outside the docroot to {real}")
                return None
            try:
                return await self.conn.read_file(real, max_bytes)
            except RemoteError as exc:
                self.warnings.append(f"skipped {path}: {exc}")
                return None

    async def php_version(self) -> str | None:
        """The CLI PHP's version (usually the same build as the site's FPM/CGI PHP)."""
        result = await self.conn.run(["php", "-r", "echo PHP_VERSION;"], check=False)
        version = result.text.strip()
        if result.exit_status != 0 or not _PHP_VERSION.match(version):
            self.warnings.append("php CLI not available; PHP version unknown")
            return None
        return version

    async def resolve(self, base: str, entry: DirEntry) -> str | None:
        """The kind an entry really is, following a symlink only if it stays inside."""
        if entry.kind != "symlink":
            return entry.kind
        path = posixpath.join(base, entry.name)
        real = await self.conn.realpath(path)
        if not self.inside(real):
            self.warnings.append(f"skipped {path}: symlink out of the docroot to {real}")
            return None
        target = await self.conn.lstat(real)
        return target.kind if target is not None else None
