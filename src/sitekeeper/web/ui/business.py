"""Clients, plans, contracts (one generic flow each, from their declarations) and the
business page."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sitekeeper.domain.clients import ClientFields
from sitekeeper.domain.contracts import ContractFields
from sitekeeper.domain.plans import PlanFields
from sitekeeper.notify.registry import check_url
from sitekeeper.reports.public_links import status_page_url
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
    plan_or_404,
    vault_of,
    visible_client,
    visible_contract,
)
from sitekeeper.web.ui.admin import send_tests
from sitekeeper.web.ui.entity_pages import Context, EntityPages
from sitekeeper.web.ui.forms import Choices
from sitekeeper.web.ui.render import page
from sitekeeper.web.ui.reports import work_context

router = APIRouter(include_in_schema=False)
# --- clients ----------------------------------------------------------------------------------


def _client_context(request: Request, session: Session, _who: Viewer, client: Client) -> Context:
    vault = vault_of(request)
    return {  # the client page is staff's only (CLIENTS.reader), its status-page switches too
        "masked": [client_store.mask_url(u) for u in client_store.alert_urls(client, vault)],
        "sites": list_sites(session, client_id=client.id),
        "contracts": contract_store.list_contracts(session, client_id=client.id),
        "today": now().date(),
        "status_url": status_page_url(session, request.app.state.settings, client),
        # this month's work log and its form, or the month a report's work entry links to
        **work_context(session, client, request.query_params.get("work")),
    }


CLIENTS = EntityPages[Client](
    name="client",
    plural="clients",
    model=ClientFields,
    find=visible_client,
    ident=lambda client: client.id,
    stored=client_store.client_values,
    add=lambda request, session, values: client_store.add_client(
        session, vault_of(request), now=now(), check_url=check_url, **values
    ),
    update=lambda request, session, client, values: client_store.update_client(
        session, client, vault_of(request), check_url=check_url, **values
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


def _references(session: Session, who: Viewer) -> Choices:
    """The clients and plans a contract form offers (none to a client user: no form)."""
    if not who.is_staff:
        return {}
    return {
        "client_id": [(str(c.id), c.name) for c in client_store.list_clients(session)],
        "plan_id": [
            (str(p.id), f"{p.name} ({p.price} {p.currency})")
            for p in plan_store.list_plans(session)
        ],
    }


def _add_contract(_request: Request, session: Session, values: dict[str, Any]) -> Contract:
    values.setdefault("start", now().date())
    return contract_store.add_contract(session, now=now(), **values)


def _update_contract(
    request: Request, session: Session, contract: Contract, values: dict[str, Any]
) -> int:
    return contract_store.update_contract(
        session, contract, now().timestamp(), default_interval=default_interval(request), **values
    )


def _remove_contract(request: Request, session: Session, contract: Contract) -> int:
    return contract_store.remove_contract(
        session, contract, now().timestamp(), default_interval=default_interval(request)
    )


def _contracts_context(_request: Request, session: Session, who: Viewer) -> Context:
    return {
        "contracts": contract_store.list_contracts(session, client_id=who.client_scope),
        "counts": contract_store.site_counts(session),
        "today": now().date(),
        "price": contract_store.effective_price,
    }


def _contract_context(
    _request: Request, session: Session, _who: Viewer, contract: Contract
) -> Context:
    return {
        "price": contract_store.effective_price(contract),
        "active": contract_store.is_active(contract, now().date()),
        "sites": contract_store.contract_sites(session, contract.id),
    }


CONTRACTS = EntityPages[Contract](
    name="contract",
    plural="contracts",
    model=ContractFields,
    find=visible_contract,
    ident=lambda contract: contract.id,
    stored=contract_store.contract_values,
    add=_add_contract,
    update=_update_contract,
    remove=_remove_contract,
    list_context=_contracts_context,
    detail_context=_contract_context,
    choices=_references,
    new_values=lambda: {"start": now().date()},
    reader=AnyUser,
)
CONTRACTS.register(router)


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
