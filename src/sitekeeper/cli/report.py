"""``sitekeeper report CLIENT``: a client's report for a month (or dates), as figures.

The HTML and PDF come later; ``--json`` is the figures document they will render
(docs/cli-json.md), and without it a terminal gets the first page and a line per site.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.reports.figures import ClientReport, client_report
from sitekeeper.reports.period import chosen, parse_date
from sitekeeper.store.clients import get_client


def report(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Client id or name.")],
    *,
    period: Annotated[
        str | None,
        typer.Option("--period", help="A month, YYYY-MM (default: the last complete one)."),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First date, YYYY-MM-DD (instead of --period).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last date, YYYY-MM-DD (inclusive).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The figures as JSON (stable).")] = False,
) -> None:
    """A client's report: uptime, incidents, backups, updates, security and work, per
    contract and site, for a month in the client's time zone."""
    app_ctx = app_context(ctx)
    now = app_ctx.now()
    with app_ctx.session() as session:
        found = get_client(session, client)
        dates = chosen(
            period,
            parse_date(first) if first else None,
            parse_date(last) if last else None,
            timezone=found.timezone,
            now=now,
        )
        figures = client_report(session, found, dates, now)
    if as_json:
        output.print_json(figures.to_json())
        return
    _print(figures)


def _print(figures: ClientReport) -> None:
    summary = figures.summary
    output.print_fields(
        [
            ("client", figures.client.name),
            ("period", f"{figures.period.label} ({figures.period.timezone})"),
            ("sites", summary.sites),
            ("uptime %", summary.uptime_pct),
            ("incidents", summary.incidents),
            ("updates applied", summary.updates_applied),
            ("security fixes", summary.security_fixes),
            ("hours after release (avg)", summary.hours_after_release_avg),
            ("backups taken", summary.backups_taken),
            ("backups failed", summary.backups_failed),
            ("last drill", summary.last_drill.at if summary.last_drill else None),
            ("work (minutes)", summary.work_minutes),
        ]
    )
    sites = [s for c in figures.contracts for s in c.sites] + figures.other_sites
    output.print_table(
        ["site", "uptime %", "target %", "incidents", "backups", "updates", "open advisories"],
        [
            [
                s.name,
                s.uptime.uptime_pct,
                s.uptime.target_pct,
                len(s.uptime.incidents),
                s.backups.taken,
                len(s.updates.applied),
                s.security.open,
            ]
            for s in sites
        ],
    )
