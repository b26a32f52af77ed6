"""``sitekeeper plan ...``: contract templates and the service levels they include."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.durations import format_duration
from sitekeeper.domain.plans import PlanFields
from sitekeeper.store import plans as store
from sitekeeper.store.tables import Plan

app = typer.Typer(help="Plans: what a contract includes.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def plan_json(plan: Plan) -> dict[str, Any]:
    """The documented JSON shape of a plan."""
    values = store.plan_values(plan)
    options = store.plan_options(plan).model_dump(mode="json")
    return {"id": plan.id, **values, "options": options, "created_at": plan.created_at.isoformat()}


def _print(plan: Plan, as_json: bool) -> None:
    data = plan_json(plan)
    if as_json:
        output.print_json(data)
        return
    fields = [(k, v) for k, v in data.items() if k != "options"]
    fields[2] = ("check_interval", format_duration(plan.check_interval))
    fields += [(k, v) for k, v in data["options"].items()]
    output.print_fields(fields)


@app.command("add")
@entity_options(PlanFields, "add")
def add(ctx: typer.Context, *, values: dict[str, Any], as_json: JsonOpt = False) -> None:
    """Add a plan (check interval default 5m, price default 0)."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        _print(store.add_plan(session, now=app_ctx.now(), **values), as_json)


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
@entity_options(PlanFields, "edit")
def edit(
    ctx: typer.Context,
    *,
    plan: Annotated[str, typer.Argument(help="Plan id or name.")],
    values: dict[str, Any],
    as_json: JsonOpt = False,
) -> None:
    """Change a plan; a new check interval re-schedules the checks of its sites."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_plan(session, plan)
        changed = store.update_plan(
            session,
            found,
            app_ctx.now().timestamp(),
            default_interval=app_ctx.default_interval,
            **values,
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
