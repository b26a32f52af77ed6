"""`sitekeeper domain SITE`: the site's domain from RDAP (expiry, registrar, statuses,
DNSSEC) and its DNS records, checked now, stored and alerted as ``serve``'s daily watch
does (``DomainJobs.check_domain``).

Output: text on a terminal; with ``--json`` or when piped, one object:
``{"site", "check": DomainCheck.to_json(), "dns_changes", "stored": DomainView.to_json()}``.
``--accept-dns`` trusts the current name servers and networks (a planned move) instead of
checking, with ``--by``/``--why`` in the journal. Exit status: 0 when the domain was
checked with no open domain finding, 1 when a finding is open or a part could not be
read, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.cli.output import json_text
from sitekeeper.domain.untrusted import clean

if TYPE_CHECKING:
    from sitekeeper.domain.domain_check import DomainCheck
    from sitekeeper.store.domain_watch import DomainView, Filed


def domain(
    typer_ctx: typer.Context,
    site: Annotated[str, typer.Argument(metavar="SITE", help="A registered site (name or id).")],
    *,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output (default when piped).")
    ] = False,
    accept_dns: Annotated[
        bool,
        typer.Option(
            "--accept-dns",
            help="Trust the site's current name servers and networks (a planned move of "
            "registrar or host): its DNS alerts resolve. Does not check.",
        ),
    ] = False,
    why: Annotated[str, typer.Option("--why", help="Why, for the journal.")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Who (default: you).")] = None,
) -> None:
    """Check a site's domain registration (RDAP) and DNS records now."""
    ctx = app_context(typer_ctx)
    site_id = _site_id(ctx, site)
    if accept_dns:
        _accept(ctx, site_id, by or getpass.getuser(), why)
        return
    check, filed = asyncio.run(_jobs(ctx).check_domain(site_id))
    view = _view(ctx, site_id)
    now = datetime.now(UTC)
    if sys.stdout.isatty() and not as_json:
        sys.stdout.write(_text(check, filed, view, now))
    else:
        payload = {
            "site": site,
            "check": check.to_json(),
            "dns_changes": filed.review.changes if filed.review else {},
            "stored": view.to_json(now) if view else None,
        }
        sys.stdout.write(json_text(payload) + "\n")
    failed = check.error or (check.registration and check.registration.error)
    failed = failed or (check.dns and check.dns.failed)
    raise typer.Exit(1 if failed or (view and view.issues) else 0)


def _site_id(ctx: AppContext, ref: str) -> int:
    from sitekeeper.store.sites import get_site  # noqa: PLC0415 - fast CLI start-up

    with ctx.session() as session:
        return get_site(session, ref).id


def _jobs(ctx: AppContext) -> Any:
    from sitekeeper.engine.intel_jobs import IntelJobs  # noqa: PLC0415

    return IntelJobs(ctx.db, ctx.settings, vault=ctx.vault)


def _view(ctx: AppContext, site_id: int) -> DomainView | None:
    from sitekeeper.store.domain_watch import domain_views  # noqa: PLC0415

    with ctx.session() as session:
        return domain_views(session, [site_id]).get(site_id)


def _accept(ctx: AppContext, site_id: int, by: str, why: str) -> None:
    from sitekeeper.store.domain_watch import accept_dns  # noqa: PLC0415

    with ctx.session() as session, session.begin():
        filed = accept_dns(session, site_id, by=by, why=why, now=datetime.now(UTC))
    resolved = len(filed.changes.resolved)
    sys.stdout.write(f"DNS accepted as trusted; {resolved} alert(s) resolved\n")


def _text(check: DomainCheck, filed: Filed, view: DomainView | None, now: datetime) -> str:
    """Plain lines (site data is cleaned, never markup)."""
    lines = [f"{clean(check.domain or check.host or check.url, 200)}"]
    if check.error:
        lines.append(f"  {check.error}")
    reg = check.registration
    if reg is not None and reg.error:
        lines.append(f"  RDAP: {reg.error}")
    elif reg is not None:
        days = reg.days_left(now)
        expires = f"{reg.expires:%Y-%m-%d} ({days} days left)" if reg.expires else "unknown"
        dnssec = {True: "signed", False: "not signed", None: "unknown"}[reg.dnssec]
        lines += [
            f"  registrar: {clean(reg.registrar or 'unknown', 200)}",
            f"  expires:   {expires}",
            f"  status:    {clean(', '.join(reg.statuses) or '-', 400)}",
            f"  DNSSEC:    {dnssec}",
        ]
    if check.dns is not None:
        for kind, values in check.dns.records.items():
            lines.append(f"  {kind:<5} {clean(', '.join(values) or '-', 400)}")
        lines += [f"  {kind:<5} unknown: {why}" for kind, why in check.dns.failed.items()]
    if filed.review is not None and filed.review.changed:
        for kind, change in filed.review.changes.items():
            added, removed = ", ".join(change["added"]), ", ".join(change["removed"])
            lines.append(f"  changed {kind}: +[{clean(added, 300)}] -[{clean(removed, 300)}]")
    for issue in view.issues if view else []:
        lines.append(f"  [{issue['severity']}] {clean(str(issue['title']), 300)}")
    lines += [f"  note: {clean(n, 300)}" for n in check.notes]
    return "\n".join(lines) + "\n"
