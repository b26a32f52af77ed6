"""`sitekeeper fingerprint`: which CMS and release registered sites or bare URLs run.

Output: a table on a terminal; with ``--json`` or when piped, a JSON list with
one object per target: ``{"site": name-or-null, **Fingerprint.to_json()}``.
A registered site's fingerprint is stored and its findings re-matched, exactly
as ``serve``'s scheduled fingerprint does (``IntelJobs.fingerprint_site``), so
``vulns`` and ``updates`` know it at once; a bare URL is only printed.
Exit status: 0 when every target was fingerprinted (even as "no CMS"), 1 when
any could not be reached, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sitekeeper.cli.check import resolve_targets
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.output import cell, json_text
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.errors import UsageError

if TYPE_CHECKING:
    from sitekeeper.domain.fingerprint import Fingerprint
    from sitekeeper.engine.intel_base import FingerprintFn
    from sitekeeper.engine.intel_jobs import IntelJobs
    from sitekeeper.engine.oneshot import OneShotTarget


async def _fingerprint_all(
    targets: list[OneShotTarget], ctx: AppContext, concurrency: int, *, learn: bool
) -> list[Fingerprint]:
    """Every target with at most ``concurrency`` at once, in input order; registered sites
    go through the scheduled job's path (stored, re-matched), bare URLs are only probed."""
    # Imported here to keep CLI start-up fast.
    from sitekeeper.probes.fingerprint import (  # noqa: PLC0415
        FingerprintOptions,
        learn_release_hashes,
    )

    settings = ctx.settings
    if learn:
        await learn_release_hashes(settings)
    registered = any(t.site_id is not None for t in targets)
    jobs = _jobs(ctx) if registered else None
    slots = asyncio.Semaphore(concurrency)
    async with _probe(ctx, jobs) as fingerprint:

        async def one(target: OneShotTarget) -> Fingerprint:
            async with slots:
                if jobs is not None and target.site_id is not None:
                    return await jobs.fingerprint_site(target.site_id, fingerprint)
                check = CheckOptions.model_validate(target.options)  # a bare URL's: defaults
                return await fingerprint(target.url, FingerprintOptions.from_check(check))

        return list(await asyncio.gather(*(one(t) for t in targets)))


def _jobs(ctx: AppContext) -> IntelJobs:
    from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: PLC0415

    return IntelJobs(ctx.db, ctx.settings, vault=ctx.vault)


@asynccontextmanager
async def _probe(ctx: AppContext, jobs: IntelJobs | None) -> AsyncIterator[FingerprintFn]:
    """The job's fingerprinter when a registered site is among the targets, else a probe."""
    if jobs is not None:
        async with jobs.fingerprinter() as fingerprint:
            yield fingerprint
        return
    from sitekeeper.engine.fingerprinting import fingerprinter  # noqa: PLC0415

    async with fingerprinter(ctx.settings) as fingerprint:
        yield fingerprint


def _table(rows: list[tuple[OneShotTarget, Fingerprint]]) -> Table:
    table = Table()
    for column in ("site", "cms", "version", "evidence"):
        table.add_column(column, overflow="fold")
    for target, fp in rows:
        if fp.version:
            version = fp.version
        else:
            version = ", ".join(fp.candidates[:5]) + (" …" if len(fp.candidates) > 5 else "")
        table.add_row(  # text, never markup: evidence quotes the site's headers and pages
            cell(target.site or fp.url),
            cell(fp.cms) if fp.cms else (cell("error", "red") if fp.error else cell("-")),
            cell(version or "-"),
            cell(fp.error or (fp.evidence[0] if fp.evidence else "")),
        )
    return table


def fingerprint(
    typer_ctx: typer.Context,
    refs: Annotated[list[str] | None, typer.Argument(metavar="[SITE|URL]...")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Sites at once.")] = 50,
    learn: Annotated[
        bool,
        typer.Option(
            "--learn",
            help="First learn the public files of every CMS release (not needed: a "
            "hardened site's range is learned when it is met; cached in the data directory).",
        ),
    ] = False,
) -> None:
    """Tell which CMS and version sites run, from outside, with the evidence."""
    ctx = app_context(typer_ctx)
    try:
        targets = resolve_targets(ctx, refs or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    results = asyncio.run(_fingerprint_all(targets, ctx, concurrency, learn=learn))
    if sys.stdout.isatty() and not as_json:
        Console().print(_table(list(zip(targets, results, strict=True))))
    else:
        payload = [{"site": t.site, **r.to_json()} for t, r in zip(targets, results, strict=True)]
        sys.stdout.write(json_text(payload) + "\n")
    raise typer.Exit(1 if any(r.error and r.cms is None for r in results) else 0)
