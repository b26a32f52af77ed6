"""``backup-repo``: where backups are stored (restic repositories), their snapshots, forgetting
a removed site's. Thin, like the other backup commands; ``--json`` shapes are a stable contract.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from sitekeeper.backup import removal, repository
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.repository import RepositoryConfig
from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store.lookup import by_id_or_name
from sitekeeper.store.tables import Client

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]

repo_app = typer.Typer(help="Where backups are stored (restic repositories).", no_args_is_help=True)


@repo_app.command("set")
def repo_set(
    ctx: typer.Context,
    *,
    kind: Annotated[str, typer.Argument(help="local, sftp or s3")],
    location: Annotated[
        str, typer.Argument(help="/path, user@host:/path, or http(s)://endpoint/bucket/prefix")
    ],
    client: Annotated[
        str | None, typer.Option(help="This client's own repository (default: agency-wide).")
    ] = None,
    s3_key_id: Annotated[str | None, typer.Option(help="S3 access key id.")] = None,
    s3_secret_file: Annotated[
        Path | None, typer.Option(help="File holding the S3 secret key (kept off argv).")
    ] = None,
    s3_region: Annotated[str | None, typer.Option()] = None,
    ssh_key: Annotated[str | None, typer.Option(help="SFTP: private key file.")] = None,
    ssh_port: Annotated[int, typer.Option(help="SFTP: port.")] = 22,
    known_hosts: Annotated[str | None, typer.Option(help="SFTP: known_hosts file.")] = None,
) -> None:
    """Set the agency's (or a client's) backup repository; its password is generated once."""
    state = app_context(ctx)
    secret = None
    if s3_secret_file is not None:
        secret = s3_secret_file.read_text(encoding="utf-8").strip()
    try:
        config = RepositoryConfig.model_validate(
            {
                "kind": kind,
                "location": location,
                "s3_access_key_id": s3_key_id,
                "s3_secret_access_key": secret,
                "s3_region": s3_region,
                "sftp_key_path": ssh_key,
                "sftp_port": ssh_port,
                "sftp_known_hosts": known_hosts,
            }
        )
    except ValueError as exc:
        raise UsageError(f"invalid repository: {exc}") from None
    with state.session() as session:
        client_id = (
            by_id_or_name(session, Client, Client.name, client, "client").id if client else None
        )
        row = repository.configure(
            session, state.vault, config, client_id=client_id, now=state.now()
        )
        output.note(f"backup repository {row.location} set for {client or 'the agency'}")


@repo_app.command("list")
def repo_list(ctx: typer.Context, *, as_json: JsonOpt = False) -> None:
    """Configured repositories (no secrets)."""
    with app_context(ctx).session() as session:
        data = [
            {"id": r.id, "client": name, "kind": r.kind, "location": r.location}
            for r, name in queries.repositories(session)
        ]
    if as_json:
        output.print_json(data)
    else:
        output.print_table(
            ["id", "client", "kind", "location"],
            [[d["id"], d["client"] or "(agency)", d["kind"], d["location"]] for d in data],
        )


@repo_app.command("snapshots")
def repo_snapshots(
    ctx: typer.Context,
    *,
    host: Annotated[
        str | None, typer.Option("--host", help="Only this restic host (one site's snapshots).")
    ] = None,
    client: Annotated[
        str | None, typer.Option(help="This client's own repository (default: the agency's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Snapshots in a repository, with the site each belongs to: a removed site's snapshots
    stay under its restic host until they are forgotten."""
    state = app_context(ctx)
    with state.session() as session:
        repo, _ = removal.stored_repository(session, state.vault, _client(session, client))
    settings = BackupSettings.from_settings(state.settings)
    snaps = asyncio.run(removal.restic_for(settings, repo).snapshots(host=host))
    with state.session() as session:
        owners = removal.sites_by_host(session, {s.host for s in snaps})
    newest = sorted(snaps, key=lambda s: s.time, reverse=True)
    if as_json:
        output.print_json(
            [
                {
                    "snapshot": s.id,
                    "time": s.time.isoformat(),
                    "host": s.host,
                    "site": owners.get(s.host),
                    "tags": list(s.tags),
                }
                for s in newest
            ]
        )
        return
    output.print_table(
        ["snapshot", "time", "host", "site", "tags"],
        [
            [
                s.short_id,
                f"{s.time:%Y-%m-%d %H:%M}",
                s.host,
                owners.get(s.host, "(removed)"),
                ",".join(s.tags),
            ]
            for s in newest
        ],
    )


@repo_app.command("forget")
def repo_forget(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option("--host", help="A removed site's restic host.")],
    client: Annotated[
        str | None, typer.Option(help="This client's own repository (default: the agency's).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete every snapshot of a removed site (its restic host) from a repository: forget
    and prune. A host that belongs to a site is refused."""
    state = app_context(ctx)
    with state.session() as session:
        removal.check_forgettable(session, host)
        repo, owner = removal.stored_repository(session, state.vault, _client(session, client))
    if not yes and not typer.confirm(f"Delete every snapshot of {host} from {repo.location}?"):
        raise typer.Exit(1)
    settings = BackupSettings.from_settings(state.settings)
    disposal = asyncio.run(removal.forget_host(settings, repo, host, owner))
    with state.session() as session:
        removal.record_forgotten(session, disposal, state.now())
    output.note(f"{host}: {disposal.sentence()}")


def _client(session: Session, name: str | None) -> Client | None:
    return by_id_or_name(session, Client, Client.name, name, "client") if name else None
