"""Named queries for contracts: a client on a plan for a period, covering sites."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sitekeeper.domain.contracts import ContractFields
from sitekeeper.domain.fields import fields, validated
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store import schedule
from sitekeeper.store.tables import Client, Contract, Plan, Site


def get_contract(session: Session, ref: str | int) -> Contract:
    """The contract with this id; NotFound otherwise (contracts have no name)."""
    text = str(ref).strip().lstrip("#")
    contract = session.get(Contract, int(text)) if text.isdigit() else None
    if contract is None:
        raise NotFound(f"no contract {ref!r} (give its id, see `sitekeeper contract list`)")
    return contract


def list_contracts(session: Session, *, client_id: int | None = None) -> list[Contract]:
    """All contracts (of one client), oldest first."""
    query = select(Contract).order_by(Contract.id)
    if client_id is not None:
        query = query.where(Contract.client_id == client_id)
    return list(session.scalars(query))


def active_contracts(session: Session, client_id: int, today: date) -> list[Contract]:
    """The client's contracts running on ``today``."""
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.client_id == client_id, Contract.start <= today)
            .where(or_(Contract.end.is_(None), Contract.end >= today))
            .order_by(Contract.id)
        )
    )


def is_active(contract: Contract, today: date) -> bool:
    """Whether the contract runs on ``today``."""
    return contract.start <= today and (contract.end is None or contract.end >= today)


def effective_price(contract: Contract) -> Decimal:
    """The monthly price: the contract's override, else its plan's price."""
    return contract.price_override if contract.price_override is not None else contract.plan.price


def contract_sites(session: Session, contract_id: int) -> list[Site]:
    """The sites the contract covers, by name."""
    return list(
        session.scalars(select(Site).where(Site.contract_id == contract_id).order_by(Site.name))
    )


def contract_values(contract: Contract) -> dict[str, Any]:
    """The contract's declared fields as stored (``price`` is its own price, or None)."""
    override = contract.price_override
    return {
        d.name: getattr(contract, d.name)
        if d.name != "price"
        else (str(override) if override is not None else None)
        for d in fields(ContractFields)
    }


def add_contract(session: Session, *, now: datetime | None = None, **values: Any) -> Contract:
    """Create a contract from the fields :class:`ContractFields` declares; UsageError if its
    client or plan does not exist or it ends before it starts."""
    checked = validated(ContractFields, values)
    for table, key in ((Client, "client_id"), (Plan, "plan_id")):
        if session.get(table, checked[key]) is None:
            raise UsageError(f"no {key.removesuffix('_id')} {checked[key]}")
    _check_period(checked["start"], checked["end"])
    price = checked.pop("price")
    contract = Contract(
        **{**checked, "notes": checked["notes"] or None},
        price_override=Decimal(price) if price is not None else None,
        created_at=now or datetime.now(UTC),
    )
    session.add(contract)
    session.flush()
    session.refresh(contract)
    return contract


def update_contract(
    session: Session, contract: Contract, now: float, *, default_interval: int, **values: Any
) -> int:
    """Change the given fields (``clear_end``/``clear_price`` empty them); a new plan
    re-syncs the sites' jobs (returns how many changed)."""
    checked = validated(ContractFields, values, contract)
    new_start = checked.get("start", contract.start)
    new_end = checked.get("end", contract.end)
    _check_period(new_start, new_end)
    contract.start, contract.end = new_start, new_end
    if "price" in checked:
        price = checked["price"]
        contract.price_override = Decimal(price) if price is not None else None
    if "notes" in checked:
        contract.notes = checked["notes"] or None
    plan = session.get(Plan, checked["plan_id"]) if "plan_id" in checked else None
    if "plan_id" in checked and plan is None:
        raise UsageError(f"no plan {checked['plan_id']}")
    changed = 0
    if plan is not None and plan.id != contract.plan_id:
        contract.plan_id = plan.id
        session.flush()
        session.refresh(contract)
        changed = schedule.resync_sites(
            session,
            schedule.sites_on_contract(session, contract.id),
            now,
            default_interval=default_interval,
        )
    session.flush()
    return changed


def remove_contract(
    session: Session, contract: Contract, now: float, *, default_interval: int
) -> int:
    """Delete a contract; its sites stay, uncovered, on the default interval."""
    site_ids = schedule.sites_on_contract(session, contract.id)
    for site in session.scalars(select(Site).where(Site.id.in_(site_ids))):
        site.contract_id = None
    session.flush()
    session.delete(contract)
    session.flush()
    return schedule.resync_sites(session, site_ids, now, default_interval=default_interval)


def _check_period(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise UsageError(f"contract end {end} is before its start {start}")


def site_counts(session: Session) -> dict[int, int]:
    """Sites per contract id, in one query (for lists)."""
    rows = session.execute(
        select(Site.contract_id, func.count())
        .where(Site.contract_id.is_not(None))
        .group_by(Site.contract_id)
    ).tuples()
    return {contract_id: count for contract_id, count in rows if contract_id is not None}
