"""``sitekeeper reports ...``: the archive of client reports, and sending them by e-mail.

``report CLIENT --send`` makes (or finds) a period's report and mails it now; ``reports
list`` shows what was archived and sent to whom; ``reports resend`` mails a stored report
again, as it was archived, to its recipients or to ``--to``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.domain.clients import check_address
from sitekeeper.errors import DeliveryError
from sitekeeper.reports.archive import listing_json, stored_or_new
from sitekeeper.reports.delivery import SendOutcome, deliver, smtp_of
from sitekeeper.reports.period import Period
from sitekeeper.store import report_archive as archive
from sitekeeper.store.clients import client_names, get_client
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.tables import Client

app = typer.Typer(help="Client reports: the archive, and mailing them.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _deliver(app_ctx: AppContext, report_id: int, to: Sequence[str] | None) -> SendOutcome:
    smtp = smtp_of(app_ctx.settings)
    dbthread = DbThread(app_ctx.db)
    try:
        return asyncio.run(
            deliver(dbthread, smtp, report_id, by=_by(), now=app_ctx.now(), to=to or None)
        )
    finally:
        dbthread.close()


def _said(outcome: SendOutcome) -> None:
    """One line per outcome; DeliveryError (exit 1) when nobody got it (it is recorded)."""
    if outcome.error is not None:
        raise DeliveryError(f"report {outcome.report_id} not sent: {outcome.error}")
    output.note(f"report {outcome.report_id} sent to {', '.join(outcome.accepted)}")
    for address, why in outcome.refused.items():
        output.note(f"refused for {address}: {why}")


def send_report(
    app_ctx: AppContext, client: Client, period: Period, contract_id: int | None = None
) -> None:
    """``report CLIENT --send``: the period's archived report (made now if there is none),
    mailed to the client's report recipients."""
    smtp_of(app_ctx.settings)  # before rendering: say at once when mail is not set up
    with app_ctx.session() as session:
        found = session.get(Client, client.id) or client
        report, new = stored_or_new(
            session, found, period, app_ctx.now(), contract_id=contract_id, by=_by()
        )
        report_id = report.id
    if not new:
        output.note(f"report {report_id} for {period.label} was archived before: sending it")
    _said(_deliver(app_ctx, report_id, None))


@app.command("list")
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Argument(help="Client id or name (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Archived reports, newest period first, with each time they were sent."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        ids = [get_client(session, client).id] if client is not None else None
        found = archive.listed(session, ids)
        sends = archive.sends(session, [r.id for r in found])
        names = client_names(session)
        rows = [listing_json(r, names.get(r.client_id), sends.get(r.id, [])) for r in found]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "client", "period", "scope", "generated", "last sent", "to", "error"],
        [_row(r) for r in rows],
    )


def _row(row: dict[str, Any]) -> list[Any]:
    last = row["sends"][-1] if row["sends"] else None
    return [
        row["id"],
        row["client"],
        row["period"],
        row["scope"],
        row["generated_at"][:16],
        last["at"][:16] if last else None,
        ", ".join(last["recipients"]) if last else None,
        last["error"] if last else None,
    ]


@app.command("resend")
def resend(
    ctx: typer.Context,
    report: Annotated[int, typer.Argument(help="Report id (reports list).", min=1)],
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Send to this address instead (repeatable)."),
    ] = None,
) -> None:
    """Mail an archived report again, as it was stored: to the client's report recipients,
    or to --to."""
    app_ctx = app_context(ctx)
    _said(_deliver(app_ctx, report, [check_address(a.strip()) for a in to or []]))
