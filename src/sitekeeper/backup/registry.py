"""Backup extension points: dump engines by database kind, targets by repository kind.

A backup dumps the site's database with the engine registered for that
database's kind (``DbCredentials.engine``: ``mysql`` today), and stores the
snapshot in a restic repository whose kind (local, sftp, s3, ...) is a
registered target that says how restic reaches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sitekeeper.plugins import Registry

if TYPE_CHECKING:
    from sitekeeper.backup.mirror import SshTransport
    from sitekeeper.backup.repository import RepositoryConfig
    from sitekeeper.cms.db_credentials import DbCredentials
    from sitekeeper.remote.ssh import SshConnection


class DumpEngine(Protocol):
    """Dumps a site's database to a local file over SSH, and loads one back."""

    async def dump(
        self, transport: SshTransport, creds: DbCredentials, dest: Path, *, timeout: float
    ) -> int:
        """Write a complete dump to ``dest`` (BackupError if it is not); its size in bytes."""
        ...

    async def load(
        self,
        transport: SshTransport,
        conn: SshConnection,
        creds: DbCredentials,
        source: Path,
        *,
        timeout: float,
    ) -> None:
        """Import ``source`` into the site's database, replacing its tables."""
        ...


class BackupTarget(Protocol):
    """One kind of restic repository: what its settings must hold and how restic opens it."""

    def check(self, config: RepositoryConfig) -> None:
        """ValueError (shown to the operator) if ``config`` is not a usable repository."""
        ...

    def repository_string(self, config: RepositoryConfig) -> str:
        """restic's ``-r`` argument (no secrets in it)."""
        ...

    def environment(self, config: RepositoryConfig) -> dict[str, str]:
        """What restic reads from its environment for this storage (credentials)."""
        ...

    def extra_args(self, config: RepositoryConfig) -> tuple[str, ...]:
        """Further restic options (``-o ...``) this storage needs."""
        ...


DUMP_ENGINES: Registry[DumpEngine] = Registry("backup_dump", builtins=["sitekeeper.backup.dumps"])
BACKUP_TARGETS: Registry[BackupTarget] = Registry(
    "backup_target", builtins=["sitekeeper.backup.targets"]
)
