"""/api/clients, /api/plans, /api/contracts: the business objects, through the store's rules."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from sitekeeper.notify.registry import check_url
from sitekeeper.reports.public_links import status_page_url
from sitekeeper.store import clients as client_store
from sitekeeper.store import contracts as contract_store
from sitekeeper.store import plans as plan_store
from sitekeeper.store import status_tokens
from sitekeeper.store.tables import Client, Contract, Plan
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, slice_page
from sitekeeper.web.api.schemas import (
    ClientIn,
    ClientOut,
    ClientPatch,
    ContractIn,
    ContractOut,
    ContractPatch,
    PlanIn,
    PlanOut,
    PlanPatch,
    StatusPageOut,
)
from sitekeeper.web.auth import AnyUser, Staff, Viewer, now
from sitekeeper.web.common import (
    Db,
    Id,
    IdQuery,
    default_interval,
    plan_or_404,
    vault_of,
    visible_client,
    visible_contract,
)

router = APIRouter(prefix="/api", responses=ERRORS)


# --- clients ----------------------------------------------------------------------------------


def client_out(client: Client, sites: int, who: Viewer | None = None) -> ClientOut:
    """The API shape of a client; the agency's notes only for staff."""
    values = client_store.client_values(client)
    values["alert_urls"] = len(values["alert_urls"] or [])
    if who is not None and not who.is_staff:
        values["notes"] = None
    return ClientOut(id=client.id, **values, sites=sites, created_at=client.created_at)


@router.get("/clients", response_model=Page[ClientOut], tags=["clients"])
def list_clients(
    *, session: Db, who: AnyUser, page: PageNo = 1, per_page: PerPage = 50
) -> Page[ClientOut]:
    """Clients by name (a client user sees only its own)."""
    rows = client_store.list_clients(session)
    if who.client_scope is not None:
        rows = [c for c in rows if c.id == who.client_scope]
    counts = client_store.site_counts(session)
    items, info = slice_page(rows, page, per_page)
    return Page[ClientOut](
        items=[client_out(c, counts.get(c.id, 0), who) for c in items], meta=info
    )


@router.get("/clients/{client_id}", response_model=ClientOut, tags=["clients"])
def get_client(client_id: Id, session: Db, who: AnyUser) -> ClientOut:
    """One client."""
    client = visible_client(session, who, client_id)
    return client_out(client, client_store.site_count(session, client.id), who)


@router.post("/clients", response_model=ClientOut, status_code=201, tags=["clients"])
def create_client(body: ClientIn, request: Request, session: Db, who: Staff) -> ClientOut:
    """Add a client (alert URLs are checked and stored encrypted)."""
    client = client_store.add_client(
        session, vault_of(request), now=now(), check_url=check_url, **body.model_dump()
    )
    return client_out(client, 0)


@router.patch("/clients/{client_id}", response_model=ClientOut, tags=["clients"])
def update_client(
    *, client_id: Id, body: ClientPatch, request: Request, session: Db, who: Staff
) -> ClientOut:
    """Change a client's fields (an empty ``alert_urls`` list clears them)."""
    client = visible_client(session, who, client_id)
    client_store.update_client(
        session, client, vault_of(request), check_url=check_url, **body.model_dump()
    )
    return client_out(client, client_store.site_count(session, client.id))


@router.delete("/clients/{client_id}", status_code=204, tags=["clients"])
def delete_client(client_id: Id, session: Db, who: Staff) -> Response:
    """Remove a client that has no sites or contracts left."""
    client_store.remove_client(session, visible_client(session, who, client_id))
    return Response(status_code=204)


def _status_page(request: Request, session: Session, client: Client) -> StatusPageOut:
    url = status_page_url(session, request.app.state.settings, client)
    return StatusPageOut(enabled=url is not None, url=url)


@router.get("/clients/{client_id}/status-page", response_model=StatusPageOut, tags=["clients"])
def get_status_page(client_id: Id, request: Request, session: Db, who: Staff) -> StatusPageOut:
    """Whether the client's public status page is on, and its URL."""
    return _status_page(request, session, visible_client(session, who, client_id))


@router.put("/clients/{client_id}/status-page", response_model=StatusPageOut, tags=["clients"])
def enable_status_page(client_id: Id, request: Request, session: Db, who: Staff) -> StatusPageOut:
    """Turn the client's public status page on (an existing URL is kept)."""
    client = visible_client(session, who, client_id)
    status_tokens.turn_on(session, client)
    return _status_page(request, session, client)


@router.post(
    "/clients/{client_id}/status-page/rotate", response_model=StatusPageOut, tags=["clients"]
)
def rotate_status_page(client_id: Id, request: Request, session: Db, who: Staff) -> StatusPageOut:
    """Give the client's status page a new URL (turning it on); the old URL 404s at once."""
    client = visible_client(session, who, client_id)
    status_tokens.rotate(session, client)
    return _status_page(request, session, client)


