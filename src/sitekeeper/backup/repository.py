"""Repository settings: where a restic repository lives and what restic needs to open it.

An agency has one default repository; a client may have its own (offsite for
that client only). Three kinds: a local path, SFTP, or S3-compatible storage.
Secrets (the repository password, storage keys) are vault-encrypted in the
store; the password is generated once when the repository is configured and
never shown, so losing the data directory's key loses the backups -- back the
key up separately.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from sitekeeper.domain.ssh_access import parse_ssh_target
from sitekeeper.errors import UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store.backup_tables import BackupRepository
from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault

RepositoryKind = Literal["local", "sftp", "s3"]


class RepositoryConfig(BaseModel):
    """What the operator gives: kind, location and (for S3/SFTP) access settings."""

    model_config = ConfigDict(extra="forbid")

    kind: RepositoryKind
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
        if self.kind == "local" and not Path(self.location).is_absolute():
            raise ValueError("a local repository needs an absolute path")
        if self.kind == "s3" and not (self.s3_access_key_id and self.s3_secret_access_key):
            raise ValueError("an S3 repository needs an access key id and a secret access key")
        if self.kind == "sftp" and ":" not in self.location:
            raise ValueError("an SFTP repository is user@host:/path")
        if self.kind == "sftp":  # host and user as for a site: never an ssh option
            try:
                parse_ssh_target(self.location.partition(":")[0])
            except UsageError as exc:
                raise ValueError(str(exc)) from None
        return self

    def repository_string(self) -> str:
        """The ``-r`` argument restic expects (no secrets in it)."""
        if self.kind == "local":
            return self.location
        if self.kind == "sftp":
            return f"sftp:{self.location}"
        location = self.location.removeprefix("s3:")
        return f"s3:{location}"

    def public_options(self) -> dict[str, object]:
        """The non-secret settings, stored as plain JSON."""
        return self.model_dump(exclude={"s3_access_key_id", "s3_secret_access_key"})

    def secret_values(self) -> dict[str, str]:
        """The credentials, stored encrypted."""
        fields = ("s3_access_key_id", "s3_secret_access_key")
        return {k: v for k in fields if (v := getattr(self, k))}

    def environment(self) -> dict[str, str]:
        """What restic reads from its environment for this storage."""
        env: dict[str, str] = {}
        if self.s3_access_key_id:
            env["AWS_ACCESS_KEY_ID"] = self.s3_access_key_id
        if self.s3_secret_access_key:
            env["AWS_SECRET_ACCESS_KEY"] = self.s3_secret_access_key
        if self.s3_region:
            env["AWS_DEFAULT_REGION"] = self.s3_region
        return env


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
            extra_args=_sftp_args(config),
        )


def _sftp_args(config: RepositoryConfig) -> tuple[str, ...]:
    """restic's ``sftp.command``: our key and known_hosts only, never the user's ssh config."""
    if config.kind != "sftp":
        return ()
    target, _, _path = config.location.partition(":")
    argv = ["ssh", "-F", "/dev/null", "-p", str(config.sftp_port), "-o", "BatchMode=yes"]
    if config.sftp_key_path:
        argv += ["-i", config.sftp_key_path, "-o", "IdentitiesOnly=yes"]
    if config.sftp_known_hosts:
        argv += ["-o", f"UserKnownHostsFile={config.sftp_known_hosts}"]
        argv += ["-o", "StrictHostKeyChecking=yes"]
    argv += ["-s", "--", target, "sftp"]  # "--": the target is never read as an option
    return ("-o", f"sftp.command={shlex.join(argv)}")


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
