"""An SSH connection that works as the site files' owner through ``sudo -n -u OWNER``.

Some hosts give sitekeeper a deploy account that is not the files' owner but may run
commands as it. Every command, write and removal then runs as the owner: a file written
by the deploy account would be its own (the site could no longer change it), and a
private working folder made by it would be unreadable by the owner's PHP. File contents
are read as the owner too (``wp-config.php`` is often 0640). Listings and ``lstat`` stay
on SFTP as the SSH user: they only need the folders to be searchable, as they usually
are for the web server already.

``-n``: sudo never asks for a password (there is no one to type it); a rule that needs
one fails at once, and the update's preflight says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncssh

from sitekeeper.domain.untrusted import server_said
from sitekeeper.errors import RemoteError
from sitekeeper.remote.ssh import Limits, SshConnection

# Create with ``mode`` set before any data (as SFTP's open does); an existing file keeps
# its mode, as over SFTP. "$1" path, "$2" octal mode.
_WRITE = (
    'if [ -e "$1" ]; then exec cat > "$1"; fi; '
    '(umask 077 && : > "$1") && chmod "$2" "$1" && exec cat > "$1"'
)
# A regular file (after links, as SFTP's stat) and at most "$2" bytes of it.
_READ = 'test -f "$1" || exit 3; exec head -c "$2" -- "$1"'
_NOT_REGULAR = 3


def sudo_argv(owner: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``owner``: never prompting, the command never read as sudo's option."""
    return ["sudo", "-n", "-u", owner, "--", *argv]


class OwnerConnection(SshConnection):
    """:class:`SshConnection` whose commands, writes and reads run as ``owner``."""

    def __init__(
        self, conn: asyncssh.SSHClientConnection, label: str, limits: Limits, owner: str
    ) -> None:
        super().__init__(conn, f"{label} as {owner}", limits)
        self.owner = owner

    def command_line(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as the owner (``SshConnection.run``'s bounds, quoting and messages)."""
        return sudo_argv(self.owner, argv)

    async def write_file(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        """Create or replace a file as the owner, ``mode`` set before any data."""
        await self.run(["sh", "-c", _WRITE, "sh", path, f"{mode:o}"], stdin=data)

    async def remove(self, path: str) -> None:
        """Delete one file or symlink (not a directory) as the owner."""
        await self.run(["rm", "--", path])

    async def read_file(self, path: str, max_bytes: int) -> bytes:
        """At most the first ``max_bytes`` of a regular file, read as the owner."""
        result = await self.run(["sh", "-c", _READ, "sh", path, str(max_bytes)], check=False)
        if result.exit_status == _NOT_REGULAR:
            raise RemoteError(f"{self._label}: {path} is not a regular file", permanent=True)
        if result.exit_status != 0:
            said = server_said(result.stderr, 200)
            raise RemoteError(f"{self._label}: reading {path} failed: {said}")
        return result.stdout
