"""Database dumps and imports over SSH, with the site's own credentials.

MySQL/MariaDB: ``mysqldump --single-transaction`` gives a consistent InnoDB
snapshot without locking the site. The password travels on ssh's stdin as
an option file (``--defaults-extra-file=/dev/stdin``), never on a command
line. The dump streams to a local file; it only counts as complete when
mysqldump exited 0 and wrote its closing comment. Another engine (pg_dump for
a later CMS) is another ``DumpEngine`` registered under its database kind.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import IO

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.mirror import SshTransport
from sitekeeper.backup.registry import DUMP_ENGINES
from sitekeeper.cms.db_credentials import DbCredentials
from sitekeeper.domain.untrusted import server_said, shown
from sitekeeper.remote.as_owner import sudo_argv
from sitekeeper.remote.ssh import SshConnection, quote_argv

_TRAILER = b"-- Dump completed"
# mysqldump drops each table and view before creating it: the objects the dump holds.
_DUMPED = re.compile(rb"(?:/\*!\d+ )?DROP (TABLE|VIEW) IF EXISTS `((?:[^`]|``){1,200})`")
_LISTED = (
    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
)
_STDERR_KEEP = 16 * 1024


class MysqlDump:
    """mysqldump / mysql over SSH."""

    @staticmethod
    def dump_argv(creds: DbCredentials) -> list[str]:
        """mysqldump of the site's tables (no CREATE DATABASE: a drill loads it elsewhere)."""
        if creds.name.startswith("-"):
            raise BackupError(f"refusing database name {creds.name!r}", permanent=True)
        return [
            "mysqldump",
            "--defaults-extra-file=/dev/stdin",  # must be the first option
            "--single-transaction",
            "--quick",
            "--hex-blob",
            "--triggers",
            "--no-tablespaces",
            "--default-character-set=utf8mb4",
            creds.name,
        ]

    @staticmethod
    def load_argv(options: str, creds: DbCredentials) -> list[str]:
        """mysql as a loader of SQL only: its own commands off (``--binary-mode``), no
        ``LOAD DATA LOCAL``, the dump's character set. The dump was scanned before."""
        if creds.name.startswith("-"):
            raise BackupError(f"refusing database name {creds.name!r}", permanent=True)
        return [
            "mysql",
            f"--defaults-extra-file={options}",  # must be the first option
            "--binary-mode",
            "--local-infile=0",
            "--default-character-set=utf8mb4",
            "--connect-timeout=15",
            creds.name,
        ]

    async def dump(
        self, transport: SshTransport, creds: DbCredentials, dest: Path, *, timeout: float
    ) -> int:
        """Stream the dump into ``dest.partial``, then rename it once proven complete."""
        partial = dest.with_name(dest.name + ".partial")
        argv = _over_ssh(transport, self.dump_argv(creds))
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            status, err = await _run(argv, stdin=creds.option_file(), stdout=out, timeout=timeout)
        if status != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(
                f"{transport.access.host}: database dump failed (exit {status}): {server_said(err)}"
            )
        with partial.open("rb") as written:
            written.seek(max(0, partial.stat().st_size - 256))
            if _TRAILER not in written.read():
                partial.unlink(missing_ok=True)
                raise BackupError(f"{transport.access.host}: database dump is incomplete")
        size = partial.stat().st_size
        partial.replace(dest)
        return size

    async def load(
        self,
        transport: SshTransport,
        conn: SshConnection,
        creds: DbCredentials,
        source: Path,
        *,
        timeout: float,
    ) -> None:
        """Import over ssh; the option file sits in a private temp dir only while it runs."""
        tmp = (await conn.run(["mktemp", "-d"])).text.strip()
        if not tmp.startswith("/"):
            raise BackupError(f"{transport.access.host}: mktemp gave {shown(tmp, 100)!r}")
        try:
            options = f"{tmp}/client.cnf"
            await conn.write_file(options, creds.option_file(), mode=0o600)
            argv = _over_ssh(transport, self.load_argv(options, creds))
            with source.open("rb") as dump:
                status, err = await _run(argv, stdin=dump, stdout=None, timeout=timeout)
            if status != 0:
                raise BackupError(
                    f"{transport.access.host}: database import failed (exit {status}): "
                    + server_said(err)
                )
            await self._drop_newer(transport, argv, source, timeout=timeout)
        finally:
            await conn.run(["rm", "-rf", "--", tmp], check=False)

    async def _drop_newer(
        self, transport: SshTransport, argv: list[str], source: Path, *, timeout: float
    ) -> None:
        """Drop the tables and views the dump does not hold: created after it was taken (by an
        update being rolled back, a plugin, an intruder), they would survive the import, and
        the database would not be the snapshot's."""
        with source.open("rb") as dump:  # line by line: a dump can be gigabytes
            found = (_DUMPED.match(line) for line in dump if line.startswith((b"DROP", b"/*!")))
            dumped = {_unquote(m[2]) for m in found if m}
        with tempfile.TemporaryFile() as out:
            status, err = await _run(argv, stdin=_LISTED.encode(), stdout=out, timeout=timeout)
            out.seek(0)
            listing = out.read(4 * 1024 * 1024)
        if status != 0:
            raise BackupError(
                f"{transport.access.host}: listing the database's tables failed (exit {status}): "
                + server_said(err)
            )
        newer = _newer_objects(listing, dumped)
        if not newer:
            return
        drops = ["SET FOREIGN_KEY_CHECKS=0;"] + [
            f"DROP {kind} IF EXISTS `{name.replace('`', '``')}`;" for kind, name in newer
        ]
        status, err = await _run(
            argv, stdin="\n".join(drops).encode(), stdout=None, timeout=timeout
        )
        if status != 0:
            raise BackupError(
                f"{transport.access.host}: dropping the tables created after the snapshot "
                f"failed (exit {status}): {server_said(err)}"
            )


