"""How a site reaches its MySQL/MariaDB database, the same for every CMS.

Each CMS reads these from its own config file; inventories query the database
with them and backups dump it, both through the ``mysql`` client with the
password on stdin, so the shape and the client's argv live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitekeeper.domain.untrusted import server_said
from sitekeeper.errors import RemoteError


@dataclass(frozen=True)
class DbCredentials:
    """How a site reaches its database, as its CMS's config file says."""

    name: str
    user: str
    password: str
    host: str | None
    port: int | None
    socket: str | None
    table_prefix: str
    engine: str = "mysql"  # the database's kind: backups pick their dump engine by it

    def option_file(self) -> bytes:
        """A MySQL option file with the connection settings, fed on stdin (not argv)."""
        lines = ["[client]", f"user={_option_value(self.user)}"]
        lines.append(f"password={_option_value(self.password)}")
        if self.host is not None:
            lines.append(f"host={_option_value(self.host)}")
        if self.port is not None:
            lines.append(f"port={self.port}")
        if self.socket is not None:
            lines.append(f"socket={_option_value(self.socket)}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def mysql_argv(self, sql: str) -> list[str]:
        """The client command; ``--defaults-extra-file`` must come first to be honoured."""
        return [
            "mysql",
            "--defaults-extra-file=/dev/stdin",
            "--batch",
            "--skip-column-names",
            "--connect-timeout=10",
            f"--database={self.name}",
            "--execute",
            sql,
        ]


def parse_db_host(value: str) -> tuple[str | None, int | None, str | None]:
    """``DB_HOST`` as (host, port, socket), the way wpdb splits it.

    Forms: ``host``, ``host:3307``, ``host:/path/to.sock``, ``[::1]:3306``,
    ``localhost`` (the client then uses its default socket).
    """
    text = value.strip()
    socket: str | None = None
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        return host or None, port, None
    if text.count(":") == 1:
        text, tail = text.split(":", 1)
        if tail.isdigit():
            port = int(tail)
        elif tail:
            socket = tail
    elif text.count(":") > 1:  # a bare IPv6 address
        return text, None, None
    return text or None, port, socket


def _option_value(text: str) -> str:
    """Double-quoted for a MySQL option file: ``#`` is a comment there, quotes and \\ escape."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def hex_value(cell: str) -> bytes:
    """A ``HEX()`` column; RemoteError (permanent, quoting it) if the client printed else."""
    try:
        return bytes.fromhex(cell.strip())
    except ValueError:
        raise RemoteError(
            f"unexpected mysql output: {server_said(cell, 80)}", permanent=True
        ) from None
