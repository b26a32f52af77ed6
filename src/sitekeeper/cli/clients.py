"""``sitekeeper client ...``: the agency's customers."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.clients import ClientFields
from sitekeeper.errors import UsageError
from sitekeeper.notify.registry import check_url
from sitekeeper.reports.public_links import status_page_url
from sitekeeper.store import clients as store
from sitekeeper.store import status_tokens
from sitekeeper.store.tables import Client
from sitekeeper.vault import Vault

app = typer.Typer(help="Clients: the agency's customers.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def client_json(client: Client, vault: Vault, sites: int) -> dict[str, Any]:
    """The documented JSON shape of a client (alert URLs masked)."""
    masked = [store.mask_url(u) for u in store.alert_urls(client, vault)]
    values = {**store.client_values(client), "alert_urls": masked}
    return {"id": client.id, **values, "sites": sites, "created_at": client.created_at.isoformat()}


def _show(session: Session, client: Client, vault: Vault, as_json: bool) -> None:
    data = client_json(client, vault, store.site_count(session, client.id))
    if as_json:
        output.print_json(data)
    else:
        output.print_fields(list(data.items()))


@app.command("add")
@entity_options(ClientFields, "add")
def add(ctx: typer.Context, *, values: dict[str, Any], as_json: JsonOpt = False) -> None:
    """Add a client."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        client = store.add_client(
            session, app_ctx.vault, now=app_ctx.now(), check_url=check_url, **values
        )
        _show(session, client, app_ctx.vault, as_json)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List clients."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        counts = store.site_counts(session)
        rows = [
            client_json(c, app_ctx.vault, counts.get(c.id, 0)) for c in store.list_clients(session)
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "name", "email", "language", "sites", "alerts"],
        [
            [r["id"], r["name"], r["email"], r["language"], r["sites"], r["alert_urls"]]
            for r in rows
        ],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Client id or name.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one client."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        _show(session, store.get_client(session, client), app_ctx.vault, as_json)


@app.command("edit")
@entity_options(ClientFields, "edit")
def edit(
    ctx: typer.Context,
    *,
    client: Annotated[str, typer.Argument(help="Client id or name.")],
    values: dict[str, Any],
    as_json: JsonOpt = False,
) -> None:
    """Change a client; --alert-url replaces the client's alert URLs."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_client(session, client)
        store.update_client(session, found, app_ctx.vault, check_url=check_url, **values)
        _show(session, found, app_ctx.vault, as_json)


@app.command("remove")
def remove(
    ctx: typer.Context, client: Annotated[str, typer.Argument(help="Client id or name.")]
) -> None:
    """Remove a client that has no sites or contracts."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_client(session, client)
        store.remove_client(session, found)
        output.note(f"removed client {found.name!r}")


@app.command("status-page")
def status_page(
    ctx: typer.Context,
    *,
    client: Annotated[str, typer.Argument(help="Client id or name.")],
    on: Annotated[bool, typer.Option("--on", help="Turn the page on (keeps its URL).")] = False,
    off: Annotated[bool, typer.Option("--off", help="Turn it off: its URL stops working.")] = False,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Give it a new URL; the old one stops working.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The client's public status page (/status/TOKEN, off by default): its URL, or turn it
    on, off, or to a new URL. Without an option, shows whether it is on and where."""
    if on + off + rotate > 1:
        raise UsageError("give one of --on, --off, --rotate")
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_client(session, client)
        if on:
            status_tokens.turn_on(session, found)
        elif rotate:
            status_tokens.rotate(session, found)
        elif off:
            status_tokens.turn_off(session, found)
        url, name = status_page_url(session, app_ctx.settings, found), found.name
    if as_json:
        output.print_json({"client": name, "enabled": url is not None, "url": url})
    elif url is None:
        output.note(f"the status page of {name!r} is off")
    else:
        typer.echo(url)
