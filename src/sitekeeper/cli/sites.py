"""``sitekeeper site ...``: the monitored websites, one at a time or from a CSV file.

Over 400 lines until a site's SSH and check options are declared like its own fields
(issue 15, point 4); then they leave with the repetition.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sitekeeper.backup import removal
from sitekeeper.backup.options import BackupSettings
from sitekeeper.cli import output
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.checks import DEFAULT_PROBE, PROBE_KEY, CheckOptions, split_check
from sitekeeper.domain.durations import format_duration, parse_duration
from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.domain.sites import SiteDeclaration, normalize_url
from sitekeeper.domain.ssh_access import validate_ssh_host
from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.errors import RemoteError, UsageError
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store import journal, ssh_keys
from sitekeeper.store import sites as store
from sitekeeper.store.clients import client_names, get_client
from sitekeeper.store.contracts import get_contract
from sitekeeper.store.site_import import import_sites
from sitekeeper.store.ssh_key_tables import SshKey
from sitekeeper.store.tables import Client, Site

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Sites: the websites under maintenance.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
SiteArg = Annotated[str, typer.Argument(help="Site id, name or URL.")]
SshOpt = Annotated[str | None, typer.Option("--ssh", help="SSH access: user@host[:port].")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="SSH private key: a file, read once and kept encrypted by sitekeeper, "
        "or the name, id or fingerprint of one of the client's stored keys.",
    ),
]
PathOpt = Annotated[str | None, typer.Option("--path", help="Document root on the server.")]
SudoOpt = Annotated[
    str | None,
    typer.Option(
        "--sudo-user",
        help="The files' owner, when the SSH user is another account that may run commands "
        "as it (sudo -n -u OWNER): updates, backups and restores work as OWNER.",
    ),
]
KeywordOpt = Annotated[
    str | None, typer.Option("--keyword", help="Text that must appear in the page.")
]
ForbidOpt = Annotated[
    list[str] | None, typer.Option("--forbid", help="Text that must not appear (repeatable).")
]
AcceptOpt = Annotated[
    list[str] | None,
    typer.Option("--accept", help="Accepted status or range, e.g. 200-299 (repeatable)."),
]
MethodOpt = Annotated[str | None, typer.Option("--method", help="GET, HEAD or POST.")]
TimeoutOpt = Annotated[str | None, typer.Option("--timeout", help="Check deadline, e.g. 10s.")]
CaOpt = Annotated[str | None, typer.Option("--ca-bundle", help="PEM file of CAs to trust.")]
ProbeOpt = Annotated[
    str | None,
    typer.Option(
        "--probe",
        metavar="KIND",
        help="Check kind: a registered probe (default http); its options start from its defaults.",
    ),
]
DuplicateOpt = Annotated[
    bool,
    typer.Option("--allow-duplicate", help="Register the URL even if another site already has it."),
]


def site_json(site: Site, default_interval: int) -> dict[str, Any]:
    """The documented JSON shape of a site."""
    return {
        "id": site.id,
        "name": site.name,
        "url": site.url,
        "client_id": site.client_id,
        "client": site.client.name if site.client else None,
        "contract_id": site.contract_id,
        "plan": site.contract.plan.name if site.contract else None,
        "check_interval": store.check_interval(site, default_interval),
        "paused": site.paused,
        "tags": [t.tag for t in site.tags],
        "key_pages": stored_key_pages(site.check_options),
        "check": _check_json(site.check_options),
        "ssh": site.ssh,
        "cms": site.cms,
        "cms_version": site.cms_version,
        "created_at": site.created_at.isoformat(),
    }


def _check_json(stored: dict[str, Any] | None) -> dict[str, Any]:
    """An HTTP check's options with their defaults; another kind's as stored, with its kind."""
    kind, options = split_check(stored)
    if kind == DEFAULT_PROBE:
        return CheckOptions.model_validate(options).model_dump(mode="json")
    return {PROBE_KEY: kind, **options}


def _print(site: Site, default_interval: int, as_json: bool) -> None:
    data = site_json(site, default_interval)
    if as_json:
        output.print_json(data)
        return
    fields = [(k, v) for k, v in data.items() if k not in ("check", "ssh")]
    fields = [(k, format_duration(v) if k == "check_interval" else v) for k, v in fields]
    fields += [(f"check.{k}", v) for k, v in data["check"].items()]
    if data["ssh"]:
        fields += [(f"ssh.{k}", v) for k, v in data["ssh"].items()]
    output.print_fields(fields)


def _check_changes(
    *,
    keyword: str | None,
    forbid: list[str] | None,
    accept: list[str] | None,
    method: str | None,
    timeout: str | None,
    ca_bundle: str | None,
    verify_tls: bool | None,
) -> dict[str, Any]:
    """Check options given on the command line, ready for ``CheckOptions``."""
    changes: dict[str, Any] = {}
    if keyword is not None:
        changes["keyword"] = keyword or None
    if forbid is not None:
        changes["forbidden"] = forbid
    if accept is not None:
        changes["accept_status"] = accept
    if method is not None:
        changes["method"] = method.upper()
    if timeout is not None:
        try:
            changes["timeout"] = float(parse_duration(timeout))
        except ValueError as exc:
            raise UsageError(f"--timeout: {exc}") from None
    if ca_bundle is not None:
        path = Path(ca_bundle).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"--ca-bundle: no file {ca_bundle!r}")
        changes["ca_bundle"] = str(path)
    if verify_tls is not None:
        changes["verify_tls"] = verify_tls
    return changes


@app.command("add")
@entity_options(SiteDeclaration, "add")
def add(
    ctx: typer.Context,
    *,
    values: dict[str, Any],
    ssh: SshOpt = None,
    key: KeyOpt = None,
    path: PathOpt = None,
    sudo_user: SudoOpt = None,
    keyword: KeywordOpt = None,
    forbid: ForbidOpt = None,
    accept: AcceptOpt = None,
    method: MethodOpt = None,
    timeout: TimeoutOpt = None,
    ca_bundle: CaOpt = None,
    no_verify_tls: Annotated[
        bool, typer.Option("--no-verify-tls", help="Accept any certificate.")
    ] = False,
    probe: ProbeOpt = None,
    allow_duplicate: DuplicateOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a site; it joins the client's only active contract unless --contract is given.

    The default name is the host, with the port if it is not the default one
    (127.0.0.1-8081); a URL another site already has is refused unless
    --allow-duplicate is given."""
    values["url"] = normalize_url(values["url"])  # the cheapest check first
    if (key or path or sudo_user) and not ssh:
        raise UsageError("--key/--path/--sudo-user need --ssh user@host[:port]")
    check = _check_changes(
        keyword=keyword,
        forbid=forbid,
        accept=accept,
        method=method,
        timeout=timeout,
        ca_bundle=ca_bundle,
        verify_tls=False if no_verify_tls else None,
    )
    if ssh:  # a bad host or user fails before anything is read
        store.build_ssh(ssh, None, path, sudo_user)
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        fields = store.site_change(session, _references(session, values))
        key_id = _key_id(session, app_ctx, fields.client, key) if key else None
        fields.ssh = store.build_ssh(ssh, key_id, path, sudo_user) if ssh else None
        fields.check, fields.allow_duplicate = check, allow_duplicate
        fields.probe, fields.check_config = probe, ProbeSet().config
        site = store.add_site(
            session, fields, app_ctx.now(), default_interval=app_ctx.default_interval
        )
        _print(site, app_ctx.default_interval, as_json)


