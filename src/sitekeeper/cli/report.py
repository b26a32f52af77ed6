"""``sitekeeper report CLIENT``: a client's report for a month (or dates).

``--format html|pdf -o FILE`` writes the document the client receives (its language,
the agency's branding); ``--json`` is the figures it is made of (docs/cli-json.md);
without either a terminal gets the first page's figures and a line per site.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.reports.document import render_report, report_figures
from sitekeeper.reports.figures import ClientReport
from sitekeeper.reports.period import chosen, parse_date
from sitekeeper.reports.public_links import links_warning
from sitekeeper.store.clients import get_client


class Format(StrEnum):
    """What ``-o`` writes."""

    HTML = "html"
    PDF = "pdf"


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
    contract: Annotated[
        int | None, typer.Option("--contract", help="Only this contract (id), its sites and work.")
    ] = None,
    form: Annotated[
        Format | None,
        typer.Option(
            "--format", help="Write the report as html or pdf (default: from -o's suffix)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="The file to write the report to.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The figures as JSON (stable).")] = False,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Mail the period's archived report (made and archived now if there is none) "
            "to the client's report recipients.",
        ),
    ] = False,
) -> None:
    """A client's report: uptime, incidents, backups, updates, security and work, per
    contract and site, for a month in the client's time zone; as a document (HTML or PDF,
    in the client's language, with the agency's branding) with -o."""
    kind = _format(form, out, as_json, send=send)
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
        if kind is not None or send:  # a document for the client: its links must work
            warning = links_warning(session)
            if warning is not None:
                output.note(f"warning: {warning}")
        if kind is not None:  # a document: rendered in the client's language
            rendered = render_report(session, found, dates, now, contract_id=contract)
        elif not send:  # the figures alone
            figures = report_figures(session, found, dates, now, contract_id=contract)
    if send:
        from sitekeeper.cli.reports import send_report  # noqa: PLC0415 - mail only here

        send_report(app_ctx, found, dates, contract)
        return
    if out is not None and kind is not None:
        data = rendered.pdf() if kind == Format.PDF else rendered.html.encode("utf-8")
        out.write_bytes(data)
        output.note(f"wrote {out} ({kind.value}, {len(data):,} bytes)")
        return
    if as_json:
        output.print_json(figures.to_json())
        return
    _print(figures)


def _format(form: Format | None, out: Path | None, as_json: bool, *, send: bool) -> Format | None:
    """The document to write: ``--format``, or ``-o``'s suffix; UsageError when the
    options do not fit together."""
    if send and (out is not None or as_json):
        raise UsageError("--send mails the archived report: give it without -o and --json")
    if out is None:
        if form is not None:
            raise UsageError("--format writes a file: give it with -o FILE")
        return None
    if as_json:
        raise UsageError("give either --json or -o FILE, not both")
    if form is not None:
        return form
    suffix = out.suffix.lower().lstrip(".")
    if suffix in {"htm", "html"}:
        return Format.HTML
    if suffix == "pdf":
        return Format.PDF
    raise UsageError(f"cannot tell the format from {out.name!r}: add --format html or pdf")


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
