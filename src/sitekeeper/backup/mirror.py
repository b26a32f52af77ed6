"""Incremental file transfer: rsync over OpenSSH, trusting only the site's pinned host key.

Each site has a local mirror of its docroot. rsync's delta algorithm sends
only what changed since the last run, so the second backup of an unchanged
site moves a file list, not the site. ssh gets a known_hosts file written from
the pin in the store (``StrictHostKeyChecking=yes``): a changed key stops the
transfer just as it stops the asyncssh layer. No agent, no ``~/.ssh/config``.
A transport may carry a bandwidth cap (``--bwlimit``) so that a backup or an
in-place restore never saturates the client server's link.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.backup.errors import BackupError
from sitekeeper.domain.untrusted import server_said
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.as_owner import sudo_argv

_ALIAS = "sitekeeper-pinned-host"
_VANISHED = 24  # files vanished while the list was sent: normal on a live site
_STAT = re.compile(r"^([A-Za-z ]+?):\s+([\d,.]+)", re.MULTILINE)
_STDERR_KEEP = 16 * 1024


@dataclass(frozen=True)
class SshTransport:
    """The OpenSSH client command for one site: its key, port and pinned host key."""

    access: SshAccess
    host_key: str  # "type base64" from the pin
    known_hosts: Path
    io_timeout: int = 300
    ssh_binary: str = "ssh"
    bwlimit_kbps: int = 0  # rsync's KiB/s (1024 bytes); 0: no cap
    key_file: Path | None = None  # a 0600 copy of the site's stored key for this run

    def __post_init__(self) -> None:
        if self.bwlimit_kbps < 0:
            raise ValueError(f"bandwidth cap must be 0 (none) or positive, not {self.bwlimit_kbps}")

    async def __aenter__(self) -> SshTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.remove_key()

    def remove_key(self) -> None:
        """Delete this run's copy of the site's key (``async with transport`` does it)."""
        if self.key_file is not None:
            self.key_file.unlink(missing_ok=True)

    def write_known_hosts(self) -> None:
        """A one-line known_hosts for the alias ssh checks (so IPv6/ports need no quoting)."""
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        self.known_hosts.write_text(f"{_ALIAS} {self.host_key}\n", encoding="ascii")

    def argv(self) -> list[str]:
        """``ssh`` with every option pinned; ``--``, the destination and command follow.

        The site's host and user travel as ``HostName``/``User`` options: the
        destination ssh and rsync see is the fixed alias, so no site data is
        ever an argument ssh could read as an option.
        """
        if self.key_file is None:
            raise BackupError(
                f"{self.access.host}: backups need the site's SSH key", permanent=True
            )
        interval = max(5, self.io_timeout // 4)
        options = {
            "UserKnownHostsFile": str(self.known_hosts),
            "GlobalKnownHostsFile": "/dev/null",
            "HostKeyAlias": _ALIAS,
            "HostName": self.access.host,
            "User": self.access.user,
            "HostKeyAlgorithms": self.host_key.split()[0],
            "StrictHostKeyChecking": "yes",
            "BatchMode": "yes",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "PasswordAuthentication": "no",
            "ConnectTimeout": "15",
            "ServerAliveInterval": str(interval),
            "ServerAliveCountMax": "4",
        }
        argv = [self.ssh_binary, "-F", "/dev/null", "-i", str(self.key_file)]
        argv += ["-p", str(self.access.port)]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        return argv

    @property
    def destination(self) -> str:
        """The fixed alias :meth:`argv` maps to the site's host and user."""
        return _ALIAS


@dataclass(frozen=True)
class TransferStats:
    """What one rsync run did, from ``--stats``."""

    files: int
    files_transferred: int
    total_size: int
    bytes_sent: int
    bytes_received: int

    @property
    def network_bytes(self) -> int:
        """Bytes that crossed the network in both directions."""
        return self.bytes_sent + self.bytes_received


