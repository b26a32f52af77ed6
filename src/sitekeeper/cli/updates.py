"""`sitekeeper update`: safe updates of one site, or fleet-wide, and their plan (--dry-run).

Exit status: 0 when every update applied (or there was nothing to do), 1 when any was
refused, failed or rolled back (``--dry-run``: when any would be refused), 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import getpass
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sitekeeper.cli import output
from sitekeeper.cli.backups import backup_context
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.results import update_outcome_json
from sitekeeper.errors import SitekeeperError, UsageError
from sitekeeper.store.clients import get_client
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.fleet import fleet_sites, update_fleet
from sitekeeper.updates.plan import PlanError, Selection, extension_ref, plan
from sitekeeper.updates.recover import recover_interrupted
from sitekeeper.updates.run import NOTHING, RunOutcome, site_plan
from sitekeeper.updates.target import SiteFacts, cms_of, site_facts

SNAPSHOT = (
    "a restic snapshot of the site's files and database, taken before any change "
    "(reason safety, tagged with the run)"
)
POLICY = "asked for by hand: a manual update needs no plan policy"
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout (stable contract).")]


def update(
    ctx: typer.Context,
    site: Annotated[
        str | None, typer.Argument(help="Site id, name or URL (needs SSH access).")
    ] = None,
    *,
    core: Annotated[bool, typer.Option("--core", help="The CMS's core.")] = False,
    plugin: Annotated[
        list[str] | None, typer.Option("--plugin", help="A plugin's slug (repeatable).")
    ] = None,
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="A theme's slug (repeatable).")
    ] = None,
    extension: Annotated[
        list[str] | None,
        typer.Option(
            "--extension",
            help="TYPE:SLUG of another kind of extension (module:views, "
            "component:com_foo). Repeatable.",
        ),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every pending update.")] = False,
    security: Annotated[
        bool, typer.Option("--security", help="Only updates that fix a vulnerability.")
    ] = False,
    to: Annotated[
        str | None, typer.Option("--to", help="The version to move one package to.")
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", help="Fleet-wide: this client's sites.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Fleet-wide: the sites with this tag.")
    ] = None,
    everywhere: Annotated[
        bool, typer.Option("--everywhere", help="Fleet-wide: every site with SSH access.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Fleet-wide: sites at once.")
    ] = 4,
    force: Annotated[
        bool,
        typer.Option("--force", help="Update a site that already fails its health check."),
    ] = False,
    sha256: Annotated[
        list[str] | None,
        typer.Option(
            "--sha256",
            help="SLUG=DIGEST: the archive's sha256, checked elsewhere (for packages whose "
            "vendor publishes no checksums, such as themes). Repeatable.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Update core, plugins, themes or other extensions safely: health checked before, a
    safety snapshot, a verified package, the CMS's own upgrader, health checked after from
    outside, and rolled back from the snapshot if anything fails."""
    try:
        extensions = tuple(extension_ref(text) for text in extension or ())
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    selection = Selection(
        core=core,
        plugins=tuple(plugin or ()),
        themes=tuple(theme or ()),
        extensions=extensions,
        everything=everything,
        security=security,
        to=to,
        pins=tuple(_pin(text) for text in sha256 or ()),
    )
    fleet = client is not None or tag is not None or everywhere
    if fleet == (site is not None):
        raise UsageError("give one SITE, or --client, --tag or --everywhere for the fleet")
    if fleet and to is not None:
        raise UsageError("--to names a version of one package on one site")
    try:
        plan(0, [], selection)  # the selection's own mistakes, before any site is read
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    app = app_context(ctx)
    with app.session() as session:
        if site is not None:
            refs = [site]
        else:
            client_id = get_client(session, client).id if client else None
            refs = [str(i) for i in fleet_sites(session, client_id=client_id, tag=tag)]
        facts = [site_facts(session, ref) for ref in refs]
    if dry_run:
        _dry_run(app, facts, selection, as_json)
        return
    outcomes = _run(app, facts, selection, concurrency=concurrency, force=force, quiet=as_json)
    if as_json:
        output.print_json([update_outcome_json(o) for o in outcomes])
    else:
        _print_outcomes(outcomes)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _run(
    app: AppContext,
    facts: Sequence[SiteFacts],
    selection: Selection,
    *,
    concurrency: int,
    force: bool,
    quiet: bool,
) -> list[RunOutcome]:
    """The runs, with a progress bar on a terminal (one line per step otherwise)."""
    wanted = [f.id for f in facts if site_plan(f, selection).items]
    skipped = [f for f in facts if f.id not in wanted]
    console = Console(stderr=True)
    user = f"cli:{getpass.getuser()}"

    async def go(done: Callable[[RunOutcome], None] | None, say: Any) -> list[RunOutcome]:
        jobs = IntelJobs(app.db, app.settings, vault=app.vault)
        uctx = UpdateContext.from_settings(
            app.settings, backup_context(app), reinventory=lambda i: jobs.inventory_site(str(i))
        )
        async with uctx:
            for found in await recover_interrupted(uctx):
                output.note(
                    f"{found.site}: update run {found.run_id} was interrupted: {found.state}"
                )
            return await update_fleet(
                uctx,
                [(site_id, selection) for site_id in wanted],
                concurrency=concurrency,
                force=force,
                requested_by=user,
                progress=say,
                done=done,
            )

    def line(name: str, what: str) -> None:
        output.note(f"{name}: {what}")

    if quiet or not console.is_terminal or len(wanted) <= 1:
        outcomes = asyncio.run(go(None, None if quiet else line))
    else:
        columns = (TextColumn("updates"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("updates", total=len(wanted))
            outcomes = asyncio.run(go(lambda _o: bar.advance(task), None))
    nothing = [_nothing(f, selection) for f in skipped]
    return sorted([*outcomes, *nothing], key=lambda o: o.site)


def _pin(text: str) -> tuple[str, str]:
    """``SLUG=DIGEST`` as (slug, digest); UsageError for anything else."""
    slug, _, digest = text.partition("=")
    digest = digest.strip().lower()
    if not slug.strip() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise UsageError(f"--sha256 takes SLUG=<64 hex digits>, not {text[:80]!r}")
    return slug.strip(), digest


def _nothing(facts: SiteFacts, selection: Selection) -> RunOutcome:
    chosen = site_plan(facts, selection)
    return RunOutcome(facts.name, facts.id, NOTHING, refused=chosen.refused)


def _print_outcomes(outcomes: Sequence[RunOutcome]) -> None:
    output.print_table(
        ["site", "result", "updates", "snapshot", "seconds", "why / state"],
        [
            [
                o.site,
                o.status,
                ", ".join(f"{i.package} {i.installed}→{i.target}" for i in o.items) or "-",
                o.snapshot_id[:8] if o.snapshot_id else None,
                f"{o.seconds:.0f}",
                o.reason if o.status != "applied" else o.state,
            ]
            for o in outcomes
        ],
    )
    for o in outcomes:
        for refusal in o.refused:
            output.note(
                f"{o.site}: not planned: {refusal.type} {refusal.package}: {refusal.reason}"
            )


def dry_run_json(app: AppContext, facts: SiteFacts, selection: Selection) -> dict[str, Any]:
    """What a run would do on one site (``--dry-run --json``): each package from → to,
    where it comes from and what it is checked against, the snapshot, the policy."""
    chosen = site_plan(facts, selection)
    cms = cms_of(facts.cms)
    updater = cms.updater if cms is not None else None
    vendor = dict(app.settings.model_extra or {})
    items, refused = (
        [],
        [{"type": r.type, "package": r.package, "reason": r.reason} for r in chosen.refused],
    )
    for item in chosen.items:
        assert updater is not None  # site_plan refused every item of a CMS without one
        try:
            source = updater.package_source(item, vendor, sha256=selection.pinned(item.package))
        except SitekeeperError as exc:
            refused.append({"type": item.type, "package": item.package, "reason": str(exc)})
            continue
        checked = source.checked_against
        items.append(
            {
                "type": item.type,
                "package": item.package,
                "from": item.installed,
                "to": item.target,
                "security": item.security,
                "ecosystem": item.ecosystem,
                "package_url": source.where,
                "checked_against": checked,
            }
        )
    return {
        "site": facts.name,
        "site_id": facts.id,
        "items": items,
        "refused": refused,
        "snapshot": SNAPSHOT if items else None,
        "policy": POLICY if items else None,
    }


def _dry_run(
    app: AppContext, facts: Sequence[SiteFacts], selection: Selection, as_json: bool
) -> None:
    plans = [dry_run_json(app, f, selection) for f in facts]
    if as_json:
        output.print_json(plans)
    else:
        keys = ("type", "package", "from", "to", "security", "package_url", "checked_against")
        rows = [[p["site"], *(i[k] for k in keys)] for p in plans for i in p["items"]]
        output.print_table(
            ["site", "type", "package", "from", "to", "security", "package", "checked against"],
            rows,
        )
        if any(p["items"] for p in plans):
            output.note(f"before any change on a site: {SNAPSHOT}")
            output.note(f"policy: {POLICY}")
        for p in plans:
            for r in p["refused"]:
                output.note(f"{p['site']}: refused: {r['type']} {r['package']}: {r['reason']}")
    if any(p["refused"] for p in plans):
        raise typer.Exit(1)
