"""The one SSH layer: connect with a pinned host key, run quoted commands, read bounded.

Inventory, backups and updates all go through :func:`connect`. Sites may be
hacked, so everything is bounded: connect and per-operation timeouts, a cap
on command output and on file reads, and every argument is shell-quoted --
site data never reaches the remote shell unquoted.

Over 400 lines on purpose: it is the one SSH layer, and every bound against a hacked
server (timeouts, output caps, quoting) is kept in one file to be reviewed together.
"""

from __future__ import annotations

import asyncio
import shlex
import stat
from collections.abc import AsyncGenerator, Awaitable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar, cast

import asyncssh

from sitekeeper.domain.untrusted import server_said, shown
from sitekeeper.errors import RemoteError
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.hostkeys import HostKeyCheck, HostKeyPins

T = TypeVar("T")
EntryKind = Literal["file", "dir", "symlink", "other"]


@dataclass(frozen=True)
class Limits:
    """Time and size bounds for one connection."""

    connect_timeout: float = 15.0
    command_timeout: float = 120.0
    max_output: int = 4 * 1024 * 1024  # per stream of one command
    max_entries: int = 20_000  # per directory listing


@dataclass(frozen=True)
class CommandResult:
    """What a remote command returned."""

    argv: tuple[str, ...]
    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        """stdout decoded leniently (sites print anything)."""
        return self.stdout.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class DirEntry:
    """A directory entry as ``lstat`` sees it: symlinks are not followed."""

    name: str
    kind: EntryKind
    size: int


@dataclass(frozen=True)
class DirListing:
    """What a capped scan of a directory kept (sorted by name) and how far it read."""

    entries: list[DirEntry]
    read: int  # entries the server sent before the scan stopped
    complete: bool  # False: the directory has more than ``read`` entries
    undecodable: int = 0  # entries left out: their names are not UTF-8 (no path can name them)


def quote_argv(argv: Sequence[str]) -> str:
    """The one place a command line is built: every argument shell-quoted."""
    if not argv:
        raise ValueError("empty command")
    return " ".join(shlex.quote(arg) for arg in argv)


