"""``sitekeeper contract ...``: a client on a plan for a period, covering sites."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.errors import UsageError
from sitekeeper.store import contracts as store
from sitekeeper.store.clients import get_client
from sitekeeper.domain.plans import parse_price
from sitekeeper.store.plans import get_plan
from sitekeeper.store.tables import Contract

app = typer.Typer(help="Contracts: a client on a plan, covering sites.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First day, YYYY-MM-DD.")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last day, YYYY-MM-DD.")]
PriceOpt = Annotated[
    str | None, typer.Option("--price", help="Monthly price for this contract (overrides plan).")
]
NotesOpt = Annotated[str | None, typer.Option("--notes", help="Free text.")]
ContractArg = Annotated[str, typer.Argument(help="Contract id.")]


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: not a date {text!r} (use YYYY-MM-DD)") from None


def contract_json(contract: Contract, site_count: int, today: date) -> dict[str, Any]:
    """The documented JSON shape of a contract."""
    return {
        "id": contract.id,
        "client_id": contract.client_id,
        "client": contract.client.name,
        "plan_id": contract.plan_id,
        "plan": contract.plan.name,
        "start": contract.start.isoformat(),
        "end": contract.end.isoformat() if contract.end else None,
        "price_override": str(contract.price_override)
        if contract.price_override is not None
        else None,
        "price": str(store.effective_price(contract)),
        "currency": contract.plan.currency,
        "active": store.is_active(contract, today),
        "site_count": site_count,
        "notes": contract.notes,
    }


def _show(session: Session, contract: Contract, today: date, as_json: bool) -> None:
    sites = store.contract_sites(session, contract.id)
    data = contract_json(contract, len(sites), today)
    data["sites"] = [{"id": s.id, "name": s.name, "url": s.url} for s in sites]
    if as_json:
        output.print_json(data)
        return
    fields = [(k, v) for k, v in data.items() if k != "sites"]
    fields.append(("sites", [f"{s['name']} ({s['url']})" for s in data["sites"]]))
    output.print_fields(fields)


@app.command("add")
def add(
    ctx: typer.Context,
    *,
    client: Annotated[str, typer.Option("--client", help="Client id or name.")],
    plan: Annotated[str, typer.Option("--plan", help="Plan id or name.")],
    start: StartOpt = None,
    end: EndOpt = None,
    price: PriceOpt = None,
    notes: NotesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a contract (starting today unless --start)."""
    app_ctx = app_context(ctx)
    today = app_ctx.now().date()
    first, last = _date(start, "--start") or today, _date(end, "--end")
    with app_ctx.session() as session:
        contract = store.add_contract(
            session,
            client=get_client(session, client),
            plan=get_plan(session, plan),
            start=first,
            end=last,
            price=parse_price(price) if price is not None else None,
            notes=notes,
            now=app_ctx.now(),
        )
        _show(session, contract, today, as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Option("--client", help="Only this client's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List contracts."""
    app_ctx = app_context(ctx)
    today = app_ctx.now().date()
    with app_ctx.session() as session:
        client_id = get_client(session, client).id if client else None
        counts = store.site_counts(session)
        rows = [
            contract_json(c, counts.get(c.id, 0), today)
            for c in store.list_contracts(session, client_id=client_id)
        ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        ["id", "client", "plan", "start", "end", "price", "active", "sites"],
        [
            [
                r["id"],
                r["client"],
                r["plan"],
                r["start"],
                r["end"],
                f"{r['price']} {r['currency']}",
                r["active"],
                r["site_count"],
            ]
            for r in rows
        ],
    )


@app.command("show")
def show(ctx: typer.Context, contract: ContractArg, as_json: JsonOpt = False) -> None:
    """Show one contract, its sites and its effective monthly price."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        _show(session, store.get_contract(session, contract), app_ctx.now().date(), as_json)


@app.command("edit")
def edit(
    ctx: typer.Context,
    *,
    contract: ContractArg,
    plan: Annotated[str | None, typer.Option("--plan", help="Move to this plan.")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    no_end: Annotated[bool, typer.Option("--no-end", help="Run indefinitely.")] = False,
    price: PriceOpt = None,
    plan_price: Annotated[
        bool, typer.Option("--plan-price", help="Drop the override; use the plan's price.")
    ] = False,
    notes: NotesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a contract; a new plan re-schedules the checks of its sites."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_contract(session, contract)
        changed = store.update_contract(
            session,
            found,
            app_ctx.now().timestamp(),
            default_interval=app_ctx.default_interval,
            plan=get_plan(session, plan) if plan else None,
            start=_date(start, "--start"),
            end=_date(end, "--end"),
            clear_end=no_end,
            price=parse_price(price) if price is not None else None,
            clear_price=plan_price,
            notes=notes,
        )
        _show(session, found, app_ctx.now().date(), as_json)
    if changed:
        output.note(f"re-scheduled {changed} check job(s)")


@app.command("remove")
def remove(ctx: typer.Context, contract: ContractArg) -> None:
    """Remove a contract; its sites stay, uncovered."""
    app_ctx = app_context(ctx)
    with app_ctx.session() as session:
        found = store.get_contract(session, contract)
        store.remove_contract(
            session, found, app_ctx.now().timestamp(), default_interval=app_ctx.default_interval
        )
    output.note(f"removed contract {found.id}")
