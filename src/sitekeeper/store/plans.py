"""Named queries for plans; changing a plan's interval re-syncs its sites' check jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.fields import fields, validated
from sitekeeper.domain.plans import PlanFields, PlanOptions
from sitekeeper.errors import UsageError
from sitekeeper.store import schedule
from sitekeeper.store.lookup import by_id_or_name, name_taken
from sitekeeper.store.tables import Client, Contract, Plan, Site


def get_plan(session: Session, ref: str) -> Plan:
    """The plan with this id or name; NotFound otherwise."""
    return by_id_or_name(session, Plan, Plan.name, ref, "plan")


def list_plans(session: Session) -> list[Plan]:
    """All plans, by name."""
    return list(session.scalars(select(Plan).order_by(Plan.name)))


def plan_options(plan: Plan) -> PlanOptions:
    """The plan's validated options (defaults for keys added after it was stored)."""
    return PlanOptions.model_validate(plan.options or {})


class PlannedSite(NamedTuple):
    """A site under a contract, with what the planners need of it."""

    id: int
    ssh: bool  # whether it has SSH access
    cms: str | None
    cms_version: str | None
    timezone: str  # its client's
    options: PlanOptions


def planned_sites(
    session: Session,
    *,
    unpaused: bool = False,
    client_id: int | None = None,
    site_id: int | None = None,
) -> list[PlannedSite]:
    """Every site under a contract (unpaused ones; of one client; one site), by id, as
    columns: a planning round over 100,000 sites must not load 100,000 sites with their
    contracts, nor decode their SSH access and their plan's options 100,000 times."""
    # JSON null and SQL NULL both mean "no SSH access".
    has_ssh = Site.ssh.is_not(None) & cast(Site.ssh, String).not_in(["null", "{}"])
    columns = (Site.id, has_ssh, Site.cms, Site.cms_version, Client.timezone, Contract.plan_id)
    query = (
        select(*columns)
        .join(Contract, Site.contract_id == Contract.id)
        .outerjoin(Client, Client.id == Site.client_id)
        .order_by(Site.id)
    )
    if unpaused:
        query = query.where(Site.paused.is_(False))
    if client_id is not None:
        query = query.where(Site.client_id == client_id)
    if site_id is not None:
        query = query.where(Site.id == site_id)
    rows = session.execute(query).tuples().all()
    options = {
        plan.id: plan_options(plan)
        for plan in session.scalars(select(Plan).where(Plan.id.in_({row[5] for row in rows})))
    }
    return [
        PlannedSite(id_, bool(ssh), cms, version, timezone or "UTC", options[plan_id])
        for id_, ssh, cms, version, timezone, plan_id in rows
    ]


def plan_values(plan: Plan) -> dict[str, Any]:
    """The plan's declared fields as :class:`PlanFields` holds them (the API and CLI shape)."""
    values = {d.name: getattr(plan, d.name) for d in fields(PlanFields)}
    return {**values, "price": str(plan.price), "options": dict(plan.options or {})}


def add_plan(session: Session, *, now: datetime | None = None, **values: Any) -> Plan:
    """Create a plan from the fields :class:`PlanFields` declares (its defaults fill the
    rest); UsageError if the name is taken or a value breaks a rule."""
    plan = Plan(options={}, created_at=now or datetime.now(UTC))
    _apply(session, plan, validated(PlanFields, values))
    session.add(plan)
    session.flush()
    return plan


def update_plan(
    session: Session, plan: Plan, now: float, *, default_interval: int, **values: Any
) -> int:
    """Change the given fields (``options`` are merged); returns how many check jobs changed."""
    old_interval = plan.check_interval
    _apply(session, plan, validated(PlanFields, values, plan))
    session.flush()
    if plan.check_interval == old_interval:
        return 0
    return schedule.resync_sites(
        session, schedule.sites_on_plan(session, plan.id), now, default_interval=default_interval
    )


def _apply(session: Session, plan: Plan, values: dict[str, Any]) -> None:
    name = values.pop("name", None)
    if name is not None:
        if name_taken(session, Plan.name, name, except_id=plan.id):
            raise UsageError(f"a plan named {name!r} already exists")
        plan.name = name
    options = values.pop("options", None)
    if "price" in values:
        values["price"] = Decimal(values["price"])
    for field, value in values.items():
        if value is not None:
            setattr(plan, field, value)
    if options:
        merged = {**(plan.options or {}), **options}
        try:
            plan.options = PlanOptions.model_validate(merged).model_dump(mode="json")
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"invalid plan option {field}: {first['msg']}") from None
    elif not plan.options:
        plan.options = PlanOptions().model_dump(mode="json")


def remove_plan(session: Session, plan: Plan) -> None:
    """Delete a plan no contract uses (contracts keep their plan; none are changed silently)."""
    used = session.scalar(select(func.count()).where(Contract.plan_id == plan.id)) or 0
    if used:
        raise UsageError(f"plan {plan.name!r} is used by {used} contract(s); remove them first")
    session.delete(plan)
    session.flush()
