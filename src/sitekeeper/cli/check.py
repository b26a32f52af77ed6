"""`sitekeeper check`: check registered sites or bare URLs now.

Exit status: 0 when every target is up, 1 when any is down, 2 on bad usage.
Output: a table with a progress bar on a terminal; JSON (a list, one object
per target, see docs/cli-json.md) with ``--json`` or when piped.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.output import cell, json_text
from sitekeeper.domain.checks import CheckResult, split_check
from sitekeeper.domain.sites import normalize_url
from sitekeeper.errors import NotFound, UsageError

if TYPE_CHECKING:
    from rich.table import Table

    from sitekeeper.engine.oneshot import OneShotTarget
    from sitekeeper.store.tables import Site

PROGRESS_MIN = 10  # below this many targets a progress bar is noise


def _has_database(ctx: AppContext) -> bool:
    """Whether a store exists to look sites up in (bare URLs must not create one)."""
    settings = ctx.settings
    return bool(settings.database_url) or (settings.home / "sitekeeper.db").exists()


def resolve_targets(ctx: AppContext, refs: list[str]) -> list[OneShotTarget]:
    """Registered sites by id/name/URL; anything else that is a URL is checked bare."""
    from sitekeeper.engine.oneshot import OneShotTarget  # noqa: PLC0415 - keeps CLI start fast

    if refs and not (_has_database(ctx) or any("://" not in ref for ref in refs)):
        # Bare URLs and no store yet: nothing to look up, no database to create.
        return [OneShotTarget(normalize_url(ref)) for ref in refs]
    from sitekeeper.store.sites import get_site, list_sites  # noqa: PLC0415

    targets: list[OneShotTarget] = []
    with ctx.session() as session:
        if not refs:
            return [_site_target(s) for s in list_sites(session) if not s.paused]
        for ref in refs:
            try:
                site = get_site(session, ref)
            except NotFound:
                if "://" not in ref:
                    raise
                targets.append(OneShotTarget(normalize_url(ref)))
                continue
            targets.append(_site_target(site))
    return targets


def _site_target(site: Site) -> OneShotTarget:
    """A registered site checked by its own kind of probe, with its stored options."""
    from sitekeeper.engine.oneshot import OneShotTarget  # noqa: PLC0415 - keeps CLI start fast

    probe, options = split_check(site.check_options)
    return OneShotTarget(site.url, options, site.name, probe, site.id)


def _table(results: list[tuple[OneShotTarget, CheckResult]]) -> Table:
    """Every cell is text, not markup: a site's URL, error detail or redirect is its own."""
    from rich.table import Table  # noqa: PLC0415 - only on a terminal; --json skips it

    table = Table(show_lines=False)
    for column in ("site", "up", "status", "ms", "error", "certificate"):
        table.add_column(column)
    for target, r in results:
        tls = "-"
        if r.tls is not None:
            tls = f"{r.tls.days_left} days" if r.tls.valid else f"invalid: {r.tls.error}"
        table.add_row(
            cell(target.site or r.url),
            cell("up", "green") if r.up else cell("DOWN", "red"),
            cell(r.status or "-"),
            cell(r.response_ms if r.response_ms is not None else "-"),
            cell(f"{r.error}: {r.detail}" if r.error else ""),
            cell(tls),
        )
    return table


def check(
    typer_ctx: typer.Context,
    refs: Annotated[list[str] | None, typer.Argument(metavar="[SITE|URL]...")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Checks at once.")] = 200,
) -> None:
    """Check sites now: registered ones by id, name or URL, or any bare URL."""
    from sitekeeper.engine.oneshot import check_all  # noqa: PLC0415 - keeps CLI start fast

    ctx = app_context(typer_ctx)
    try:
        targets = resolve_targets(ctx, refs or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    settings = ctx.settings
    interactive = sys.stdout.isatty() and not as_json
    if interactive:
        from rich.console import Console  # noqa: PLC0415 - only on a terminal
    if interactive and len(targets) >= PROGRESS_MIN:
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("checks", total=len(targets))
            results = asyncio.run(
                check_all(
                    targets,
                    settings,
                    concurrency=concurrency,
                    on_done=lambda _r: progress.advance(task),
                )
            )
    else:
        results = asyncio.run(check_all(targets, settings, concurrency=concurrency))
    if interactive:
        Console().print(_table(list(zip(targets, results, strict=True))))
    else:
        payload = [{"site": t.site, **r.to_json()} for t, r in zip(targets, results, strict=True)]
        sys.stdout.write(json_text(payload) + "\n")
    raise typer.Exit(0 if all(r.up for r in results) else 1)
