"""`sitekeeper probe-security`: a site's security as the internet sees it.

Exposed files (repositories, secrets, config backups, dumps, archives, debug logs,
phpinfo, listings, server-status), WordPress user enumeration and XML-RPC, security
headers, TLS below 1.2, mixed content and version leaks; each issue with a severity
and a one-line fix. A registered site's issues are filed as findings (opened, resolved,
alerted) exactly as ``serve``'s daily probe files them; a bare URL is only printed.

Output: a table on a terminal; with ``--json`` or when piped, a JSON list with one
object per target: ``{"site": name-or-null, **SecurityReport.to_json(), "opened": [...],
"resolved": [...]}`` (``opened``/``resolved``: the items whose findings changed).
Exit status: 0 when every target was probed, 1 when any could not be reached, 2 on bad
usage.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sitekeeper.cli.check import resolve_targets
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.issue_table import issue_table
from sitekeeper.cli.output import json_text
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.errors import UsageError

if TYPE_CHECKING:
    from sitekeeper.domain.exposure import SecurityReport
    from sitekeeper.engine.oneshot import OneShotTarget


async def _probe_all(
    targets: list[OneShotTarget], ctx: AppContext, concurrency: int
) -> list[tuple[SecurityReport, dict[str, list[str]]]]:
    """Every target, ``concurrency`` at once, in input order, with one shared probe."""
    from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: PLC0415 - keeps CLI start fast
    from sitekeeper.probes.security.probe import SecurityOptions, SecurityProbe  # noqa: PLC0415

    registered = any(t.site_id is not None for t in targets)
    jobs = IntelJobs(ctx.db, ctx.settings, vault=ctx.vault) if registered else None
    slots = asyncio.Semaphore(concurrency)
    async with SecurityProbe.from_settings(ctx.settings) as probe:  # what serve's run uses

        async def one(target: OneShotTarget) -> tuple[SecurityReport, dict[str, list[str]]]:
            async with slots:
                if jobs is not None and target.site_id is not None:
                    report, changes = await jobs.probe_site_security(target.site_id, probe)
                    return report, {
                        "opened": sorted(s.package for s in changes.opened),
                        "resolved": sorted(f.package for f in changes.resolved),
                    }
                check = CheckOptions.model_validate(target.options)  # a bare URL's: defaults
                report = await probe.probe(target.url, SecurityOptions.from_check(check))
                return report, {"opened": [], "resolved": []}

        return list(await asyncio.gather(*(one(t) for t in targets)))


def _table(rows: list[tuple[OneShotTarget, SecurityReport]]) -> Table:
    return issue_table(
        (target.site or report.url, report, "nothing found") for target, report in rows
    )


def probe_security(
    typer_ctx: typer.Context,
    refs: Annotated[list[str] | None, typer.Argument(metavar="[SITE|URL]...")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Sites at once.")] = 10,
) -> None:
    """Check sites' security from outside: exposed files, user enumeration, headers, old TLS,
    mixed content; each issue with its severity and how to fix it."""
    ctx = app_context(typer_ctx)
    try:
        targets = resolve_targets(ctx, refs or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    results = asyncio.run(_probe_all(targets, ctx, concurrency))
    reports = [r for r, _ in results]
    if sys.stdout.isatty() and not as_json:
        Console().print(_table(list(zip(targets, reports, strict=True))))
    else:
        payload = [
            {"site": t.site, **r.to_json(), **changed}
            for t, (r, changed) in zip(targets, results, strict=True)
        ]
        sys.stdout.write(json_text(payload) + "\n")
    raise typer.Exit(1 if any(r.error for r in reports) else 0)
