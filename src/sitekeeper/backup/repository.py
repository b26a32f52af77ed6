"""Repository settings: where a restic repository lives and what restic needs to open it.

An agency has one default repository; a client may have its own (offsite for
that client only). Its kind is a registered backup target (``backup.targets``:
a local path, SFTP, S3-compatible storage) that says how restic reaches it.
Secrets (the repository password, storage keys) are vault-encrypted in the
store; the password is generated once when the repository is configured and
never shown, so losing the data directory's key loses the backups -- back the
key up separately.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from sitekeeper.backup.registry import BACKUP_TARGETS, BackupTarget
from sitekeeper.errors import UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store.backup_tables import BackupRepository
from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault


class RepositoryConfig(BaseModel):
    """What the operator gives: kind, location and (for S3/SFTP) access settings."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="A backup target kind: local, sftp, s3, or a plugin's.")
    location: str = Field(description="Path (local), user@host:/path (sftp), URL/bucket (s3).")
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None
    sftp_key_path: str | None = None
    sftp_port: int = Field(default=22, ge=1, le=65535)
    sftp_known_hosts: str | None = None

    @model_validator(mode="after")
    def _check(self) -> RepositoryConfig:
        if not self.location.strip():
            raise ValueError("the repository location must not be empty")
        target = BACKUP_TARGETS.find(self.kind)
        if target is None:
            known = ", ".join(BACKUP_TARGETS.kinds())
            raise ValueError(f"unknown repository kind {self.kind!r} (known: {known})")
        target.check(self)
        return self

    def _target(self) -> BackupTarget:
        return BACKUP_TARGETS.get(self.kind)

    def repository_string(self) -> str:
        """The ``-r`` argument restic expects (no secrets in it)."""
        return self._target().repository_string(self)

    def public_options(self) -> dict[str, object]:
        """The non-secret settings, stored as plain JSON."""
        return self.model_dump(exclude={"s3_access_key_id", "s3_secret_access_key"})

    def secret_values(self) -> dict[str, str]:
        """The credentials, stored encrypted."""
        fields = ("s3_access_key_id", "s3_secret_access_key")
        return {k: v for k in fields if (v := getattr(self, k))}

    def environment(self) -> dict[str, str]:
        """What restic reads from its environment for this storage."""
        return self._target().environment(self)

    def extra_args(self) -> tuple[str, ...]:
        """Further restic options this storage needs."""
        return self._target().extra_args(self)


def new_password() -> str:
    """A repository password: 256 bits, generated once per repository."""
    return secrets.token_urlsafe(32)


def seal(vault: Vault, password: str, credentials: dict[str, str]) -> str:
    """The encrypted ``secrets`` column value."""
    return vault.encrypt(json.dumps({"password": password, "credentials": credentials}))


@dataclass(frozen=True)
class OpenRepository:
    """Everything restic needs to open one repository (secrets decrypted, in memory only)."""

    id: int | None
    location: str
    password: str = field(repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    extra_args: tuple[str, ...] = ()

    @classmethod
    def from_stored(
        cls,
        *,
        repository_id: int | None,
        options: dict[str, object],
        sealed: str,
        vault: Vault,
    ) -> OpenRepository:
        """Rebuild from a ``backup_repositories`` row."""
        unsealed = json.loads(vault.decrypt(sealed))
        try:
            config = RepositoryConfig.model_validate({**options, **unsealed["credentials"]})
        except ValueError as exc:
            raise UsageError(f"stored backup repository settings are invalid: {exc}") from None
        return cls(
            id=repository_id,
            location=config.repository_string(),
            password=str(unsealed["password"]),
            env=config.environment(),
            extra_args=config.extra_args(),
        )


def configure(
    session: Session,
    vault: Vault,
    config: RepositoryConfig,
    *,
    client_id: int | None,
    now: datetime,
) -> BackupRepository:
    """Set the agency default (``client_id=None``) or a client's own repository.

    The password is generated when the repository is first configured and
    kept on later changes (a moved repository keeps its key).
    """
    row = queries.repository_row(session, client_id)
    password = new_password() if row is None else open_stored(row, vault).password
    return queries.save_repository(
        session,
        client_id=client_id,
        kind=config.kind,
        location=config.repository_string(),
        options=config.public_options(),
        secrets=seal(vault, password, config.secret_values()),
        now=now,
    )


def for_site(session: Session, vault: Vault, site: Site, home: Path) -> OpenRepository:
    """The repository a site's backups go to; a local default is made on first use."""
    row = queries.repository_row_for_site(session, site)
    if row is None:
        default = RepositoryConfig(kind="local", location=str(home / "backups" / "repository"))
        row = configure(session, vault, default, client_id=None, now=datetime.now(UTC))
    return open_stored(row, vault)


def open_stored(row: BackupRepository, vault: Vault) -> OpenRepository:
    """What restic needs to open the repository of a stored row (secrets decrypted)."""
    return OpenRepository.from_stored(
        repository_id=row.id, options=row.options, sealed=row.secrets, vault=vault
    )