@router.delete("/clients/{client_id}/status-page", status_code=204, tags=["clients"])
def disable_status_page(client_id: Id, session: Db, who: Staff) -> Response:
    """Turn the client's public status page off: its URL 404s from now on."""
    status_tokens.turn_off(session, visible_client(session, who, client_id))
    return Response(status_code=204)


# --- plans ------------------------------------------------------------------------------------


def plan_out(plan: Plan) -> PlanOut:
    """The API shape of a plan."""
    return PlanOut(id=plan.id, **plan_store.plan_values(plan))


@router.get("/plans", response_model=Page[PlanOut], tags=["plans"])
def list_plans(session: Db, who: Staff, page: PageNo = 1, per_page: PerPage = 50) -> Page[PlanOut]:
    """Plans by name (staff only)."""
    items, info = slice_page(plan_store.list_plans(session), page, per_page)
    return Page[PlanOut](items=[plan_out(p) for p in items], meta=info)


@router.get("/plans/{plan_id}", response_model=PlanOut, tags=["plans"])
def get_plan(plan_id: Id, session: Db, who: Staff) -> PlanOut:
    """One plan."""
    return plan_out(plan_or_404(session, plan_id))


@router.post("/plans", response_model=PlanOut, status_code=201, tags=["plans"])
def create_plan(body: PlanIn, session: Db, who: Staff) -> PlanOut:
    """Add a plan."""
    return plan_out(plan_store.add_plan(session, now=now(), **body.model_dump()))


@router.patch("/plans/{plan_id}", response_model=PlanOut, tags=["plans"])
def update_plan(
    *, plan_id: Id, body: PlanPatch, request: Request, session: Db, who: Staff
) -> PlanOut:
    """Change a plan; a new interval re-schedules its sites' checks."""
    plan = plan_or_404(session, plan_id)
    plan_store.update_plan(
        session,
        plan,
        now().timestamp(),
        default_interval=default_interval(request),
        **body.model_dump(),
    )
    return plan_out(plan)


@router.delete("/plans/{plan_id}", status_code=204, tags=["plans"])
def delete_plan(plan_id: Id, session: Db, who: Staff) -> Response:
    """Remove a plan no contract uses."""
    plan_store.remove_plan(session, plan_or_404(session, plan_id))
    return Response(status_code=204)


# --- contracts --------------------------------------------------------------------------------


def contract_out(contract: Contract, who: Viewer | None = None) -> ContractOut:
    """The API shape of a contract; the agency's notes only for staff."""
    override = contract.price_override
    return ContractOut(
        id=contract.id,
        client_id=contract.client_id,
        client=contract.client.name,
        plan_id=contract.plan_id,
        plan=contract.plan.name,
        start=contract.start,
        end=contract.end,
        price=str(contract_store.effective_price(contract)),
        price_override=str(override) if override is not None else None,
        currency=contract.plan.currency,
        active=contract_store.is_active(contract, now().date()),
        notes=contract.notes if who is None or who.is_staff else None,
    )


@router.get("/contracts", response_model=Page[ContractOut], tags=["contracts"])
def list_contracts(
    *,
    session: Db,
    who: AnyUser,
    page: PageNo = 1,
    per_page: PerPage = 50,
    client_id: IdQuery = None,
) -> Page[ContractOut]:
    """Contracts, oldest first (a client user sees only its own)."""
    scope = who.client_scope
    rows = contract_store.list_contracts(
        session, client_id=scope if scope is not None else client_id
    )
    items, info = slice_page(rows, page, per_page)
    return Page[ContractOut](items=[contract_out(c, who) for c in items], meta=info)


@router.get("/contracts/{contract_id}", response_model=ContractOut, tags=["contracts"])
def get_contract(contract_id: Id, session: Db, who: AnyUser) -> ContractOut:
    """One contract."""
    return contract_out(visible_contract(session, who, contract_id), who)


@router.post("/contracts", response_model=ContractOut, status_code=201, tags=["contracts"])
def create_contract(body: ContractIn, session: Db, who: Staff) -> ContractOut:
    """Add a contract."""
    return contract_out(contract_store.add_contract(session, now=now(), **body.model_dump()))


@router.patch("/contracts/{contract_id}", response_model=ContractOut, tags=["contracts"])
def update_contract(
    *, contract_id: Id, body: ContractPatch, request: Request, session: Db, who: Staff
) -> ContractOut:
    """Change a contract; a new plan re-schedules its sites' checks."""
    contract = visible_contract(session, who, contract_id)
    contract_store.update_contract(
        session,
        contract,
        now().timestamp(),
        default_interval=default_interval(request),
        **body.model_dump(),
    )
    session.refresh(contract)
    return contract_out(contract)


@router.delete("/contracts/{contract_id}", status_code=204, tags=["contracts"])
def delete_contract(contract_id: Id, request: Request, session: Db, who: Staff) -> Response:
    """Remove a contract; its sites stay, uncovered."""
    contract_store.remove_contract(
        session,
        visible_contract(session, who, contract_id),
        now().timestamp(),
        default_interval=default_interval(request),
    )
    return Response(status_code=204)
