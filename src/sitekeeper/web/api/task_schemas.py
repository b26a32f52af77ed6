"""JSON shapes of the action API: tasks, action bodies, site import, backup repositories.

The stable contract, like ``schemas.py``: add fields, never rename. Action
bodies are the task kinds' own parameter models (``engine.actions``), so the
API and the runner validate the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.web.common import MAX_ID


class TaskOut(BaseModel):
    """An action queued from the API or the UI, and how it went."""

    id: int
    kind: str = Field(description="check, fingerprint, inventory, backup, drill, restore, ...")
    site_id: int | None
    site: str | None = Field(description="The site's name (none for catalogue tasks)")
    params: dict[str, Any]
    status: str = Field(description="queued, running, ok or failed")
    result: dict[str, Any] | None = Field(
        description="What the action produced: the matching CLI command's --json document"
    )
    error: str | None
    requested_by: int | None = Field(description="The user who asked for it")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None = Field(description="The worker that ran it")


class AdvisoryUrlIn(BaseModel):
    """Where to fetch advisories from (a file is uploaded as multipart/form-data instead)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, pattern=r"^https?://[^\s]+$")


class SiteRowIn(BaseModel):
    """One site of a JSON import: the CSV columns; absent keeps, null or "" resets."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048)
    name: str | None = Field(default=None, max_length=255)
    client: str | int | None = Field(default=None, description="Client id or name")
    contract: str | int | None = Field(default=None, description="Contract id")
    tags: str | list[str] | None = Field(default=None, description="A list, or ';'-separated")
    ssh: str | None = Field(default=None, max_length=300, description="user@host[:port]")
    key: str | None = Field(
        default=None,
        max_length=16384,
        description="SSH key: the name, id or fingerprint of one of the client's stored keys, "
        "or an unencrypted private key (OpenSSH or PEM), then kept encrypted; never a file path",
    )
    path: str | None = Field(default=None, max_length=1024, description="Document root")
    keyword: str | None = Field(default=None, max_length=1000)
    forbid: str | list[str] | None = None
    accept: str | list[str] | None = None
    method: str | None = Field(default=None, max_length=8)
    timeout: str | None = Field(default=None, max_length=32, description="e.g. 10s")
    probe: str | None = Field(
        default=None, max_length=64, description="Check kind: a registered probe (default http)"
    )
    allow_duplicate: bool | None = Field(
        default=None, description="Import the URL even if another site (or item) has it"
    )


class SiteImportIn(BaseModel):
    """Sites to add or update, all or none (the JSON form of ``site import``)."""

    model_config = ConfigDict(extra="forbid")

    sites: list[SiteRowIn] = Field(max_length=100_000)
    dry_run: bool = Field(default=False, description="Validate and count, change nothing")


class SiteImportOut(BaseModel):
    """What an import did (or, as a dry run, would do): ``site import --json``."""

    added: int
    updated: int
    unchanged: int
    dry_run: bool
    added_names: list[str]
    updated_names: list[str]


class BackupRepositoryOut(BaseModel):
    """Where backups go; the password and storage credentials are never shown."""

    id: int
    client_id: int | None = Field(description="None: the agency's default repository")
    client: str | None
    kind: str = Field(description="local, sftp or s3")
    location: str
    options: dict[str, Any] = Field(description="Non-secret settings")
    initialized: bool
    created_at: datetime


class BackupRepositoryIn(BaseModel):
    """The agency's (no ``client_id``) or a client's repository; its password is generated."""

    model_config = ConfigDict(extra="forbid")

    client_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: Literal["local", "sftp", "s3"]
    location: str = Field(min_length=1, max_length=2048)
    s3_access_key_id: str | None = Field(default=None, max_length=256)
    s3_secret_access_key: str | None = Field(default=None, max_length=1024)
    s3_region: str | None = Field(default=None, max_length=64)
    sftp_key_path: str | None = Field(default=None, max_length=1024)
    sftp_port: int = Field(default=22, ge=1, le=65535)
    sftp_known_hosts: str | None = Field(default=None, max_length=1024)
