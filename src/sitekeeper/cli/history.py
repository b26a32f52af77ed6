"""What happened: ``incidents``, ``uptime``, ``journal`` and ``alerts`` commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.domain.journal_text import describe
from sitekeeper.store import history
from sitekeeper.store.sites import get_site
from sitekeeper.store.tables import Incident

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
SitesArg = Annotated[list[str] | None, typer.Argument(metavar="[SITE]...", help="id, name or URL")]


def _site_ids(session: Session, refs: list[str] | None) -> list[int] | None:
    return [get_site(session, ref).id for ref in refs] if refs else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def incident_json(incident: Incident, names: dict[int, str]) -> dict[str, Any]:
    """The documented JSON shape of an incident."""
    end = incident.closed_at
    return {
        "id": incident.id,
        "site_id": incident.site_id,
        "site": names.get(incident.site_id),
        "kind": incident.kind,
        "cause": incident.cause,
        "opened_at": _iso(incident.opened_at),
        "closed_at": _iso(end),
        "duration_s": int((end - incident.opened_at).total_seconds()) if end else None,
        "alerts_sent": incident.alerts_sent,
    }


def incidents(
    ctx: typer.Context,
    sites: SitesArg = None,
    only_open: Annotated[bool, typer.Option("--open", help="Only incidents still open.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Incidents (down, certificate expiring), newest first."""
    with app_context(ctx).session() as session:
        rows = history.incidents(
            session, _site_ids(session, sites), only_open=only_open, limit=limit
        )
        data = [incident_json(i, history.site_names(session)) for i in rows]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["id", "site", "kind", "opened", "closed", "cause"],
        [[d["id"], d["site"], d["kind"], d["opened_at"], d["closed_at"], d["cause"]] for d in data],
    )


def uptime(
    ctx: typer.Context,
    sites: SitesArg = None,
    days: Annotated[int, typer.Option(min=1, max=3660, help="How many days back.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Uptime % and response-time percentiles per site per UTC day."""
    with app_context(ctx).session() as session:
        ids = _site_ids(session, sites) or list(history.site_names(session))
        names = history.site_names(session)
        figures = history.uptime_by_day(session, ids, days)
    data = [
        {
            "site_id": f.site_id,
            "site": names.get(f.site_id),
            "day": f.day.isoformat(),
            "checks": f.summary.checks,
            "uptime_pct": round(f.summary.uptime * 100, 3)
            if f.summary.uptime is not None
            else None,
            "avg_ms": f.summary.avg_ms,
            "p50_ms": f.summary.p50_ms,
            "p95_ms": f.summary.p95_ms,
            "p99_ms": f.summary.p99_ms,
            "max_ms": f.summary.max_ms,
        }
        for f in figures
    ]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["site", "day", "checks", "uptime %", "p50 ms", "p95 ms", "p99 ms"],
        [
            [
                d["site"],
                d["day"],
                d["checks"],
                d["uptime_pct"],
                d["p50_ms"],
                d["p95_ms"],
                d["p99_ms"],
            ]
            for d in data
        ],
    )


def journal(
    ctx: typer.Context,
    sites: SitesArg = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these event kinds.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """The append-only journal of events, newest first."""
    with app_context(ctx).session() as session:
        events = history.journal_events(
            session, site_ids=_site_ids(session, sites), kinds=kind, limit=limit
        )
        names = history.site_names(session)
    data = [
        {
            "id": e.id,
            "ts": e.ts.isoformat(),
            "kind": e.kind,
            "site_id": e.site_id,
            "site": names.get(e.site_id) if e.site_id else None,
            "client_id": e.client_id,
            "incident_id": e.incident_id,
            "data": e.data,
        }
        for e in events
    ]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["id", "time", "kind", "site", "what"],
        [
            [d["id"], d["ts"], d["kind"], d["site"], _what(e.kind, e.data)]
            for d, e in zip(data, events, strict=True)
        ],
    )


def _what(kind: str, data: dict[str, Any] | None) -> str:
    """``Backup taken — 18,040 files, ...``: the event in words (--json keeps the raw data)."""
    text = describe(kind, data)
    return f"{text.title} — {text.detail}" if text.detail else text.title


def alerts(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="pending, sent or failed.", case_sensitive=False)
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Queued, sent and failed alert deliveries (targets are never shown: they hold secrets)."""
    if status is not None and status.lower() not in ("pending", "sent", "failed"):
        raise typer.BadParameter("status must be pending, sent or failed", param_hint="--status")
    with app_context(ctx).session() as session:
        rows = history.notifications(
            session, status=status.lower() if status else None, limit=limit
        )
    data = [
        {
            "id": n.id,
            "event_id": n.event_id,
            "title": n.title,
            "status": n.status,
            "attempts": n.attempts,
            "last_error": n.last_error,
            "created_at": _iso(n.created_at),
            "sent_at": _iso(n.sent_at),
            "next_attempt_at": _iso(n.next_attempt_at) if n.status == "pending" else None,
        }
        for n in rows
    ]
    if as_json:
        output.print_json(data)
        return
    output.print_table(
        ["id", "status", "attempts", "title", "last error"],
        [[d["id"], d["status"], d["attempts"], d["title"], d["last_error"]] for d in data],
    )