def _references(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """``--client`` names a client by id or name, ``--contract`` a contract by id."""
    if "client_id" in values:
        values["client_id"] = get_client(session, values["client_id"]).id
    if "contract_id" in values:
        values["contract_id"] = get_contract(session, values["contract_id"]).id
    return values


@app.command("list")
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Option("--client", help="Only this client's.")] = None,
    contract: Annotated[
        str | None, typer.Option("--contract", help="Only this contract's.")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only sites with this tag.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List sites."""
    app_ctx = app_context(ctx)
    default = app_ctx.default_interval
    with app_ctx.session() as session:
        rows = [
            site_json(s, default)
            for s in store.list_sites(
                session,
                client_id=get_client(session, client).id if client else None,
                contract_id=get_contract(session, contract).id if contract else None,
                tag=tag,
            )
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "name", "url", "client", "contract", "interval", "paused", "tags"],
        [
            [
                r["id"],
                r["name"],
                r["url"],
                r["client"],
                r["contract_id"],
                format_duration(r["check_interval"]),
                r["paused"],
                r["tags"],
            ]
            for r in rows
        ],
    )


@app.command("show")
def show(ctx: typer.Context, site: SiteArg, as_json: JsonOpt = False) -> None:
    """Show one site."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        _print(store.get_site(session, site), app_ctx.default_interval, as_json)


@app.command("edit")
@entity_options(SiteDeclaration, "edit")
def edit(
    ctx: typer.Context,
    *,
    site: SiteArg,
    values: dict[str, Any],
    ssh: SshOpt = None,
    key: KeyOpt = None,
    path: PathOpt = None,
    sudo_user: SudoOpt = None,
    no_sudo: Annotated[
        bool, typer.Option("--no-sudo", help="Work as the SSH user again (no sudo).")
    ] = False,
    no_ssh: Annotated[bool, typer.Option("--no-ssh", help="Forget SSH access.")] = False,
    keyword: KeywordOpt = None,
    forbid: ForbidOpt = None,
    accept: AcceptOpt = None,
    method: MethodOpt = None,
    timeout: TimeoutOpt = None,
    ca_bundle: CaOpt = None,
    verify_tls: Annotated[
        bool | None, typer.Option("--verify-tls/--no-verify-tls", help="Check certificates.")
    ] = None,
    probe: ProbeOpt = None,
    allow_duplicate: DuplicateOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a site; options not given stay as they are."""
    check = _check_changes(
        keyword=keyword,
        forbid=forbid,
        accept=accept,
        method=method,
        timeout=timeout,
        ca_bundle=ca_bundle,
        verify_tls=verify_tls,
    )
    if sudo_user and no_sudo:
        raise UsageError("--sudo-user and --no-sudo contradict each other")
    if ssh:  # a bad host or user fails before anything is read
        store.build_ssh(ssh, None, path, sudo_user)
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_site(session, site)
        fields = store.site_change(session, _references(session, values))
        key_id = _key_id(session, app_ctx, fields.client or found.client, key) if key else None
        sudo = "" if no_sudo else sudo_user
        fields.ssh, fields.clear_ssh = store.edited_ssh(found, ssh, key_id, path, sudo), no_ssh
        fields.check, fields.allow_duplicate = check, allow_duplicate
        fields.probe, fields.check_config = probe, ProbeSet().config
        store.update_site(
            session, found, fields, app_ctx.now(), default_interval=app_ctx.default_interval
        )
        _print(found, app_ctx.default_interval, as_json)


def _key_id(session: Session, app_ctx: AppContext, client: Client | None, ref: str) -> int:
    """``--key``: a file is read once and kept (encrypted) as the client's key; anything
    else names one of the client's stored keys. Never another client's key."""
    if client is None:
        raise UsageError("the site has no client: give --client, whose key it will be")
    path = Path(ref).expanduser()
    if path.exists():
        text = ssh_keys.read_key_file(path)
        return ssh_keys.import_key(session, app_ctx.vault, client, text, now=app_ctx.now()).id
    return ssh_keys.get_key(session, client, ref).id


@app.command("remove")
def remove(
    ctx: typer.Context,
    site: SiteArg,
    purge_backups: Annotated[
        bool,
        typer.Option(
            "--purge-backups",
            help="Also delete its snapshots from the backup repository (forget and prune). "
            "Without it they are kept under the site's own restic host, which no other "
            "site ever gets.",
        ),
    ] = False,
) -> None:
    """Remove a site, its check job and its state (the journal keeps its history); says
    what became of its snapshots."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_site(session, site)
        name = found.name
        disposal = removal.remove_site(
            session,
            app_ctx.vault,
            BackupSettings.from_settings(app_ctx.settings),
            found,
            purge=purge_backups,
            run=lambda settle: asyncio.run(settle()),
            now=app_ctx.now(),
        )
    output.note(f"removed site {name!r}; {disposal.sentence()}")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV with a header row; see docs/cli-json.md.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add or update sites from a CSV file: all rows or none.

    A row whose URL another site already has (or an earlier row gives) is reported
    with its line, unless its allow_duplicate column says yes."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {exc}") from None
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        result = import_sites(
            session,
            text,
            app_ctx.now(),
            default_interval=app_ctx.default_interval,
            base_dir=file.resolve().parent,
            dry_run=dry_run,
            vault=app_ctx.vault,
            read_key_files=True,
            check_config=ProbeSet().config,
        )
    if as_json:
        data = asdict(result)
        output.print_json(
            {k: data[k] for k in ("added", "updated", "unchanged", "dry_run")}
            | {"added_names": data["added_names"], "updated_names": data["updated_names"]}
        )
        return
    prefix = "would import" if dry_run else "imported"
    typer.echo(
        f"{prefix}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged"
    )


@app.command("key-import")
def key_import(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Client id or name: the key's owner.")],
    file: Annotated[Path, typer.Argument(help="Private key file (OpenSSH or PEM, no passphrase).")],
    name: Annotated[
        str | None, typer.Option("--name", help="Name (default: type + fingerprint).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Keep a client's SSH private key in sitekeeper (encrypted); its sites use it by name.

    The file is read once: it may be deleted afterwards. Only the client's own
    sites can use the key.
    """
    text = ssh_keys.read_key_file(file)
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        owner = get_client(session, client)
        row = ssh_keys.import_key(session, app_ctx.vault, owner, text, name=name, now=app_ctx.now())
        data = _key_json(row, owner.name)
    if as_json:
        output.print_json(data)
        return
    output.print_fields(list(data.items()))


@app.command("keys")
def keys(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Option("--client", help="Only this client's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the SSH keys sitekeeper keeps (public halves and fingerprints only)."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        owner = get_client(session, client) if client else None
        names = client_names(session)
        rows = [
            _key_json(k, names.get(k.client_id))
            for k in ssh_keys.list_keys(session, owner.id if owner else None)
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "client", "name", "fingerprint"],
        [[r["id"], r["client"], r["name"], r["fingerprint"]] for r in rows],
    )


def _key_json(row: SshKey, client: str | None) -> dict[str, Any]:
    """The documented JSON shape of a stored key: never the private half."""
    return {
        "id": row.id,
        "client_id": row.client_id,
        "client": client,
        "name": row.name,
        "algorithm": row.algorithm,
        "fingerprint": row.fingerprint,
        "public_key": row.public_key,
        "created_at": row.created_at.isoformat(),
    }


@app.command("trust-host-key")
def trust_host_key(
    ctx: typer.Context,
    *,
    site: SiteArg,
    known_hosts: Annotated[
        Path | None,
        typer.Option("--known-hosts", help="Pin the key this OpenSSH known_hosts file lists."),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="Pin SHA256:… (as ssh-keygen -l prints it)."),
    ] = None,
    forget: Annotated[
        bool, typer.Option("--forget", help="Drop the pin: the next connection learns the key.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pin the SSH host key of a site's server before the first connection, or forget it.

    Without a pin the first connection trusts the key the server presents (and
    pins it); afterwards a different key stops every job. Pins are per host and
    port, so they hold for every site on that server.
    """
    if sum((known_hosts is not None, fingerprint is not None, forget)) != 1:
        raise UsageError("give one of --known-hosts FILE, --fingerprint SHA256:… or --forget")
    # asyncssh loads only for this command, not for every `site` command
    from sitekeeper.remote.hostkeys import StoreHostKeyPins, known_hosts_key  # noqa: PLC0415

    app_ctx = app_context(ctx)
    pins = StoreHostKeyPins(app_ctx.db)
    with app_ctx.session() as session:
        found = store.get_site(session, site)
        if not found.ssh:
            raise UsageError(f"site {found.name!r} has no SSH access: give --ssh first")
        host, port = validate_ssh_host(str(found.ssh["host"])), int(found.ssh.get("port", 22))
        data: dict[str, Any] = {"site": found.name, "host": host, "port": port}
        if forget:
            old = pins.get(host, port)
            data |= {"forgotten": pins.forget(host, port), "fingerprint": old and old.fingerprint}
            kind = SshEventKind.HOST_KEY_FORGOTTEN
        else:
            try:
                key = known_hosts_key(known_hosts, host, port) if known_hosts else None
                if known_hosts is not None and key is None:
                    raise UsageError(f"{known_hosts} lists no key for {host} port {port}")
                pinned = pins.trust(host, port, public_key=key, expected=fingerprint)
            except RemoteError as exc:  # an unreadable file, a bad or conflicting pin
                raise UsageError(str(exc)) from None
            data |= {"fingerprint": pinned.fingerprint, "key_known": bool(pinned.public_key)}
            kind = SshEventKind.HOST_KEY_TRUSTED
        journal.record(
            session, kind, site_id=found.id, client_id=found.client_id, data=data, ts=app_ctx.now()
        )
    if as_json:
        output.print_json(data)
    elif forget:
        output.note(
            f"{host}:{port}: pin {'dropped' if data['forgotten'] else 'was not set'}; "
            "the next connection trusts and pins the key the server presents"
        )
    else:
        output.note(f"{host}:{port}: host key pinned, {data['fingerprint']}")
