"""``sitekeeper contract ...``: a client on a plan for a period, covering sites."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.cli.entity_options import entity_options
from sitekeeper.domain.contracts import ContractFields
from sitekeeper.store import contracts as store
from sitekeeper.store.clients import get_client
from sitekeeper.store.plans import get_plan
from sitekeeper.store.tables import Contract

app = typer.Typer(help="Contracts: a client on a plan, covering sites.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]
ContractArg = Annotated[str, typer.Argument(help="Contract id.")]


def _references(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """``--client``/``--plan`` name an object by id or name; the store takes its id."""
    if "client_id" in values:
        values["client_id"] = get_client(session, values["client_id"]).id
    if "plan_id" in values:
        values["plan_id"] = get_plan(session, values["plan_id"]).id
    return values


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
@entity_options(ContractFields, "add")
def add(ctx: typer.Context, *, values: dict[str, Any], as_json: JsonOpt = False) -> None:
    """Add a contract (starting today unless --start)."""
    app_ctx = app_context(ctx)
    today = app_ctx.now().date()
    values.setdefault("start", today)
    with app_ctx.session() as session:
        contract = store.add_contract(session, now=app_ctx.now(), **_references(session, values))
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
@entity_options(ContractFields, "edit")
def edit(
    ctx: typer.Context, *, contract: ContractArg, values: dict[str, Any], as_json: JsonOpt = False
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
            **_references(session, values),
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
