"""`sitekeeper scan SITE...`: a site's files over SSH against its vendors' lists, the places
code never belongs, and the YARA rules (issue 12 §1-2).

The findings are filed (opened, resolved, alerted) exactly as ``serve``'s daily scan files
them. Output: a table on a terminal; with ``--json`` or when piped, a JSON list with one
object per site: ``{**IntegrityReport.to_json(), "opened": [...], "resolved": [...]}``
(docs/cli-json.md). Exit status: 0 when every site was scanned, 1 when any could not
be, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.issue_table import issue_table
from sitekeeper.cli.output import cell, json_text
from sitekeeper.domain.untrusted import visible
from sitekeeper.errors import SitekeeperError

if TYPE_CHECKING:
    from sitekeeper.domain.integrity import IntegrityReport


async def _scan_all(
    refs: list[str], ctx: AppContext
) -> list[tuple[IntegrityReport, dict[str, list[str]]]]:
    from sitekeeper.domain.integrity import IntegrityReport  # noqa: PLC0415
    from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: PLC0415 - keeps CLI start fast

    jobs = IntelJobs(ctx.db, ctx.settings, vault=ctx.vault)
    results: list[tuple[IntegrityReport, dict[str, list[str]]]] = []
    for ref in refs:
        try:
            report, changes = await jobs.scan_site(ref)
        except SitekeeperError as exc:
            results.append((IntegrityReport(site=ref, error=visible(str(exc), 500)), {}))
            continue
        results.append(
            (
                report,
                {
                    "opened": sorted(f"{s.kind}:{s.type}:{s.package}" for s in changes.opened),
                    "resolved": sorted(f"{f.kind}:{f.type}:{f.package}" for f in changes.resolved),
                },
            )
        )
    return results


def _table(reports: list[IntegrityReport]) -> Table:
    return issue_table((report.site, report, "nothing found") for report in reports)


def scan(
    typer_ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(metavar="SITE...")],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
) -> None:
    """Check a site's files over SSH: core and plugins against the vendors' checksums, PHP
    where none belongs, double extensions, unexplained new files, and malware (YARA)."""
    ctx = app_context(typer_ctx)
    results = asyncio.run(_scan_all(refs, ctx))
    reports = [r for r, _ in results]
    if sys.stdout.isatty() and not as_json:
        Console().print(_table(reports))
        for report in reports:
            for note in report.notes:
                Console(stderr=True).print(cell(f"{report.site}: {note}"))
    else:
        payload = [{**r.to_json(), **changed} for r, changed in results]
        sys.stdout.write(json_text(payload) + "\n")
    raise typer.Exit(1 if any(r.error for r in reports) else 0)