def parse_stats(output: str) -> TransferStats:
    """``rsync --stats`` figures (thousands separators dropped)."""
    found = {name.strip().lower(): value for name, value in _STAT.findall(output)}

    def number(name: str) -> int:
        text = found.get(name, "0").replace(",", "")
        return int(float(text)) if text else 0

    return TransferStats(
        files=number("number of files"),
        files_transferred=number("number of regular files transferred"),
        total_size=number("total file size"),
        bytes_sent=number("total bytes sent"),
        bytes_received=number("total bytes received"),
    )


def rsync_argv(
    transport: SshTransport,
    source: str,
    dest: str,
    *,
    excludes: Sequence[str],
    delete_excluded: bool,
    binary: str = "rsync",
) -> list[str]:
    """The rsync command: archive mode, deletions mirrored, args protected from the shell.

    The transport's bandwidth cap applies in both directions: the client rsync
    hands ``--bwlimit`` on to the remote one, so the sending side is throttled.
    """
    argv = [binary, "--archive", "--delete", "--numeric-ids", "--stats", "--protect-args"]
    # rsync appends the destination (never a user: it is in the options) after "--".
    argv += [f"--timeout={transport.io_timeout}", "-e", shlex.join([*transport.argv(), "--"])]
    if transport.access.sudo_user:  # the site's rsync reads and writes as the files' owner
        argv.append(f"--rsync-path={shlex.join(sudo_argv(transport.access.sudo_user, ['rsync']))}")
    if transport.bwlimit_kbps:
        argv.append(f"--bwlimit={transport.bwlimit_kbps}")
    if delete_excluded:
        argv.append("--delete-excluded")
    argv += [f"--exclude={pattern}" for pattern in excludes]
    return [*argv, source, dest]


async def pull(
    transport: SshTransport,
    docroot: str,
    mirror: Path,
    *,
    excludes: Sequence[str],
    binary: str = "rsync",
) -> TransferStats:
    """Bring ``mirror`` up to date with the site's docroot; only changes cross the network."""
    mirror.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - local, instant
    source = f"{transport.destination}:{docroot.rstrip('/')}/"
    argv = rsync_argv(
        transport, source, f"{mirror}/", excludes=excludes, delete_excluded=True, binary=binary
    )
    # What a hostile server sends must not become a device node, fifo or set-uid file
    # on this host (we may be root): a docroot needs none of them.
    argv[1:1] = ["--no-devices", "--no-specials", "--chmod=ugo-s"]
    return await _run_rsync(argv, transport.access.host)


async def push(
    transport: SshTransport,
    source: Path,
    docroot: str,
    *,
    excludes: Sequence[str],
    binary: str = "rsync",
) -> TransferStats:
    """Put a restored tree back on the site; excluded folders there are left alone."""
    dest = f"{transport.destination}:{docroot.rstrip('/')}/"
    argv = rsync_argv(
        transport, f"{source}/", dest, excludes=excludes, delete_excluded=False, binary=binary
    )
    argv[1:1] = ["--no-owner", "--no-group"]  # the site's user owns what it receives
    return await _run_rsync(argv, transport.access.host)


async def _run_rsync(argv: list[str], label: str) -> TransferStats:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise BackupError(f"cannot run rsync: {exc.strerror}", permanent=True) from exc
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    status = proc.returncode
    if status not in (0, _VANISHED):
        detail = err[-_STDERR_KEEP:].decode("utf-8", errors="replace").strip()
        lines = [ln for ln in detail.splitlines() if ln.strip()]
        if "host key verification failed" in detail.lower():
            raise BackupError(
                f"{label}: the SSH host key does not match the pinned one; nothing was copied",
                permanent=True,
            )
        raise BackupError(
            f"{label}: file transfer failed (rsync exit {status}): "
            + server_said("\n".join(lines[-3:]))
        )
    return parse_stats(out.decode("utf-8", errors="replace"))
