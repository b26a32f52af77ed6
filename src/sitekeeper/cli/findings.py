"""`sitekeeper findings SITE`: a site's open findings, worst first, and `sitekeeper
findings ack FINDING_ID --reason "…"` (or `--undo`): a false positive acknowledged.

Output: a table on a terminal; with ``--json`` or when piped, ``{"site", "site_id",
"compromised", "findings": [...], "acknowledged": [...]}`` (the API's shapes,
docs/cli-json.md). Exit status of the listing: 0, or 1 when the site shows signs of a hack
(``compromised``), 2 on bad usage. An acknowledgement is journaled with ``cli:<user>``
and the reason, and keeps the finding quiet until its evidence changes.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.store import finding_acks
from sitekeeper.store.site_findings import get_finding, site_findings
from sitekeeper.store.sites import get_site

JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout (stable contract).")]
_PAGE = 1000


class _ListByDefault(TyperGroup):
    """``findings SITE`` lists; ``findings ack ID`` acknowledges: a first word that is no
    subcommand is the SITE of ``list``."""

    # Any: Typer types this with its vendored (private) click Context.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ListByDefault,
    help="A site's findings, worst first (`findings SITE` is `findings list SITE`), and "
    "acknowledging false positives.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site id, name or URL.")],
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", help="Only this kind (repeatable): malware, integrity, seo, exposure, …"
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A site's open findings, worst first, and what was acknowledged as not a problem."""
    with app_context(ctx).session() as session:
        found = get_site(session, site)
        rows = []
        page = 1
        while True:
            chunk, total = site_findings(session, found.id, kind or None, page=page, per_page=_PAGE)
            rows += chunk
            if len(rows) >= total or not chunk:
                break
            page += 1
        acks = finding_acks.acknowledgements(session, found.id)
        name, site_id = found.name, found.id
    hacked = sum(1 for f in rows if f.hack_sign)
    data: dict[str, Any] = {
        "site": name,
        "site_id": site_id,
        "compromised": hacked,
        "findings": [f.to_json() for f in rows],
        "acknowledged": [a.to_json() for a in acks],
    }
    if as_json or not sys.stdout.isatty():
        output.print_json(data)
    else:
        _print(data)
    if hacked:
        raise typer.Exit(1)


def _print(data: dict[str, Any]) -> None:
    output.print_table(
        ["id", "severity", "kind", "finding", "evidence", "fix", "first seen"],
        [
            [
                f["id"],
                (f["severity"] or "") + (" (hack)" if f["hack_sign"] else ""),
                f["kind"],
                f["title"] or f"{f['package']} {f['installed'] or ''}".strip(),
                f["evidence"] or f["advisory_id"],
                f["note"] or f["latest"],
                f["opened_at"],
            ]
            for f in data["findings"]
        ],
    )
    if data["acknowledged"]:
        output.note("acknowledged as not a problem:")
        output.print_table(
            ["finding", "what", "by", "why", "when", "open again"],
            [
                [a["finding_id"], a["title"] or a["package"], a["by"], a["reason"], a["at"],
                 "yes" if a["open_again"] else "no"]
                for a in data["acknowledged"]
            ],
        )  # fmt: skip
    if data["compromised"]:
        output.note(f"{data['site']}: {data['compromised']} open sign(s) of a hack")


@app.command("ack")
def ack(
    ctx: typer.Context,
    finding_id: Annotated[int, typer.Argument(help="The finding's id (`sitekeeper findings`).")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why it is not a problem (journaled).")
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Delete the acknowledgement: the finding counts again.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge a finding as a false positive ("this file is ours"): quiet until its
    evidence changes; or undo that."""
    if undo == (reason is not None):
        raise UsageError("give --reason to acknowledge, or --undo (not both)")
    who = f"cli:{getpass.getuser()}"
    now = datetime.now(UTC)
    with app_context(ctx).session() as session:
        finding = get_finding(session, finding_id)
        if undo:
            if not finding_acks.undo(session, finding, who, now):
                raise UsageError(f"finding {finding_id} is not acknowledged")
            result: dict[str, Any] = {"finding_id": finding_id, "undone": True}
        else:
            try:
                finding_acks.acknowledge(session, finding, reason or "", who, now)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            shown = finding_acks.acknowledgements(session, finding.site_id)
            result = next(a for a in shown if a.finding_id == finding.id).to_json()
    if as_json or not sys.stdout.isatty():
        output.print_json(result)
    elif undo:
        output.note(f"finding {finding_id}: acknowledgement undone; it counts again")
    else:
        output.note(f"finding {finding_id} acknowledged: quiet until its evidence changes")
