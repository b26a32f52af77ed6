"""``sitekeeper work ...``: the agency's work done by hand, counted in the monthly report
against the hours the client's plan includes."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.reports.period import month, parse_date
from sitekeeper.store import work_log
from sitekeeper.store.clients import get_client
from sitekeeper.store.sites import get_site
from sitekeeper.store.tables import Client, Site
from sitekeeper.store.work_tables import WorkEntry
from sitekeeper.timezones import zone

app = typer.Typer(help="Work log: what the agency did by hand, per client.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def entry_json(entry: WorkEntry, client: str | None, site: str | None) -> dict[str, Any]:
    """The documented JSON shape of one entry (``work list --json``, ``/api/work``)."""
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "client": client,
        "site_id": entry.site_id,
        "site": site,
        "date": entry.day.isoformat(),
        "minutes": entry.minutes,
        "note": entry.note,
        "by": entry.by,
        "created_at": entry.created_at.isoformat(),
    }


def target_of(session: Session, ref: str) -> tuple[Client, Site | None]:
    """The client (and site) ``ref`` names: a site's id, name or URL, or a client's name (or
    id, when no site has it); UsageError when a name is both's, NotFound when neither."""
    try:
        site: Site | None = get_site(session, ref)
    except NotFound:
        site = None
    try:
        client: Client | None = get_client(session, ref)
    except NotFound:
        client = None
    if site is not None and client is not None:
        if ref.strip().isdigit():  # a number is a site's id, as SITE is everywhere
            client = None
        else:
            raise UsageError(f"{ref!r} names a site and a client: give the site's URL or id")
    if site is not None:
        if site.client is None:
            raise UsageError(f"site {site.name!r} has no client to log work for")
        return site.client, site
    if client is None:
        raise NotFound(f"no site or client {ref!r}")
    return client, None


@app.command("add")
def add(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Site (id, name, URL) or client (id, name).")],
    *,
    minutes: Annotated[int, typer.Option("--minutes", help="How long, in minutes.")],
    note: Annotated[str, typer.Option("--note", help="What was done (the client reads it).")],
    day: Annotated[
        str | None,
        typer.Option("--date", help="YYYY-MM-DD (default: today in the client's time zone)."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who did it (default: you).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log work done by hand for a client, on one of its sites or on the whole."""
    app_ctx = app_context(ctx)
    now = app_ctx.now()
    with app_ctx.session() as session:
        client, site = target_of(session, target)
        when = parse_date(day) if day else now.astimezone(zone(client.timezone)).date()
        entry = work_log.add_entry(
            session,
            client=client,
            site=site,
            day=when,
            minutes=minutes,
            note=note,
            by=by or getpass.getuser(),
            now=now,
        )
        data = entry_json(entry, client.name, site.name if site else None)
    if as_json:
        output.print_json(data)
        return
    output.print_fields(list(data.items()))


@app.command("list")
def list_(
    ctx: typer.Context,
    *,
    client: Annotated[str | None, typer.Option("--client", help="Client id or name.")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Site id, name or URL.")] = None,
    period: Annotated[str | None, typer.Option("--period", help="A month: YYYY-MM.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List logged work, by date (of a client, a site, a month)."""
    with app_context(ctx).session() as session:
        client_ids = [get_client(session, client).id] if client else None
        site_ids = [get_site(session, site).id] if site else None
        dates = month(period, "UTC") if period else None  # entries carry local dates already
        found = work_log.entries(
            session,
            client_ids=client_ids,
            site_ids=site_ids,
            first=dates.first if dates else None,
            last=dates.last if dates else None,
        )
        clients, sites = work_log.names(session, found)
        rows = [entry_json(e, clients.get(e.client_id), sites.get(e.site_id or 0)) for e in found]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "date", "client", "site", "minutes", "by", "note"],
        [
            [r["id"], r["date"], r["client"], r["site"], r["minutes"], r["by"], r["note"]]
            for r in rows
        ],
    )
    output.note(f"{sum(r['minutes'] for r in rows)} minutes in {len(rows)} entries")


@app.command("remove")
def remove(
    ctx: typer.Context, entry: Annotated[int, typer.Argument(help="Entry id (work list).")]
) -> None:
    """Remove a work entry logged by mistake."""
    with app_context(ctx).session() as session:
        work_log.remove_entry(session, work_log.get_entry(session, entry))
    output.note(f"removed work entry {entry}")
