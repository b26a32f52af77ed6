"""``sitekeeper plan ...``: contract templates and the service levels they include."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.domain.durations import format_duration
from sitekeeper.domain.plans import parse_check_interval, parse_sla
from sitekeeper.store import plans as store
from sitekeeper.store.tables import Plan

app = typer.Typer(help="Plans: what a contract includes.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
IntervalOpt = Annotated[
    str | None, typer.Option("--check-interval", help="How often to check: 60s, 5m, 1h (min 10s).")
]
PriceOpt = Annotated[str | None, typer.Option("--price", help="Monthly price, e.g. 49.")]
CurrencyOpt = Annotated[str | None, typer.Option("--currency", help="ISO code, e.g. EUR.")]
TlsOpt = Annotated[int | None, typer.Option("--tls-warn-days", help="Warn N days before.")]
DomainOpt = Annotated[int | None, typer.Option("--domain-warn-days", help="Warn N days before.")]
BackupOpt = Annotated[
    str | None, typer.Option("--backup", help="Backup schedule: none, hourly, daily, weekly.")
]
KeepDOpt = Annotated[int | None, typer.Option("--keep-daily", help="Daily backups kept.")]
KeepWOpt = Annotated[int | None, typer.Option("--keep-weekly", help="Weekly backups kept.")]
KeepMOpt = Annotated[int | None, typer.Option("--keep-monthly", help="Monthly backups kept.")]
DrillOpt = Annotated[
    str | None,
    typer.Option("--restore-drill", help="Restore test: none, weekly, monthly, quarterly."),
]
UpdateOpt = Annotated[
    str | None, typer.Option("--update-policy", help="Updates: none, security, minor, all.")
]
ReportOpt = Annotated[str | None, typer.Option("--report", help="none, monthly, quarterly.")]
SlaOpt = Annotated[str | None, typer.Option("--sla", help="Response-time SLA, e.g. 4h.")]


def plan_json(plan: Plan) -> dict[str, Any]:
    """The documented JSON shape of a plan."""
    return {
        "id": plan.id,
        "name": plan.name,
        "check_interval": plan.check_interval,
        "tls_warn_days": plan.tls_warn_days,
        "domain_warn_days": plan.domain_warn_days,
        "price": str(plan.price),
        "currency": plan.currency,
        "options": store.plan_options(plan).model_dump(mode="json"),
        "created_at": plan.created_at.isoformat(),
    }


def _print(plan: Plan, as_json: bool) -> None:
    data = plan_json(plan)
    if as_json:
        output.print_json(data)
        return
    fields = [(k, v) for k, v in data.items() if k != "options"]
    fields[2] = ("check_interval", format_duration(plan.check_interval))
    fields += [(k, v) for k, v in data["options"].items()]
    output.print_fields(fields)


def _options(
    *,
    backup: str | None,
    keep_daily: int | None,
    keep_weekly: int | None,
    keep_monthly: int | None,
    restore_drill: str | None,
    update_policy: str | None,
    report: str | None,
    sla: str | None,
) -> dict[str, Any]:
    """The ``PlanOptions`` fields given on the command line (validated by the store)."""
    given: dict[str, Any] = {
        "backup": backup,
        "keep_daily": keep_daily,
        "keep_weekly": keep_weekly,
        "keep_monthly": keep_monthly,
        "restore_drill": restore_drill,
        "update_policy": update_policy,
        "report": report,
        "sla_hours": parse_sla(sla) if sla is not None else None,
    }
    return {k: v for k, v in given.items() if v is not None}


@app.command("add")
def add(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Plan name, e.g. Basic.")],
    check_interval: IntervalOpt = None,
    price: PriceOpt = None,
    currency: CurrencyOpt = None,
    tls_warn_days: TlsOpt = None,
    domain_warn_days: DomainOpt = None,
    backup: BackupOpt = None,
    keep_daily: KeepDOpt = None,
    keep_weekly: KeepWOpt = None,
    keep_monthly: KeepMOpt = None,
    restore_drill: DrillOpt = None,
    update_policy: UpdateOpt = None,
    report: ReportOpt = None,
    sla: SlaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a plan (check interval default 5m, price default 0)."""
    interval = parse_check_interval(check_interval) if check_interval is not None else 300
    options = _options(
        backup=backup,
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
        keep_monthly=keep_monthly,
        restore_drill=restore_drill,
        update_policy=update_policy,
        report=report,
        sla=sla,
    )
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        plan = store.add_plan(
            session,
            name=name,
            check_interval=interval,
            price=store.parse_price(price or "0"),
            currency=currency or "EUR",
            tls_warn_days=14 if tls_warn_days is None else tls_warn_days,
            domain_warn_days=30 if domain_warn_days is None else domain_warn_days,
            options=options,
            now=app_ctx.now(),
        )
        _print(plan, as_json)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List plans."""
    with app_context(ctx).session() as session:
        plans = store.list_plans(session)
    if as_json:
        output.print_json([plan_json(p) for p in plans])
        return
    output.print_table(
        ["id", "name", "interval", "price", "backup", "updates", "report", "sla_h"],
        [
            [
                p.id,
                p.name,
                format_duration(p.check_interval),
                f"{p.price} {p.currency}",
                (o := store.plan_options(p)).backup,
                o.update_policy,
                o.report,
                o.sla_hours,
            ]
            for p in plans
        ],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="Plan id or name.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one plan."""
    with app_context(ctx).session() as session:
        _print(store.get_plan(session, plan), as_json)


@app.command("edit")
def edit(
    ctx: typer.Context,
    *,
    plan: Annotated[str, typer.Argument(help="Plan id or name.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    check_interval: IntervalOpt = None,
    price: PriceOpt = None,
    currency: CurrencyOpt = None,
    tls_warn_days: TlsOpt = None,
    domain_warn_days: DomainOpt = None,
    backup: BackupOpt = None,
    keep_daily: KeepDOpt = None,
    keep_weekly: KeepWOpt = None,
    keep_monthly: KeepMOpt = None,
    restore_drill: DrillOpt = None,
    update_policy: UpdateOpt = None,
    report: ReportOpt = None,
    sla: SlaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a plan; a new check interval re-schedules the checks of its sites."""
    interval = parse_check_interval(check_interval) if check_interval is not None else None
    options = _options(
        backup=backup,
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
        keep_monthly=keep_monthly,
        restore_drill=restore_drill,
        update_policy=update_policy,
        report=report,
        sla=sla,
    )
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_plan(session, plan)
        changed = store.update_plan(
            session,
            found,
            app_ctx.now().timestamp(),
            default_interval=app_ctx.default_interval,
            name=name,
            check_interval=interval,
            price=store.parse_price(price) if price is not None else None,
            currency=currency,
            tls_warn_days=tls_warn_days,
            domain_warn_days=domain_warn_days,
            options=options,
        )
        _print(found, as_json)
    if changed:
        output.note(f"re-scheduled {changed} check job(s)")


@app.command("remove")
def remove(
    ctx: typer.Context, plan: Annotated[str, typer.Argument(help="Plan id or name.")]
) -> None:
    """Remove a plan no contract uses."""
    with app_context(ctx).session() as session:
        found = store.get_plan(session, plan)
        store.remove_plan(session, found)
    output.note(f"removed plan {found.name!r}")
