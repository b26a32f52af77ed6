"""A drill's throwaway database, and a user that can reach nothing else.

The drill database's administrator (``drill_db_user``, root by default) only
creates and drops the scratch database and its user. Everything that comes
from the backup -- loading the dump, reading the site's options, the
restored site's own queries -- runs as that scratch user, whose only right
is on the scratch database. The dump is loaded by the ``mysql`` client with
its own commands disabled (``--binary-mode``, and ``--sandbox`` where the
client has it), without ``LOAD DATA LOCAL`` (``--local-infile=0``) and with
only the option file we wrote (``--defaults-file``).
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import subprocess
from pathlib import Path

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.options import BackupSettings
from sitekeeper.domain.untrusted import shown

_STDERR_KEEP = 16 * 1024


@functools.cache
def client_has_sandbox(binary: str = "mysql") -> bool:
    """Whether this ``mysql`` client knows ``--sandbox`` (MariaDB 10.5.25+/10.11.8+)."""
    try:
        done = subprocess.run(
            [binary, "--no-defaults", "--help"],
            capture_output=True,
            check=False,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"--sandbox" in done.stdout


def load_options(binary: str = "mysql") -> list[str]:
    """The ``mysql`` options that make it a loader of SQL and nothing else."""
    options = ["--binary-mode", "--local-infile=0", "--default-character-set=utf8mb4"]
    if client_has_sandbox(binary):
        options.append("--sandbox")
    return options


class ScratchDatabase:
    """One drill's database and user on the drill MariaDB; option files live in ``workdir``."""

    def __init__(self, settings: BackupSettings, workdir: Path, label: str) -> None:
        self.settings = settings
        self.name = f"sk_drill_{label}_{secrets.token_hex(4)}"[:64]
        self.user = self.name[:32]
        self.password = secrets.token_urlsafe(24)
        host, port = settings.drill_db_host, settings.drill_db_port
        admin = ["[client]", f"user={settings.drill_db_user}", f"host={host}", f"port={port}"]
        if settings.drill_db_password:
            admin.append(f'password="{settings.drill_db_password}"')
        self.admin_options = _private_file(workdir / "admin.cnf", admin)
        scratch = ["[client]", f"user={self.user}", f'password="{self.password}"']
        scratch += [f"host={host}", f"port={port}"]
        self.scratch_options = _private_file(workdir / "scratch.cnf", scratch)

    async def create(self) -> None:
        """The database and its user, who may use that database only."""
        grants = []
        for host in dict.fromkeys((self.settings.drill_db_host, "localhost")):
            account = f"'{self.user}'@'{host}'"
            grants.append(f"CREATE USER {account} IDENTIFIED BY '{self.password}'; ")
            grants.append(f"GRANT ALL ON `{self.name}`.* TO {account}; ")
        await self._admin(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4; {''.join(grants)}")

    async def load(self, dump: int) -> None:
        """Load the dump (an open file descriptor) as the scratch user, client commands off."""
        argv = [
            "mysql",
            f"--defaults-file={self.scratch_options}",  # only ours: never root's ~/.my.cnf
            *load_options(),
            "--batch",
            f"--database={self.name}",
        ]
        await _mysql(argv, stdin=dump, what="loading the dump")

    async def query(self, sql: str) -> str:
        """Run our own SQL as the scratch user (what we read is the site's data)."""
        argv = ["mysql", f"--defaults-file={self.scratch_options}", *load_options()]
        argv += ["--batch", "--skip-column-names", f"--database={self.name}", "--execute", sql]
        return await _mysql(argv, stdin=None, what="reading the restored database")

    async def drop(self) -> None:
        """Remove the database and the user (also when creating them failed half-way)."""
        drops = [
            f"DROP USER IF EXISTS '{self.user}'@'{host}'; "
            for host in dict.fromkeys((self.settings.drill_db_host, "localhost"))
        ]
        await self._admin(f"DROP DATABASE IF EXISTS `{self.name}`; {''.join(drops)}")

    async def _admin(self, sql: str) -> str:
        argv = ["mysql", f"--defaults-extra-file={self.admin_options}", "--batch"]
        return await _mysql([*argv, "--execute", sql], stdin=None, what="drill database")


def _private_file(path: Path, lines: list[str]) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


async def _mysql(argv: list[str], *, stdin: int | None, what: str) -> str:
    """Run the local client; its stderr may quote the dump, so it is shown escaped."""
    with open(os.devnull, "rb") as nothing:  # noqa: ASYNC230 - opening /dev/null
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=stdin if stdin is not None else nothing,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
    if proc.returncode != 0:
        said = shown(err[-_STDERR_KEEP:], 500)
        raise BackupError(f"{what}: mysql failed (exit {proc.returncode}): mysql said: {said!r}")
    return out.decode("utf-8", errors="replace")