def _unquote(name: bytes) -> str:
    return name.replace(b"``", b"`").decode("utf-8", errors="surrogateescape")


def _newer_objects(listing: bytes, dumped: set[str]) -> list[tuple[str, str]]:
    """(TABLE or VIEW, name) of the listing's objects the dump does not hold; ``mysql``'s
    batch output (tab-separated, a header line, ``\\t``/``\\n`` escaped) is read strictly:
    a name it had to escape is left alone rather than guessed."""
    newer = []
    for line in listing.decode("utf-8", errors="surrogateescape").splitlines()[1:]:
        name, _, kind = line.partition("\t")
        if not name or "\\" in name or name in dumped:
            continue
        newer.append(("VIEW" if kind == "VIEW" else "TABLE", name))
    return newer


DUMP_ENGINES.add("mysql", MysqlDump())


def _over_ssh(transport: SshTransport, remote: list[str]) -> list[str]:
    """The local ``ssh`` command that runs ``remote`` (shell-quoted) on the site.

    Compressed: a dump is SQL text, and the link to the site is the slow part. As the
    files' owner when the site says so: its option file is in the owner's private folder.
    """
    owner = transport.access.sudo_user
    if owner:
        # The owner cannot open the SSH user's pipe again as /dev/stdin (mysqldump's option
        # file): hand the command a pipe of the owner's own.
        remote = sudo_argv(owner, ["sh", "-c", 'cat | "$@"', "sh", *remote])
    command = quote_argv(remote)
    return [*transport.argv(), "-o", "Compression=yes", "--", transport.destination, command]


async def _run(
    argv: list[str], *, stdin: bytes | IO[bytes], stdout: IO[bytes] | None, timeout: float
) -> tuple[int, str]:
    """Run a local command with stdin bytes or a file, stdout to a file; (status, stderr tail)."""
    feed = stdin if isinstance(stdin, bytes) else None
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if isinstance(stdin, bytes) else stdin,
        stdout=stdout if stdout is not None else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            _, err = await proc.communicate(feed)
    except TimeoutError:
        raise BackupError(f"{argv[0]} timed out after {timeout:g}s") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    tail = err[-_STDERR_KEEP:].decode("utf-8", errors="replace").strip()
    return proc.returncode or 0, "\n".join(tail.splitlines()[-3:])  # shown by the caller
