"""Clients, plans, contracts (create and edit through the store's rules) and the business page."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sitekeeper.domain.clients import ClientFields
from sitekeeper.domain.plans import PlanFields, parse_price
from sitekeeper.errors import UsageError
from sitekeeper.store import clients as client_store
from sitekeeper.store import contracts as contract_store
from sitekeeper.store import plans as plan_store
from sitekeeper.store.sites import list_sites
from sitekeeper.store.tables import Client, Contract, Plan
from sitekeeper.web.auth import Admin, AnyUser, Staff, Viewer, database, now
from sitekeeper.web.common import (
    Db,
    Id,
    default_interval,
    parse_id,
    plan_or_404,
    vault_of,
    visible_client,
    visible_contract,
)
from sitekeeper.web.ui.admin import send_tests
from sitekeeper.web.ui.entity_pages import Context, EntityPages
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=10_000)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _date(text: str, label: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid {label} date {text!r}: use YYYY-MM-DD") from None


def _int(text: str, label: str) -> int:
    value = parse_id(text) if text.strip() != "0" else 0
    if value is None:
        raise UsageError(f"{label} must be a whole number")
    return value


def _form_page(
    request: Request, name: str, who: Viewer, error: str | None, **context: Any
) -> HTMLResponse:
    """A page with a form; 400 when the store refused the change, and the form says why."""
    return page(request, name, who, status=400 if error else 200, error=error, **context)


# --- clients ----------------------------------------------------------------------------------


def _client_context(request: Request, session: Session, _who: Viewer, client: Client) -> Context:
    vault = vault_of(request)
    return {
        "masked": [client_store.mask_url(u) for u in client_store.alert_urls(client, vault)],
        "sites": list_sites(session, client_id=client.id),
        "contracts": contract_store.list_contracts(session, client_id=client.id),
        "today": now().date(),
    }


CLIENTS = EntityPages[Client](
    name="client",
    plural="clients",
    model=ClientFields,
    find=visible_client,
    ident=lambda client: client.id,
    stored=client_store.client_values,
    add=lambda request, session, values: client_store.add_client(
        session, vault_of(request), now=now(), **values
    ),
    update=lambda request, session, client, values: client_store.update_client(
        session, client, vault_of(request), **values
    ),
    remove=lambda _request, session, client: client_store.remove_client(session, client),
    list_context=lambda _request, session, _who: {
        "clients": client_store.list_clients(session),
        "counts": client_store.site_counts(session),
    },
    detail_context=_client_context,
)
CLIENTS.register(router)


@router.post("/clients/{client_id}/test")
async def test_client_alerts(request: Request, client_id: Id, who: Staff) -> HTMLResponse:
    """Send a test message to each of the client's alert channels."""

    def targets() -> list[str]:
        with database(request).session() as session:
            return client_store.alert_urls(
                visible_client(session, who, client_id), vault_of(request)
            )

    result = await send_tests(request, await run_in_threadpool(targets))

    def render() -> HTMLResponse:
        with database(request).session() as session:
            client = visible_client(session, who, client_id)
            return CLIENTS.detail_page(request, session, who, client, result=result)

    return await run_in_threadpool(render)


# --- plans ------------------------------------------------------------------------------------


def _update_plan(request: Request, session: Session, plan: Plan, values: dict[str, Any]) -> int:
    return plan_store.update_plan(
        session, plan, now().timestamp(), default_interval=default_interval(request), **values
    )


PLANS = EntityPages[Plan](
    name="plan",
    plural="plans",
    model=PlanFields,
    find=lambda session, _who, plan_id: plan_or_404(session, plan_id),
    ident=lambda plan: plan.id,
    stored=plan_store.plan_values,
    add=lambda _request, session, values: plan_store.add_plan(session, now=now(), **values),
    update=_update_plan,
    remove=lambda _request, session, plan: plan_store.remove_plan(session, plan),
    list_context=lambda _request, session, _who: {"plans": plan_store.list_plans(session)},
)
PLANS.register(router)


# --- contracts --------------------------------------------------------------------------------


def _contracts_page(
    request: Request, session: Session, who: Viewer, error: str | None = None
) -> HTMLResponse:
    scope = who.client_scope
    return _form_page(
        request,
        "contracts.html",
        who,
        error,
        contracts=contract_store.list_contracts(session, client_id=scope),
        counts=contract_store.site_counts(session),
        clients=client_store.list_clients(session) if scope is None else [],
        plans=plan_store.list_plans(session) if scope is None else [],
        today=now().date(),
        price=contract_store.effective_price,
    )


@router.get("/contracts")
def contracts(request: Request, session: Db, who: AnyUser) -> HTMLResponse:
    """Contracts (a client user sees its own, read-only)."""
    return _contracts_page(request, session, who)