class SshConnection:
    """An open SSH connection to one site; use as an async context manager."""

    def __init__(self, conn: asyncssh.SSHClientConnection, label: str, limits: Limits) -> None:
        self._conn = conn
        self._label = label
        self.limits = limits
        self._sftp: asyncssh.SFTPClient | None = None

    async def __aenter__(self) -> SshConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close SFTP and the connection."""
        if self._sftp is not None:
            self._sftp.exit()
        self._conn.close()
        await self._conn.wait_closed()

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        time_limit: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` (quoted) with bounded time and output.

        Secrets go in ``stdin``, never in ``argv``: the command line is visible
        to ``ps`` on the server. With ``check`` a non-zero exit is a RemoteError.
        Messages and the result name ``argv``, whatever :meth:`command_line` wraps it in.
        """
        command = quote_argv(self.command_line(argv))
        limit = self.limits.max_output
        deadline = time_limit or self.limits.command_timeout
        try:
            async with asyncio.timeout(deadline):
                process = await self._conn.create_process(command, encoding=None)
                try:
                    if stdin is not None:
                        process.stdin.write(stdin)
                    process.stdin.write_eof()
                    out, err = await _read_both(process, limit)
                    if out is None or err is None:
                        raise RemoteError(
                            f"{self._label}: output of {argv[0]} exceeded {limit} bytes; stopped"
                        )
                    completed = await process.wait()
                finally:
                    if process.exit_status is None:
                        process.terminate()  # a runaway command must not outlive its request
                    process.close()
        except TimeoutError:
            raise RemoteError(f"{self._label}: {argv[0]} timed out after {deadline:g}s") from None
        except (asyncssh.Error, OSError) as exc:
            raise RemoteError(
                f"{self._label}: running {argv[0]} failed: {shown(str(exc))}"
            ) from exc
        status = completed.exit_status if completed.exit_status is not None else -1
        result = CommandResult(tuple(argv), status, out, err)
        if check and status != 0:  # stderr is the server's: quoted, one line, escapes visible
            raise RemoteError(
                f"{self._label}: {argv[0]} exited with {status}: {server_said(err, 500)}"
            )
        return result

    def command_line(self, argv: Sequence[str]) -> list[str]:
        """What runs on the server for ``argv`` (a subclass wraps it: ``sudo -u``...)."""
        return list(argv)

    async def read_file(self, path: str, max_bytes: int) -> bytes:
        """At most the first ``max_bytes`` of a regular file (a FIFO or device is refused)."""
        sftp = await self.sftp()

        async def read() -> bytes:
            attrs = await sftp.stat(path)
            if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                raise RemoteError(f"{self._label}: {path} is not a regular file", permanent=True)
            async with sftp.open(path, "rb") as handle:
                data = await handle.read(max_bytes)
            return data if isinstance(data, bytes) else data.encode()

        return await self._sftp_op(f"reading {path}", read())

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        """Create or replace a file with ``mode`` set before any data is written."""
        sftp = await self.sftp()

        async def write() -> None:
            attrs = asyncssh.SFTPAttrs(permissions=mode)
            async with sftp.open(path, "wb", attrs) as handle:
                await handle.write(data)

        await self._sftp_op(f"writing {path}", write())

    async def remove(self, path: str) -> None:
        """Delete one file or symlink (not a directory)."""
        sftp = await self.sftp()
        await self._sftp_op(f"removing {path}", sftp.remove(path))

    async def list_dir(self, path: str) -> list[DirEntry]:
        """Entries of a directory without following symlinks; RemoteError (permanent) if it
        has more than ``max_entries`` (found while the listing streams, not after)."""
        listing = await self.scan_dir(path)
        if not listing.complete:
            raise RemoteError(
                f"{self._label}: {path} has over {self.limits.max_entries} entries; not listed",
                permanent=True,
            )
        return listing.entries

    async def scan_dir(
        self,
        path: str,
        *,
        limit: int | None = None,
        keep: int | None = None,
        skip_hidden: bool = False,
    ) -> DirListing:
        """A directory's entries (symlinks not followed), streamed and capped as they come.

        At most ``limit`` entries are read (default ``max_entries``); of those the
        ``keep`` first by name are kept (default all, never more than ``max_entries``),
        so a directory of a million entries costs the memory of ``keep``, and the
        same entries are kept whatever order the server lists them in.
        ``skip_hidden`` leaves out dot-files before they count.
        """
        read_cap = limit if limit is not None else self.limits.max_entries
        keep_cap = min(keep if keep is not None else read_cap, self.limits.max_entries)
        sftp = await self.sftp()

        async def scan() -> DirListing:
            kept: list[DirEntry] = []
            read = undecodable = 0
            # Bytes in, bytes out: one name that is not UTF-8 must not fail the whole listing.
            scandir = cast("AsyncGenerator[asyncssh.SFTPName]", sftp.scandir(path.encode("utf-8")))
            async with aclosing(scandir) as names:
                async for item in names:
                    raw = item.filename
                    if raw in (b".", b"..") or (skip_hidden and raw[:1] in (b".", ".")):
                        continue
                    if read >= read_cap:
                        kept = _first_by_name(kept, keep_cap)
                        return DirListing(kept, read, complete=False, undecodable=undecodable)
                    read += 1
                    try:
                        name = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    except UnicodeDecodeError:
                        undecodable += 1
                        continue
                    kept.append(DirEntry(name, _kind(item.attrs), item.attrs.size or 0))
                    if len(kept) >= 2 * keep_cap:
                        kept = _first_by_name(kept, keep_cap)
            kept = _first_by_name(kept, keep_cap)
            return DirListing(kept, read, complete=True, undecodable=undecodable)

        return await self._sftp_op(f"listing {path}", scan())

    async def lstat(self, path: str) -> DirEntry | None:
        """The entry at ``path`` (symlinks not followed), or None if it does not exist."""
        sftp = await self.sftp()
        try:
            attrs = await self._sftp_op(f"inspecting {path}", sftp.lstat(path))
        except RemoteError as exc:
            if isinstance(exc.__cause__, asyncssh.SFTPNoSuchFile):
                return None
            raise
        return DirEntry(Path(path).name, _kind(attrs), attrs.size or 0)

    async def realpath(self, path: str) -> str:
        """The canonical path the server resolves ``path`` to (symlinks followed)."""
        sftp = await self.sftp()
        real = await self._sftp_op(f"resolving {path}", sftp.realpath(path))
        return real if isinstance(real, str) else real.decode()

    async def sftp(self) -> asyncssh.SFTPClient:
        """The connection's SFTP session, opened on first use."""
        if self._sftp is None:
            self._sftp = await self._sftp_op("starting SFTP", self._conn.start_sftp_client())
        return self._sftp

    async def _sftp_op(self, what: str, operation: Awaitable[T]) -> T:
        """Await one SFTP operation under the command timeout, errors as RemoteError."""
        try:
            async with asyncio.timeout(self.limits.command_timeout):
                return await operation
        except TimeoutError:
            raise RemoteError(f"{self._label}: {what} timed out") from None
        except asyncssh.SFTPError as exc:
            permanent = isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPPermissionDenied)
            raise RemoteError(  # the reason is the SFTP server's words
                f"{self._label}: {what} failed: {shown(exc.reason, 200)}", permanent=permanent
            ) from exc
        except (asyncssh.Error, OSError) as exc:
            raise RemoteError(f"{self._label}: {what} failed: {shown(str(exc), 200)}") from exc


