"""`sitekeeper probe-content`: SEO spam, defacement and cloaking on a site's key pages.

The home page and a few sitemap pages are fetched as a visitor, as Googlebot (with a
Google referrer) and as a phone, and compared with their baselines (the first run takes
them) and with each other: new outbound domains, hidden links, new scripts and frames,
a large text change, the plan's forbidden words, cloaking, new spam URLs in the sitemap.
Findings are filed (opened, resolved, alerted) exactly as ``serve``'s daily run files
them. ``--accept`` takes what the site shows now as its new normal after a legitimate
redesign (journalled with who).

Output: a table on a terminal; with ``--json`` or when piped, a JSON list with one object
per site: ``{"site": name, **SeoReport.to_json(), "opened": [...], "resolved": [...]}``.
Exit status: 0 when every site was looked at, 1 when any could not be, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.issue_table import issue_table
from sitekeeper.cli.output import json_text

if TYPE_CHECKING:
    from sitekeeper.domain.seo import SeoReport

Row = tuple[str, "SeoReport", dict[str, list[str]]]


async def _probe_all(
    ctx: AppContext, sites: list[tuple[int, str]], accept: str | None
) -> list[Row]:
    from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: PLC0415 - keeps CLI start fast

    jobs = IntelJobs(ctx.db, ctx.settings, vault=ctx.vault)
    async with jobs.content_probe() as probe:

        async def one(site_id: int, name: str) -> Row:
            report, changes = await jobs.probe_site_content(site_id, probe, accept=accept)
            return (
                name,
                report,
                {
                    "opened": sorted(s.package for s in changes.opened),
                    "resolved": sorted(f.package for f in changes.resolved),
                },
            )

        return list(await asyncio.gather(*(one(i, n) for i, n in sites)))


def _sites(ctx: AppContext, refs: list[str]) -> list[tuple[int, str]]:
    from sitekeeper.store.sites import get_site  # noqa: PLC0415 - fast CLI start-up

    with ctx.session() as session:
        return [(site.id, site.name) for site in (get_site(session, r) for r in refs)]


def _table(rows: list[Row]) -> Table:
    return issue_table(
        (name, r, "baselines taken" if r.baselined else "nothing found") for name, r, _ in rows
    )


def probe_content(
    typer_ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(metavar="SITE...", help="Registered sites.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    accept: Annotated[
        bool,
        typer.Option(
            "--accept",
            help="Take what the sites show now as their new baselines (after a legitimate "
            "redesign); journalled with --by.",
        ),
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who accepts (default: you).")] = None,
) -> None:
    """Look for SEO spam, defacement and cloaking on sites' key pages."""
    ctx = app_context(typer_ctx)
    sites = _sites(ctx, refs)
    who = (by or getpass.getuser()) if accept else None
    rows = asyncio.run(_probe_all(ctx, sites, who))
    if sys.stdout.isatty() and not as_json:
        Console().print(_table(rows))
    else:
        payload: list[dict[str, Any]] = [
            {"site": name, **report.to_json(), **changed} for name, report, changed in rows
        ]
        sys.stdout.write(json_text(payload) + "\n")
    raise typer.Exit(1 if any(report.error for _, report, _ in rows) else 0)