@router.post("/contracts")
def create_contract(
    *,
    request: Request,
    session: Db,
    who: Staff,
    client: Field = "",
    plan: Field = "",
    start: Field = "",
    end: Field = "",
    price: Field = "",
    notes: Field = "",
) -> Response:
    """Add a contract."""
    try:
        with session.begin_nested():
            the_client = session.get(Client, _int(client, "client"))
            the_plan = session.get(Plan, _int(plan, "plan"))
            if the_client is None or the_plan is None:
                raise UsageError("choose a client and a plan")
            contract = contract_store.add_contract(
                session,
                client=the_client,
                plan=the_plan,
                start=_date(start, "start") or now().date(),
                end=_date(end, "end"),
                price=parse_price(price) if price.strip() else None,
                notes=notes or None,
                now=now(),
            )
    except UsageError as exc:
        return _contracts_page(request, session, who, str(exc))
    return RedirectResponse(f"/contracts/{contract.id}", status_code=303)


def _contract_page(
    request: Request, session: Session, who: Viewer, contract: Contract, error: str | None = None
) -> HTMLResponse:
    return _form_page(
        request,
        "contract.html",
        who,
        error,
        contract=contract,
        price=contract_store.effective_price(contract),
        active=contract_store.is_active(contract, now().date()),
        sites=contract_store.contract_sites(session, contract.id),
        plans=plan_store.list_plans(session) if who.is_staff else [],
    )


@router.get("/contracts/{contract_id}")
def contract_detail(
    *, request: Request, contract_id: Id, session: Db, who: AnyUser
) -> HTMLResponse:
    """One contract and the sites it covers."""
    return _contract_page(request, session, who, visible_contract(session, who, contract_id))


@router.post("/contracts/{contract_id}")
def update_contract(
    *,
    request: Request,
    contract_id: Id,
    session: Db,
    who: Staff,
    plan: Field = "",
    start: Field = "",
    end: Field = "",
    price: Field = "",
    notes: Field = "",
) -> Response:
    """Save a contract (an empty end or price clears it)."""
    contract = visible_contract(session, who, contract_id)
    try:
        with session.begin_nested():
            plan_id = parse_id(plan)
            the_plan = session.get(Plan, plan_id) if plan_id else None
            end_date = _date(end, "end")
            contract_store.update_contract(
                session,
                contract,
                now().timestamp(),
                default_interval=default_interval(request),
                plan=the_plan,
                start=_date(start, "start"),
                end=end_date,
                clear_end=end_date is None,
                price=parse_price(price) if price.strip() else None,
                clear_price=not price.strip(),
                notes=notes,
            )
    except UsageError as exc:
        session.refresh(contract)
        return _contract_page(request, session, who, contract, str(exc))
    return RedirectResponse(f"/contracts/{contract.id}", status_code=303)


@router.post("/contracts/{contract_id}/delete")
def delete_contract(request: Request, contract_id: Id, session: Db, who: Staff) -> Response:
    """Remove a contract; its sites stay, uncovered, on the default interval."""
    contract = visible_contract(session, who, contract_id)
    contract_store.remove_contract(
        session, contract, now().timestamp(), default_interval=default_interval(request)
    )
    return RedirectResponse("/contracts", status_code=303)


# --- business ---------------------------------------------------------------------------------


@router.get("/business")
def business(request: Request, session: Db, who: Admin) -> HTMLResponse:
    """Monthly recurring revenue, sites per plan, contracts ending soon."""
    today = now().date()
    soon = today + timedelta(days=60)
    all_contracts = contract_store.list_contracts(session)
    counts = contract_store.site_counts(session)
    active = [c for c in all_contracts if contract_store.is_active(c, today)]
    mrr: dict[str, Decimal] = defaultdict(Decimal)
    per_plan: dict[str, dict[str, Decimal | int | str]] = {}
    for c in active:
        amount = contract_store.effective_price(c)
        mrr[c.plan.currency] += amount
        row = per_plan.setdefault(
            c.plan.name,
            {"contracts": 0, "sites": 0, "revenue": Decimal(0), "currency": c.plan.currency},
        )
        row["contracts"] = int(row["contracts"]) + 1
        row["sites"] = int(row["sites"]) + counts.get(c.id, 0)
        row["revenue"] = Decimal(row["revenue"]) + amount
    ending = sorted(
        (c for c in active if c.end is not None and c.end <= soon),
        key=lambda c: c.end or today,
    )
    return page(
        request,
        "business.html",
        who,
        mrr=dict(mrr),
        per_plan=per_plan,
        ending=ending,
        today=today,
        active_count=len(active),
        price=contract_store.effective_price,
    )