async def connect(
    access: SshAccess,
    pins: HostKeyPins,
    *,
    private_key: str | None = None,
    limits: Limits | None = None,
) -> SshConnection:
    """Open a connection to a site, checking its host key against the pin.

    The key is ``private_key`` (OpenSSH/PEM text, decrypted from the vault by
    ``store.ssh_keys.ssh_login``): it stays in memory, no key file is read.
    Agent, ``~/.ssh/config`` and passwords are never used: what runs is exactly
    what the site record says. With ``access.sudo_user`` the connection works as that
    user (``remote.as_owner``).
    """
    limits = limits or Limits()
    label = access.label
    keys = _client_keys(private_key, label)
    check = await HostKeyCheck.load(pins, access.host, access.port)
    try:
        async with asyncio.timeout(limits.connect_timeout):
            conn = await asyncssh.connect(
                access.host,
                access.port,
                username=access.user,
                client_keys=keys,
                known_hosts=check.known_hosts(),
                server_host_key_algs=check.host_key_algs(),
                client_factory=check.client_factory,
                agent_path=None,
                config=None,
                password=None,
                preferred_auth="publickey",
                connect_timeout=limits.connect_timeout,
                keepalive_interval=30,
            )
    except TimeoutError:
        raise RemoteError(
            f"{label}: no SSH connection within {limits.connect_timeout:g}s (timeout)"
        ) from None
    except asyncssh.HostKeyNotVerifiable as exc:
        if check.pinned is not None:
            raise check.changed() from exc
        raise RemoteError(f"{label}: host key not accepted: {shown(exc.reason, 200)}") from exc
    except asyncssh.KeyExchangeFailed as exc:
        if check.pinned is not None and "host key" in exc.reason.lower():
            raise check.changed() from exc  # the server no longer has a key of the pinned type
        raise RemoteError(
            f"{label}: SSH key exchange failed: {server_said(exc.reason, 200)}"
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise RemoteError(
            f"{label}: SSH authentication failed (key not accepted for user {access.user})",
            permanent=True,
        ) from exc
    except ConnectionRefusedError as exc:
        raise RemoteError(f"{label}: connection refused (is SSH listening?)") from exc
    except asyncssh.Error as exc:
        # the reason may be the server's own words (a disconnect message): quoted, one line
        raise RemoteError(f"{label}: SSH failed: {server_said(exc.reason, 200)}") from exc
    except OSError as exc:
        raise RemoteError(f"{label}: cannot connect: {exc.strerror or exc}") from exc
    try:
        await check.confirm(conn)
    except BaseException:
        conn.close()
        raise
    if access.sudo_user:  # the files' owner is another account: work as it
        from sitekeeper.remote.as_owner import OwnerConnection  # noqa: PLC0415 (it subclasses this)

        return OwnerConnection(conn, label, limits, access.sudo_user)
    return SshConnection(conn, label, limits)


def _client_keys(private_key: str | None, label: str) -> list[asyncssh.SSHKey]:
    if private_key is None:
        raise RemoteError(f"{label}: no SSH key configured for this site", permanent=True)
    try:
        return [asyncssh.import_private_key(private_key)]
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise RemoteError(
            f"{label}: cannot load the SSH private key: {exc}", permanent=True
        ) from exc


async def _read_both(
    process: asyncssh.SSHClientProcess[bytes], limit: int
) -> tuple[bytes | None, bytes | None]:
    """stdout and stderr together; as soon as one overflows the other is abandoned."""
    readers = [
        asyncio.ensure_future(_read_bounded(process.stdout, limit)),
        asyncio.ensure_future(_read_bounded(process.stderr, limit)),
    ]
    try:
        pending = set(readers)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(task.result() is None for task in done):
                return None, None
        return readers[0].result(), readers[1].result()
    finally:
        for task in readers:
            task.cancel()


async def _read_bounded(stream: asyncssh.SSHReader[bytes], limit: int) -> bytes | None:
    """Read a stream to EOF; None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _first_by_name(entries: list[DirEntry], count: int) -> list[DirEntry]:
    return sorted(entries, key=lambda e: e.name)[:count]


def server_refused(exc: RemoteError) -> bool:
    """Whether an SFTP operation failed because the server answered with an error for that
    path (no such file, permission denied, a symlink loop): the connection itself is fine."""
    return isinstance(exc.__cause__, asyncssh.SFTPError)


def _kind(attrs: asyncssh.SFTPAttrs) -> EntryKind:
    if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
        return "symlink"
    if attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
        return "dir"
    if attrs.type == asyncssh.FILEXFER_TYPE_REGULAR:
        return "file"
    if attrs.type in (None, asyncssh.FILEXFER_TYPE_UNKNOWN) and attrs.permissions is not None:
        return _kind_from_mode(attrs.permissions)
    return "other"


def _kind_from_mode(mode: int) -> EntryKind:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"
