"""/api/backup-repositories: where backups are stored (``sitekeeper backup-repo``). Admins only.

A repository's password is generated once and, like the storage credentials,
kept encrypted in the store: nothing here ever returns a secret.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from sitekeeper.backup import repository
from sitekeeper.backup.repository import RepositoryConfig
from sitekeeper.store import backups
from sitekeeper.store.backup_tables import BackupRepository
from sitekeeper.store.tables import Client
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.task_schemas import BackupRepositoryIn, BackupRepositoryOut
from sitekeeper.web.auth import Admin, now
from sitekeeper.web.common import Db, vault_of

router = APIRouter(prefix="/api", tags=["backups"], responses=ERRORS)


def repository_out(row: BackupRepository, client: str | None) -> BackupRepositoryOut:
    """The API shape of a repository (its non-secret settings only)."""
    secret = ("s3_access_key_id", "s3_secret_access_key")
    return BackupRepositoryOut(
        id=row.id,
        client_id=row.client_id,
        client=client,
        kind=row.kind,
        location=row.location,
        options={k: v for k, v in (row.options or {}).items() if k not in secret},
        initialized=row.initialized,
        created_at=row.created_at,
    )


@router.get("/backup-repositories", response_model=list[BackupRepositoryOut])
def list_repositories(session: Db, who: Admin) -> list[BackupRepositoryOut]:
    """The agency's default repository and clients' own ones."""
    return [repository_out(row, name) for row, name in backups.repositories(session)]


@router.put("/backup-repositories", response_model=BackupRepositoryOut)
def set_repository(
    body: BackupRepositoryIn, request: Request, session: Db, who: Admin
) -> BackupRepositoryOut:
    """Set the agency's repository (no ``client_id``) or a client's own; a moved repository
    keeps its password, a new one gets a generated one."""
    client = session.get(Client, body.client_id) if body.client_id is not None else None
    if body.client_id is not None and client is None:
        raise HTTPException(422, f"no client {body.client_id}")
    try:
        config = RepositoryConfig.model_validate(body.model_dump(exclude={"client_id"}))
    except ValueError as exc:
        raise HTTPException(422, f"invalid repository: {exc}") from None
    vault = vault_of(request)
    row = repository.configure(session, vault, config, client_id=body.client_id, now=now())
    return repository_out(row, client.name if client is not None else None)
