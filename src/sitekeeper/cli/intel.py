"""`sitekeeper inventory`, `advisories import|list`, `feeds poll`, `updates`, `vulns`.

Thin: each command calls the same engine job or named query ``serve`` uses.
``--json`` shapes are a stable contract (docs/cli-json.md).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.domain.findings import VULNERABILITY
from sitekeeper.engine.intel_ingest import IngestReport
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.results import ingest_report_json, inventory_json
from sitekeeper.store import advisories as advisory_store
from sitekeeper.store import findings

advisories_app = typer.Typer(help="Security advisories: import and list.", no_args_is_help=True)
feeds_app = typer.Typer(help="Vendor release feeds.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout (stable contract).")]


def _jobs(ctx: typer.Context) -> IntelJobs:
    app = app_context(ctx)
    return IntelJobs(app.db, app.settings, vault=app.vault)


def inventory(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site id, name or URL (needs SSH access).")],
    as_json: JsonOption = False,
) -> None:
    """Read a site's CMS, PHP, database and extensions over SSH; store it with history."""
    _, result, changes = asyncio.run(_jobs(ctx).inventory_site(site))
    data = inventory_json(result, changes)
    if as_json:
        output.print_json(data)
        return
    output.print_fields(
        [(k, data[k]) for k in ("cms", "version", "php", "database", "collected_at")]
    )
    output.print_table(
        ["type", "slug", "name", "version", "active", "update source"],
        [
            [e[k] for k in ("type", "slug", "name", "version", "active", "update_source")]
            for e in data["extensions"]
        ],
    )
    for change in ("installed", "removed", "upgraded", "downgraded"):
        items = data["changes"][change]
        if items:
            output.note(f"{change}: {', '.join(i['slug'] for i in items)}")
    for warning in data["warnings"]:  # e.g. more extensions than sitekeeper reads
        output.note(f"warning: {warning}")


@advisories_app.command("import")
def advisories_import(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A file, a directory, a zip or an http(s) URL.")],
    as_json: JsonOption = False,
) -> None:
    """Import OSV, Wordfence or Joomla security-centre advisories (all or nothing)."""
    report = asyncio.run(_jobs(ctx).import_advisories(source))
    _print_report(report, as_json)


@advisories_app.command("list")
def advisories_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every stored advisory, newest first."""
    with app_context(ctx).session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "source": r.source,
                "summary": r.summary,
                "severity": r.severity,
                "aliases": list(r.aliases),
                "published": r.published,
                "packages": sorted(
                    {f"{p['ecosystem']}/{p['slug']}" for p in r.data["affected"] if p["slug"]}
                ),
            }
            for r in advisory_store.list_all(session)
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "severity", "packages", "aliases", "summary"],
        [[r["id"], r["severity"], r["packages"], r["aliases"], r["summary"][:80]] for r in rows],
    )


@feeds_app.command("poll")
def feeds_poll(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Poll the vendors' release feeds now for every package the fleet runs.

    Exit status: 0 when every feed was read, 1 when none could be (offline: nothing
    stored), 3 when some failed (what was read is stored; each failure is on stderr once).
    """
    report = asyncio.run(_jobs(ctx).poll_feeds())
    _print_report(report, as_json)
    if report.all_failed:
        raise typer.Exit(1)
    if report.failed:
        raise typer.Exit(3)


def updates(
    ctx: typer.Context,
    security: Annotated[bool, typer.Option("--security", help="Security updates only.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Pending updates across the fleet: the installed branch's newest release (a security
    policy applies it without approval) and the newest beyond it (waits for approval).
    Packages of an unknown source, and those whose feed is not reachable, are listed too."""
    with app_context(ctx).session() as session:
        rows = [r.to_json() for r in findings.update_rows(session, security_only=security)]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["site", "package", "installed", "branch update", "major update", "advisories", "status"],
        [_update_cells(r) for r in rows],
    )


def _update_cells(row: dict[str, Any]) -> list[Any]:
    """One table line: each offered version marked when it brings security fixes; the
    status says why nothing is offered (unknown source, feed not reachable since …)."""
    major = _offer(row["major_update"], row["security"]) if row["major_update"] else None
    status = row["status"] if row["status"] == "update" else row["note"] or row["status"]
    return [
        row["site"],
        row["package"],
        row["installed"],
        _offer(row["branch_update"], row["branch_security"]),
        major,
        row["advisory_ids"],
        status,
    ]


def _offer(version: str | None, security: bool) -> str | None:
    """A version offered, marked when it brings security fixes."""
    if version is None:
        return None
    return f"{version} (security)" if security else version


def vulns(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Known vulnerabilities across the fleet: certain from an inventory, possible from a range."""
    with app_context(ctx).session() as session:
        views = findings.open_findings(session, (VULNERABILITY,))
    rows = [
        {
            "site": v.site,
            "client": v.client,
            "ecosystem": v.ecosystem,
            "type": v.type,
            "package": v.package,
            "installed": v.installed,
            "advisory_id": v.advisory_id,
            "aliases": list(v.data.get("aliases") or []),
            "severity": v.data.get("severity"),
            "fixed_in": v.data.get("fixed_in"),
            "certainty": v.certainty,
            "basis": v.basis,
        }
        for v in views
    ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["site", "package", "installed", "advisory", "severity", "fixed in", "certainty", "basis"],
        [
            [
                r["site"],
                r["package"],
                r["installed"],
                r["advisory_id"],
                r["severity"],
                r["fixed_in"],
                r["certainty"],
                r["basis"],
            ]
            for r in rows
        ],
    )


def _print_report(report: IngestReport, as_json: bool) -> None:
    data = ingest_report_json(report)
    if as_json:
        output.print_json(data)
        return
    for error in report.errors:
        output.error(error)
    output.print_fields([(k, v) for k, v in data.items() if k != "errors"])
