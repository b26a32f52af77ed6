"""`sitekeeper fingerprint`: which CMS and release registered sites or bare URLs run.

Output: a table on a terminal; with ``--json`` or when piped, a JSON list with
one object per target: ``{"site": name-or-null, **Fingerprint.to_json()}``.
Exit status: 0 when every target was fingerprinted (even as "no CMS"), 1 when
any could not be reached, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sitekeeper.cli.check import resolve_targets
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError

if TYPE_CHECKING:
    from sitekeeper.config import Settings
    from sitekeeper.domain.fingerprint import Fingerprint
    from sitekeeper.engine.oneshot import OneShotTarget


async def _fingerprint_all(
    targets: list[OneShotTarget], settings: Settings, concurrency: int, *, learn: bool
) -> list[Fingerprint]:
    """Every target with at most ``concurrency`` at once, in input order."""
    # Imported here to keep CLI start-up fast.
    from sitekeeper.probes.fingerprint import (  # noqa: PLC0415
        FingerprintOptions,
        FingerprintProbe,
        learn_release_hashes,
    )

    if learn:
        await learn_release_hashes(settings)
    slots = asyncio.Semaphore(concurrency)
    async with await FingerprintProbe.in_home(settings) as probe:

        async def one(target: OneShotTarget) -> Fingerprint:
            options = FingerprintOptions.from_check(target.options)
            async with slots:
                return await probe.fingerprint(target.url, options)

        return list(await asyncio.gather(*(one(t) for t in targets)))


def _table(rows: list[tuple[OneShotTarget, Fingerprint]]) -> Table:
    table = Table()
    for column in ("site", "cms", "version", "evidence"):
        table.add_column(column, overflow="fold")
    for target, fp in rows:
        if fp.version:
            version = fp.version
        else:
            version = ", ".join(fp.candidates[:5]) + (" …" if len(fp.candidates) > 5 else "")
        table.add_row(
            target.site or fp.url,
            fp.cms or ("[red]error[/]" if fp.error else "-"),
            version or "-",
            fp.error or (fp.evidence[0] if fp.evidence else ""),
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
            help="First fetch the vendors' release data for hardened sites "
            "(cached in the data directory; only new releases are downloaded).",
        ),
    ] = False,
) -> None:
    """Tell which CMS and version sites run, from outside, with the evidence."""
    ctx = app_context(typer_ctx)
    try:
        targets = resolve_targets(ctx, refs or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    results = asyncio.run(_fingerprint_all(targets, ctx.settings, concurrency, learn=learn))
    if sys.stdout.isatty() and not as_json:
        Console().print(_table(list(zip(targets, results, strict=True))))
    else:
        payload = [{"site": t.site, **r.to_json()} for t, r in zip(targets, results, strict=True)]
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    raise typer.Exit(1 if any(r.error and r.cms is None for r in results) else 0)
