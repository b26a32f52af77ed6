"""`sitekeeper approvals` and `sitekeeper hold`: the updates a plan's policy leaves to a
person, and the extensions a person keeps the policy away from."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.store import update_approvals as queue
from sitekeeper.store.sites import get_site
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import UpdateApproval
from sitekeeper.updates.plan import PlanError, extension_ref

JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout (stable contract).")]


def approvals(
    ctx: typer.Context,
    *,
    approve: Annotated[
        list[int] | None, typer.Option("--approve", help="Approve this update (repeatable).")
    ] = None,
    reject: Annotated[
        list[int] | None, typer.Option("--reject", help="Reject this update (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Updates waiting for a person: a plan's policy applies an approved one at its next
    run (`serve`, every 5 minutes); a rejected one is not asked again."""
    app = app_context(ctx)
    who = f"cli:{getpass.getuser()}"
    now = datetime.now(UTC)
    with app.session() as session:
        for approval_id in approve or ():
            queue.decide(session, approval_id, approve=True, who=who, now=now)
        for approval_id in reject or ():
            queue.decide(session, approval_id, approve=False, who=who, now=now)
        rows = [approval_json(a, session.get(Site, a.site_id)) for a in queue.approvals(session)]
    if as_json:
        output.print_json(rows)
        return
    for approval_id in approve or ():
        output.note(f"approved {approval_id}: applied at the next policy run")
    for approval_id in reject or ():
        output.note(f"rejected {approval_id}")
    output.print_table(
        ["id", "site", "update", "security", "status", "waiting since"],
        [
            [
                r["id"],
                r["site"],
                f"{r['type']} {r['package']} {r['from']} → {r['to']}",
                r["security"],
                r["status"],
                r["requested_at"],
            ]
            for r in rows
        ],
    )


def approval_json(approval: UpdateApproval, site: Site | None) -> dict[str, Any]:
    """One approval (``approvals --json``)."""
    return {
        "id": approval.id,
        "site": site.name if site else None,
        "site_id": approval.site_id,
        "type": approval.type,
        "package": approval.package,
        "from": approval.installed,
        "to": approval.target,
        "security": approval.security,
        "status": approval.status,
        "requested_at": approval.requested_at.isoformat(),
        "decided_by": approval.decided_by,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
    }


def hold(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Argument(help="Site id, name or URL.")] = None,
    *,
    core: Annotated[bool, typer.Option("--core", help="The CMS's core.")] = False,
    plugin: Annotated[str | None, typer.Option("--plugin", help="A plugin's slug.")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="A theme's slug.")] = None,
    extension: Annotated[
        str | None,
        typer.Option("--extension", help="TYPE:SLUG of another kind (module:views)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (the next person asks).")
    ] = None,
    release: Annotated[bool, typer.Option("--release", help="Lift the hold.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Keep a plan's update policy away from one extension of a site (or lift that), or
    list the holds."""
    chosen = [("core", "core")] if core else []
    chosen += [("plugin", plugin)] if plugin else []
    chosen += [("theme", theme)] if theme else []
    try:
        chosen += [extension_ref(extension)] if extension else []
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    app = app_context(ctx)
    now = datetime.now(UTC)
    with app.session() as session:
        if site is not None:
            if len(chosen) != 1:
                raise UsageError(
                    "name one of --core, --plugin SLUG, --theme SLUG, --extension TYPE:SLUG"
                )
            target = get_site(session, site)
            item = _package(target, chosen[0])
            if release:
                if not queue.release(session, target.id, item):
                    raise UsageError(f"{item[0]} {item[1]} is not held on {target.name}")
            else:
                who = f"cli:{getpass.getuser()}"
                queue.hold(session, target.id, item, reason=reason or "", who=who, now=now)
        elif chosen or release or reason:
            raise UsageError("give the SITE to hold or release")
        rows = [
            {
                "site": site_row.name if (site_row := session.get(Site, h.site_id)) else None,
                "site_id": h.site_id,
                "type": h.type,
                "package": h.package,
                "reason": h.reason,
                "held_by": h.held_by,
                "since": h.created_at.isoformat(),
            }
            for h in queue.holds(session)
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["site", "type", "package", "reason", "held by", "since"],
        [[r["site"], r["type"], r["package"], r["reason"], r["held_by"], r["since"]] for r in rows],
    )


def _package(site: Site, chosen: tuple[str, str]) -> tuple[str, str]:
    """(type, package) as the site's pending updates name it (core: the CMS's name)."""
    type_, slug = chosen
    if type_ == "core":
        if not site.cms:
            raise UsageError(f"{site.name}: its CMS is not known yet (inventory it first)")
        return "core", site.cms
    return type_, slug
